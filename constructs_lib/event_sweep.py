"""``EventSweep``: the outbox of order events. A schedule runs the sweeper, which publishes what the processor could not.

The processor publishes an order's event in the invocation that stores it. When SNS fails for an
order on every receive, its message ends in the DLQ while the order stays stored with its event
pending: the item carries ``unpublishedShard``, which puts it in the table's sparse
``UnpublishedIndex``. This construct wires the sweeper function to what it needs:

- an EventBridge rule (``rate(N minutes)``) targeting the function, and the Lambda permission
  for exactly that rule; the asynchronous invocation is not retried by Lambda and an event older
  than one interval is dropped (the next scheduled run repeats the work; retries would only
  overlap it);
- the sweeper's grants: Query on the sparse index and UpdateItem on the table
  (``OrdersTable.grant_sweep``), Publish on the events topic with its key (``EncryptedTopic.grant_publish``);
- two alarms on the alarm topic: the sweeper's invocation errors, and ``UnpublishedEvents``
  (orders a sweep found and could not publish), which also fires when no sweep reported at all
  for two intervals (missing data is breaching: a sweeper that stopped running is not "all clear").

It takes the function, the table and the topic as objects (never names copied from the config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from constructs_lib.alarms import GREATER_OR_EQUAL, MISSING_AS_OK, AlarmSpec, metric_alarm
from constructs_lib.encrypted_topic import EncryptedTopic
from constructs_lib.orders_table import OrdersTable
from constructs_lib.python_function import PythonFunction
from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import CloudwatchEventRule, CloudwatchEventTarget, LambdaFunctionEventInvokeConfig, LambdaPermission
from constructs_lib.validation import check_whole_number, raise_problems, validated
from pipeline_config import rules
from pipeline_config.defaults import AlarmThresholds, EventSweepSettings
from pipeline_config.errors import ConfigProblem
from pipeline_config.naming import ResourceNames

#: The principal EventBridge invokes targets as.
EVENTS_PRINCIPAL = "events.amazonaws.com"
#: A sweeper that has not reported for this many intervals pages (missing data is breaching).
SILENT_INTERVALS = 2
#: treat_missing_data of the unpublished-events alarm: no data point means no sweep ran.
MISSING_IS_BREACHING = "breaching"
#: Lambda's bounds of an asynchronous event's maximum age (seconds).
EVENT_AGE_SECONDS = (60, 21_600)


#: The defaults of the props that ``pipeline_config.defaults`` holds (their one home).
_SWEEP = EventSweepSettings()


@dataclass(frozen=True, kw_only=True)
class EventSweepProps:
    """Settings of ``EventSweep``."""

    function: PythonFunction | None = None
    """The sweeper function (``event_sweeper.app.lambda_handler``). Required."""
    table: OrdersTable | None = None
    """The orders table whose sparse index it reads. Required."""
    topic: EncryptedTopic | None = None
    """The events topic it publishes to. Required."""
    names: ResourceNames | None = None
    """Physical names of the environment (the rule and the alarms). Required."""
    interval_minutes: int = _SWEEP.interval_minutes
    """Default: ``EventSweepSettings.interval_minutes`` (``pipeline_config.defaults``, where it is documented)."""
    alarm_topic: EncryptedTopic | None = None
    """The pipeline's alarm topic, which both alarms notify on ALARM and OK. Required."""
    additional_topic_arns: tuple[str, ...] = ()
    """Existing topics also notified, after ``alarm_topic`` (``PipelineAlarmsProps.additional_topic_arns``:
    ARN strings on purpose, they live outside the stack). Default none."""
    alarm_period_seconds: int = AlarmThresholds().period_seconds
    """Period of the sweeper-errors alarm (the unpublished-events alarm spans two sweep intervals).
    Default: ``AlarmThresholds.period_seconds`` (``pipeline_config.defaults``)."""
    unpublished_events_threshold: int = _SWEEP.unpublished_events_threshold
    """Default: ``EventSweepSettings.unpublished_events_threshold`` (``pipeline_config.defaults``, where it is documented)."""
    metrics_namespace: str = ""
    """Namespace of the sweeper's custom metrics (its ``POWERTOOLS_METRICS_NAMESPACE``). Required."""
    service_name: str = ""
    """The sweeper's ``POWERTOOLS_SERVICE_NAME``: the ``service`` dimension of its metrics. Required."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on the rule and the alarms."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        for setting, kind, fix in (
            ("function", PythonFunction, "pass the sweeper's PythonFunction"),
            ("table", OrdersTable, "pass the OrdersTable"),
            ("topic", EncryptedTopic, "pass the events EncryptedTopic"),
            ("alarm_topic", EncryptedTopic, "pass the alarm EncryptedTopic"),
            ("names", ResourceNames, "pass config.names"),
        ):
            if not isinstance(getattr(self, setting), kind):
                problems.append(ConfigProblem(setting, getattr(self, setting), "is required", fix))
        check_whole_number(problems, self, "interval_minutes", *rules.EVENT_SWEEP_INTERVAL_MINUTES, " min")
        check_whole_number(problems, self, "unpublished_events_threshold", *rules.UNPUBLISHED_EVENTS_THRESHOLD)
        extra = self.additional_topic_arns
        if not isinstance(extra, tuple) or not all(isinstance(arn, str) and arn.strip() for arn in extra):
            problems.append(ConfigProblem("additional_topic_arns", extra, "must be a tuple of topic ARNs", "pass config.alarm_sns_topic_arns as a tuple"))
        for setting in ("metrics_namespace", "service_name"):
            value = getattr(self, setting)
            if not isinstance(value, str) or (not is_unresolved(value) and not value.strip()):
                problems.append(ConfigProblem(setting, value, "is required", f"pass the sweeper's {setting.replace('_', ' ')}"))
        return problems


def sweep_alarm_specs(props: EventSweepProps, function_name: str) -> list[AlarmSpec]:
    """The two alarms of the sweep (pure data, like ``alarms.alarm_specs``)."""
    return [
        AlarmSpec(
            key="unpublished-events",
            namespace=props.metrics_namespace,
            metric_name="UnpublishedEvents",
            # Powertools puts exactly this dimension on the sweeper's metrics (a test ties the two).
            dimensions={"service": props.service_name},
            statistic="Maximum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=props.unpublished_events_threshold,
            treat_missing_data=MISSING_IS_BREACHING,
            summary=(
                f">= {props.unpublished_events_threshold} stored order(s) whose OrderProcessed event a sweep could not "
                f"publish, or no sweep reported for {SILENT_INTERVALS} intervals: subscribers are missing events. "
                "Check SNS and the sweeper's logs; nothing needs redriving, the next sweep publishes them."
            ),
        ),
        AlarmSpec(
            key="event-sweeper-errors",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": function_name},
            statistic="Sum",
            comparison_operator=GREATER_OR_EQUAL,
            threshold=1,
            treat_missing_data=MISSING_AS_OK,
            summary="The event sweeper failed (it could not read the unpublished index, or crashed): unpublished events wait. Check its logs.",
        ),
    ]


class EventSweep(Construct):
    """Runs the event sweeper every ``interval_minutes``, grants it what the sweep needs, and alarms on it."""

    def __init__(self, scope: Construct, id: str, props: EventSweepProps) -> None:
        raise_problems(props, "EventSweep", id)
        super().__init__(scope, id)
        function = validated(props.function, "function", "EventSweep")
        names = validated(props.names, "names", "EventSweep")
        validated(props.table, "table", "EventSweep").grant_sweep(function)
        validated(props.topic, "topic", "EventSweep").grant_publish(function)
        minutes = props.interval_minutes
        rule = CloudwatchEventRule(
            self,
            "schedule",
            name=names.event_sweep_schedule,
            description=f"Runs {names.event_sweeper_function} every {minutes} minute(s): publishes the events of stored orders that never got out",
            schedule_expression=f"rate({minutes} minute{'s' if minutes != 1 else ''})",
            tags=dict(props.tags) or None,
        )
        CloudwatchEventTarget(self, "target", rule=rule.name, arn=function.function_arn, target_id="event-sweeper")
        low, high = EVENT_AGE_SECONDS
        LambdaFunctionEventInvokeConfig(
            self,
            "async-invoke",
            function_name=function.function_name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=max(low, min(high, minutes * 60)),
        )
        # Only this rule may invoke the sweeper (source_arn), as the API's permissions name their routes.
        LambdaPermission(
            self,
            "invoke-permission",
            statement_id="AllowEventBridgeSchedule",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal=EVENTS_PRINCIPAL,
            source_arn=rule.arn,
        )
        actions = [validated(props.alarm_topic, "alarm_topic", "EventSweep").topic_arn, *props.additional_topic_arns]
        self.alarms = {}
        for spec in sweep_alarm_specs(props, function.function_name):
            period = minutes * 60 * SILENT_INTERVALS if spec.key == "unpublished-events" else props.alarm_period_seconds
            self.alarms[spec.key] = metric_alarm(self, spec, alarm_name=names.alarm(spec.key), actions=actions, period_seconds=period, evaluation_periods=1, tags=props.tags)
        self.rule_name: str = rule.name
        self.rule_arn: str = rule.arn
        self.schedule_expression: str = rule.schedule_expression
        self.alarm_arns: list[str] = [alarm.arn for alarm in self.alarms.values()]
