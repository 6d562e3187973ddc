"""``PipelineAlarms``: the CloudWatch alarms that page the on-call for the order pipeline.

One alarm per concern (processor errors, processor throttles, DLQ messages, order conflicts,
queue backlog, stalled queue, API-handler errors, API 5XX). Every alarm notifies the alarm
topic both when it fires and when it recovers, and its description tells the on-call
what it means and which runbook section to open (docs/runbook.md, by anchor).

The alarm definitions are built by a pure function (``alarm_specs``), so their
metrics, thresholds and wording can be tested without a synth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from constructs_lib.references import TopicReference, check_reference
from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import CloudwatchMetricAlarm
from constructs_lib.validation import raise_problems, validated
from pipeline_config import rules
from pipeline_config.defaults import AlarmThresholds
from pipeline_config.errors import ConfigProblem
from pipeline_config.naming import ResourceNames

#: Where the runbook lives (from the repository root): one ``<a id=...>`` anchor per alarm.
RUNBOOK_LOCATION = "docs/runbook.md"

# treat_missing_data values, with the reason each alarm uses the one it does.
#: Lambda and API Gateway publish Errors/Throttles/5XXError only while there is
#: traffic: no data point means no invocation, hence no error. Anything else would
#: leave a quiet environment in INSUFFICIENT_DATA or, worse, in ALARM.
MISSING_AS_OK = "notBreaching"
#: SQS publishes queue metrics only for "active" queues (touched, or holding messages,
#: within the last six hours). A DLQ whose messages nobody touches can stop reporting;
#: "ignore" keeps the alarm in ALARM through that gap instead of sending a false
#: "recovered" (OK) notification while failed orders still sit in the queue. The price: a
#: never-used DLQ shows INSUFFICIENT_DATA instead of OK (documented in the runbook). The
#: order queue is polled by the event source mapping all the time, so it always reports.
MISSING_KEEPS_STATE = "ignore"

GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
GREATER = "GreaterThanThreshold"
#: The defaults of every threshold prop (their one home).
_THRESHOLDS = AlarmThresholds()


@dataclass(frozen=True, kw_only=True)
class PipelineAlarmsProps:
    """What ``PipelineAlarms`` watches, and when it pages."""

    names: ResourceNames | None = None
    """Physical names of the environment; alarm names come from ``names.alarm(...)``.
    Required: left out, validation fails."""
    alarm_topic: TopicReference | None = None
    """The pipeline's alarm topic (the ``EncryptedTopic`` construct), notified on ALARM and on OK. Required."""
    additional_topic_arns: tuple[str, ...] = ()
    """Existing SNS topics also notified on ALARM and OK (an on-call tool's, a chat channel's).
    Default none. At most 4: CloudWatch allows five actions per alarm state. ARN strings on
    purpose: these topics live outside the stack (``alarm_sns_topic_arns`` in the configuration),
    so there is no construct to pass."""
    processor_function_name: str = ""
    """Order-processor Lambda function name (may be a token). Required."""
    api_handler_function_name: str = ""
    """API-handler Lambda function name (may be a token). Required."""
    queue_name: str = ""
    """Order queue name (may be a token). Required."""
    dlq_name: str = ""
    """Dead-letter queue name (may be a token). Required."""
    api_name: str = ""
    """REST API name: the ``ApiName`` dimension of AWS/ApiGateway metrics. Required."""
    api_stage_name: str = ""
    """REST API stage: the ``Stage`` dimension. Required."""
    period_seconds: int = _THRESHOLDS.period_seconds
    """Default: ``AlarmThresholds.period_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    evaluation_periods: int = _THRESHOLDS.evaluation_periods
    """Default: ``AlarmThresholds.evaluation_periods`` (``pipeline_config.defaults``, where it is documented)."""
    processor_errors_threshold: int = _THRESHOLDS.processor_errors_threshold
    """Default: ``AlarmThresholds.processor_errors_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    processor_throttles_threshold: int = _THRESHOLDS.processor_throttles_threshold
    """Default: ``AlarmThresholds.processor_throttles_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    api_handler_errors_threshold: int = _THRESHOLDS.api_handler_errors_threshold
    """Default: ``AlarmThresholds.api_handler_errors_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    api_5xx_threshold: int = _THRESHOLDS.api_5xx_threshold
    """Default: ``AlarmThresholds.api_5xx_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    queue_depth_threshold: int = _THRESHOLDS.queue_depth_threshold
    """Default: ``AlarmThresholds.queue_depth_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    queue_oldest_message_age_seconds_threshold: int = _THRESHOLDS.queue_oldest_message_age_seconds_threshold
    """Default: ``AlarmThresholds.queue_oldest_message_age_seconds_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    order_conflicts_threshold: int = _THRESHOLDS.order_conflicts_threshold
    """Default: ``AlarmThresholds.order_conflicts_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    metrics_namespace: str = ""
    """Namespace of the handlers' custom metrics (their ``POWERTOOLS_METRICS_NAMESPACE``). Required."""
    processor_service_name: str = ""
    """The processor's ``POWERTOOLS_SERVICE_NAME``: the ``service`` dimension Powertools puts on its
    custom metrics, which the ``order-conflicts`` alarm must match exactly. Required."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on every alarm (the provider's default tags apply anyway)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped); the alarm rules are ``pipeline_config.rules``'s."""
        problems: list[ConfigProblem] = []
        if not isinstance(self.names, ResourceNames):
            problems.append(ConfigProblem("names", self.names, "is required", "pass config.names (a ResourceNames)"))
        check_reference(problems, self, "alarm_topic", TopicReference, "EncryptedTopic", required=True, fix="pass the stack's alarm EncryptedTopic")
        for setting in (
            "processor_function_name",
            "api_handler_function_name",
            "queue_name",
            "dlq_name",
            "api_name",
            "api_stage_name",
            "metrics_namespace",
            "processor_service_name",
        ):
            value = getattr(self, setting)
            if not isinstance(value, str) or (not is_unresolved(value) and not value.strip()):
                problems.append(ConfigProblem(setting, value, "is required (a non-empty string or token)", f"pass the {setting.replace('_', ' ')}"))
        extra, most = self.additional_topic_arns, rules.ALARM_MAX_ACTIONS_PER_STATE - 1
        if not isinstance(extra, tuple) or len(extra) > most or not all(isinstance(a, str) and a.strip() for a in extra):
            problems.append(
                ConfigProblem(
                    "additional_topic_arns",
                    extra,
                    f"must be a tuple of at most {most} topic ARNs (CloudWatch allows {rules.ALARM_MAX_ACTIONS_PER_STATE} actions per alarm state)",
                    "pass e.g. ('arn:aws:sns:us-east-1:123456789012:oncall',)",
                )
            )
        values = {name: getattr(self, name) for name in ("period_seconds", "evaluation_periods", *rules.ALARM_THRESHOLDS)}
        problems += rules.alarm_problems(values, period_setting="period_seconds", evaluations_setting="evaluation_periods")
        if not isinstance(self.tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()):
            problems.append(ConfigProblem("tags", self.tags, "must map strings to strings", "give e.g. {'Team': 'orders'}"))
        return problems


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm, as plain data: what it watches, when it fires, what it tells the on-call."""

    key: str
    """Stable key (also the construct id and the ``names.alarm`` component)."""
    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    statistic: str
    comparison_operator: str
    threshold: int
    treat_missing_data: str
    summary: str
    """What the alarm means, in one sentence for the on-call."""

    @property
    def runbook_anchor(self) -> str:
        """The anchor of this alarm's runbook section (``alarm-<key>``)."""
        return f"alarm-{self.key}"

    def description(self) -> str:
        """The alarm description: meaning, first step, and the runbook pointer."""
        return f"{self.summary} Runbook: {RUNBOOK_LOCATION}#{self.runbook_anchor}."


def alarm_specs(props: PipelineAlarmsProps) -> list[AlarmSpec]:
    """The alarms ``props`` asks for, in paging-priority order (pure; no cdktf objects)."""
    return [*_order_loss_alarm_specs(props), *_throughput_alarm_specs(props)]


def _order_loss_alarm_specs(props: PipelineAlarmsProps) -> list[AlarmSpec]:
    """Orders that did not make it: dead-lettered, conflicting, failed or throttled processing."""
    processor = {"FunctionName": props.processor_function_name}
    window = _window(props)
    return [
        AlarmSpec(
            key="dlq-messages",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": props.dlq_name},
            statistic="Maximum",
            comparison_operator=GREATER,
            threshold=0,
            treat_missing_data=MISSING_KEEPS_STATE,
            summary=(
                "Orders failed processing repeatedly and were moved to the dead-letter queue. Either not stored (they "
                "are lost when DLQ retention ends: find the cause in the processor logs, fix it, then redrive with "
                "python -m ordersctl redrive), or stored with their event unpublished (the event sweep publishes them "
                "once SNS works; GET /orders/{orderId} tells which)."
            ),
        ),
        AlarmSpec(
            key="order-conflicts",
            namespace=props.metrics_namespace,
            metric_name="OrderConflicts",
            # Powertools puts exactly this dimension on the processor's metrics (a test ties the two).
            dimensions={"service": props.processor_service_name},
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.order_conflicts_threshold,
            # The metric is emitted only when a conflict happens: no data point means none.
            treat_missing_data=MISSING_AS_OK,
            summary=(
                f">= {props.order_conflicts_threshold} accepted order(s) {window} reused an orderId that is stored with "
                "a DIFFERENT order: the processor fails each one and SQS moves it to the DLQ (not stored, not "
                "published; the customer got 202). Find them by the processor's 'order conflict' log lines."
            ),
        ),
        AlarmSpec(
            key="processor-errors",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=processor,
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.processor_errors_threshold,
            treat_missing_data=MISSING_AS_OK,
            summary=(
                f"The order processor failed >= {props.processor_errors_threshold} invocation(s) {window} "
                "(crash, timeout or unhandled exception); its batches are retried and may end in the DLQ. "
                "Check the processor's logs for ERROR lines."
            ),
        ),
        AlarmSpec(
            key="processor-throttles",
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions=processor,
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.processor_throttles_threshold,
            treat_missing_data=MISSING_AS_OK,
            summary=(f"The order processor was throttled >= {props.processor_throttles_threshold} time(s) {window}: reserved or account concurrency is exhausted, so orders wait in the queue."),
        ),
    ]


def _throughput_alarm_specs(props: PipelineAlarmsProps) -> list[AlarmSpec]:
    """Orders that wait (stalled or backed-up queue) or are refused at the API."""
    api_handler = {"FunctionName": props.api_handler_function_name}
    window = _window(props)
    return [
        AlarmSpec(
            key="queue-oldest-message-age",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": props.queue_name},
            statistic="Maximum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.queue_oldest_message_age_seconds_threshold,
            treat_missing_data=MISSING_KEEPS_STATE,
            summary=(
                f"An order has waited >= {props.queue_oldest_message_age_seconds_threshold} s in the order queue: "
                "processing is stalled or failing (check the event source mapping and processor errors)."
            ),
        ),
        AlarmSpec(
            key="queue-depth",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": props.queue_name},
            statistic="Maximum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.queue_depth_threshold,
            treat_missing_data=MISSING_KEEPS_STATE,
            summary=(f"The order queue holds >= {props.queue_depth_threshold} waiting orders: orders arrive faster than the processor handles them (traffic spike, throttling or slow downstream)."),
        ),
        AlarmSpec(
            key="api-handler-errors",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=api_handler,
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.api_handler_errors_threshold,
            treat_missing_data=MISSING_AS_OK,
            summary=(f"The API handler failed >= {props.api_handler_errors_threshold} invocation(s) {window}; callers got 5XX and their orders were NOT accepted. Check the API handler's logs."),
        ),
        AlarmSpec(
            key="api-5xx",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions={"ApiName": props.api_name, "Stage": props.api_stage_name},
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.api_5xx_threshold,
            treat_missing_data=MISSING_AS_OK,
            summary=(f"The orders API returned >= {props.api_5xx_threshold} 5XX response(s) {window}; callers' orders were rejected. Check the API access log and the API handler's errors."),
        ),
    ]


def metric_alarm(scope: Construct, spec: AlarmSpec, *, alarm_name: str, actions: list[str], period_seconds: int, evaluation_periods: int, tags: Mapping[str, str]) -> CloudwatchMetricAlarm:
    """One alarm from its spec (construct id = ``spec.key``), notifying ``actions`` on ALARM and on OK."""
    return CloudwatchMetricAlarm(
        scope,
        spec.key,
        alarm_name=alarm_name,
        alarm_description=spec.description(),
        namespace=spec.namespace,
        metric_name=spec.metric_name,
        dimensions=dict(spec.dimensions),
        statistic=spec.statistic,
        period=period_seconds,
        evaluation_periods=evaluation_periods,
        # Every breaching period counts: with N evaluation periods, N of N must breach.
        datapoints_to_alarm=evaluation_periods,
        comparison_operator=spec.comparison_operator,
        threshold=spec.threshold,
        treat_missing_data=spec.treat_missing_data,
        # OK actions too, so the on-call learns from the same channel that it recovered.
        alarm_actions=actions,
        ok_actions=actions,
        tags=dict(tags) or None,
    )


def _window(props: PipelineAlarmsProps) -> str:
    periods = props.evaluation_periods
    return f"in each of {periods} period(s) of {props.period_seconds} s" if periods != 1 else f"within {props.period_seconds} s"


class PipelineAlarms(Construct):
    """CloudWatch alarms on the pipeline's Lambda functions, queues and API, notifying one SNS topic."""

    def __init__(self, scope: Construct, id: str, props: PipelineAlarmsProps) -> None:
        raise_problems(props, "PipelineAlarms", id)
        super().__init__(scope, id)
        self.props = props
        names = validated(props.names, "names", "PipelineAlarms")

        #: The plain-data definitions, in paging-priority order.
        self.specs: list[AlarmSpec] = alarm_specs(props)
        #: Alarm resources by key (``processor-errors``, ``dlq-messages``, ...).
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        #: Physical alarm names by key, e.g. ``orders-processor-errors-dev``.
        self.alarm_names: dict[str, str] = {}
        actions = [validated(props.alarm_topic, "alarm_topic", "PipelineAlarms").topic_arn, *props.additional_topic_arns]
        for spec in self.specs:
            name = names.alarm(spec.key)
            self.alarm_names[spec.key] = name
            self.alarms[spec.key] = metric_alarm(self, spec, alarm_name=name, actions=actions, period_seconds=props.period_seconds, evaluation_periods=props.evaluation_periods, tags=props.tags)
        #: ARNs (tokens) of every alarm, in paging-priority order; for dashboards.
        self.alarm_arns: list[str] = [alarm.arn for alarm in self.alarms.values()]
