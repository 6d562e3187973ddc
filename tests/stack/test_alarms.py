"""PipelineAlarms: what the synthesized alarms watch, when they fire, whom they notify; and prop validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline_config import ConfigError, ResourceNames
from pipeline_config.environments import config_for
from tests.tfjson import find, ref, resources

ROOT = Path(__file__).resolve().parents[2]
ALARM = "aws_cloudwatch_metric_alarm"

# key -> (namespace, metric, statistic, comparison, treat_missing_data)
EXPECTED = {
    "processor-errors": ("AWS/Lambda", "Errors", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching"),
    "processor-throttles": ("AWS/Lambda", "Throttles", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching"),
    "api-handler-errors": ("AWS/Lambda", "Errors", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching"),
    "dlq-messages": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanThreshold", "ignore"),
    "queue-depth": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanOrEqualToThreshold", "ignore"),
    "queue-oldest-message-age": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "GreaterThanOrEqualToThreshold", "ignore"),
    "api-5xx": ("AWS/ApiGateway", "5XXError", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching"),
    "order-conflicts": ("OrderPipeline/dev", "OrderConflicts", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching"),
}
# key -> the config field its threshold comes from (None: fixed)
THRESHOLD_SETTING = {
    "processor-errors": "processor_errors_threshold",
    "processor-throttles": "processor_throttles_threshold",
    "api-handler-errors": "api_handler_errors_threshold",
    "dlq-messages": None,
    "queue-depth": "queue_depth_threshold",
    "queue-oldest-message-age": "queue_oldest_message_age_seconds_threshold",
    "api-5xx": "api_5xx_threshold",
    "order-conflicts": "order_conflicts_threshold",
}
SUFFIXES = ("dev", "staging", "prod")


def refers_to(doc: dict, value: str, rtype: str, attr: str, **match: str) -> bool:
    """``value`` is the plain name ``match`` holds, or a ${rtype.<that resource>.attr} reference to it."""
    logical, _ = find(doc, rtype, **match)
    return value == ref(rtype, logical, attr) or value in match.values()


def alarm_by_key(doc: dict, suffix: str, key: str) -> dict:
    """The alarm named ``names.alarm(key)`` in one stack."""
    return find(doc, ALARM, alarm_name=ResourceNames(suffix).alarm(key))[1]


@pytest.fixture(params=SUFFIXES)
def env(request, stacks):
    """(suffix, synthesized stack, its config) for every environment."""
    suffix = request.param
    return suffix, stacks[f"orders-{suffix}"], config_for(suffix)


# ----------------------------------------------------------------------- synthesized stacks
#: The alarms of the event sweep (EventSweep, tests/stack/test_event_sweep.py), beside PipelineAlarms'.
SWEEP_ALARMS = ("unpublished-events", "event-sweeper-errors")


def test_exactly_the_listed_alarms_exist_with_their_names(env):
    suffix, doc, _ = env
    names = sorted(r["alarm_name"] for r in resources(doc, ALARM).values())
    assert names == sorted(ResourceNames(suffix).alarm(key) for key in [*EXPECTED, *SWEEP_ALARMS])


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_alarm_watches_the_right_metric_and_compares_the_right_way(dev, key):
    namespace, metric, statistic, comparison, missing = EXPECTED[key]
    alarm = alarm_by_key(dev, "dev", key)
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (namespace, metric, statistic)
    assert alarm["comparison_operator"] == comparison
    assert alarm["treat_missing_data"] == missing


def test_lambda_alarms_watch_the_right_function(dev):
    fn = "aws_lambda_function"
    for key, function in (
        ("processor-errors", "order-processor-dev"),
        ("processor-throttles", "order-processor-dev"),
        ("api-handler-errors", "orders-api-handler-dev"),
    ):
        dims = alarm_by_key(dev, "dev", key)["dimensions"]
        assert set(dims) == {"FunctionName"}, key
        assert refers_to(dev, dims["FunctionName"], fn, "function_name", function_name=function), (key, dims)


def test_queue_alarms_watch_the_right_queue(dev):
    for key, queue in (
        ("dlq-messages", "order-dlq-dev"),
        ("queue-depth", "order-queue-dev"),
        ("queue-oldest-message-age", "order-queue-dev"),
    ):
        dims = alarm_by_key(dev, "dev", key)["dimensions"]
        assert set(dims) == {"QueueName"}, key
        assert refers_to(dev, dims["QueueName"], "aws_sqs_queue", "name", name=queue), (key, dims)


def test_api_5xx_alarm_watches_the_deployed_stage(dev):
    dims = alarm_by_key(dev, "dev", "api-5xx")["dimensions"]
    assert set(dims) == {"ApiName", "Stage"}
    assert refers_to(dev, dims["ApiName"], "aws_api_gateway_rest_api", "name", name="orders-api-dev")
    ((stage_logical, stage),) = resources(dev, "aws_api_gateway_stage").items()
    assert dims["Stage"] in (stage["stage_name"], ref("aws_api_gateway_stage", stage_logical, "stage_name"))


def emitted_order_conflicts(doc: dict) -> list[tuple[str, dict]]:
    """(namespace, dimensions) of every ``OrderConflicts`` metric the processor prints, run with the
    environment variables ``doc`` gives it (Powertools reads them at import, as in Lambda)."""
    import os
    import subprocess
    import sys

    _, processor = find(doc, "aws_lambda_function", handler="order_processor.app.lambda_handler")
    env_vars = processor["environment"]["variables"]
    probe = """
import json, sys
from order_processor.app import ProcessorFunction
from orders_core.service import OrderProcessingService
from orders_core.adapters import PutOutcome
class Stored:
    def put_new(self, item):
        return PutOutcome(created=False, existing={**item, "customerId": "someone-else", "orderFingerprint": "v1:other"})
class Nothing:
    def publish(self, entries): return {}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "order-processor-dev", 256, "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:order-processor-dev"
    def get_remaining_time_in_millis(self): return 30_000
handler = ProcessorFunction(lambda: OrderProcessingService(repository=Stored(), publisher=Nothing()))
body = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}], "timestamp": "2026-01-01T00:00:00.000000Z"}
print(json.dumps(handler({"Records": [{"messageId": "m-1", "body": json.dumps(body), "eventSource": "aws:sqs"}]}, Context())), file=sys.stderr)
"""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "POWERTOOLS_SERVICE_NAME": env_vars["POWERTOOLS_SERVICE_NAME"],
        "POWERTOOLS_METRICS_NAMESPACE": env_vars["POWERTOOLS_METRICS_NAMESPACE"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "handlers", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "m-1" in done.stderr, done.stderr
    emitted = []
    for line in done.stdout.splitlines():
        if '"_aws"' in line:
            record = json.loads(line)
            for definition in record["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    if metric["Name"] == "OrderConflicts":
                        (dimension_names,) = definition["Dimensions"]
                        emitted.append((definition["Namespace"], {name: record[name] for name in dimension_names}))
    return emitted


@pytest.mark.parametrize("stack", ["orders-dev", "orders-staging", "orders-prod", "orders-pr-1"])
def test_the_order_conflicts_alarm_matches_exactly_what_that_environments_processor_emits(stacks, review_stacks, stack):
    """The alarm's namespace and dimensions equal the EMF the processor prints with its environment's variables.

    CloudWatch matches a metric's dimensions exactly: Powertools adds ``service`` from the function's
    POWERTOOLS_SERVICE_NAME and the namespace from POWERTOOLS_METRICS_NAMESPACE, so the alarm is tied
    to the synthesized environment, not to a guess.
    """
    doc = {**stacks, **review_stacks}[stack]
    suffix = stack.removeprefix("orders-")
    emitted = emitted_order_conflicts(doc)
    alarm = alarm_by_key(doc, suffix, "order-conflicts")
    assert emitted and emitted == [(alarm["namespace"], alarm["dimensions"])]
    assert alarm["namespace"] == ResourceNames(suffix).metrics_namespace == f"OrderPipeline/{suffix}"


_REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)\}$")


def alarmed_metrics(doc: dict) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every (namespace, metric, dimensions) an alarm of ``doc`` watches, with each dimension that refers
    to a resource attribute resolved to the literal value the stack gives that attribute."""
    found = set()
    for alarm in resources(doc, ALARM).values():
        dimensions = []
        for name, value in sorted(alarm["dimensions"].items()):
            match = _REFERENCE.match(value)
            if match:
                rtype, logical, attribute = match.groups()
                literal = resources(doc, rtype)[logical].get(attribute)
                assert isinstance(literal, str) and "${" not in literal, (alarm["alarm_name"], name, value)
                value = literal
            dimensions.append((name, value))
        found.add((alarm["namespace"], alarm["metric_name"], tuple(dimensions)))
    return found


def test_no_two_environments_share_an_alarmed_metric(stacks, review_stacks):
    """In one account and region, an alarm of one environment never watches a metric another environment emits."""
    watched = {name: alarmed_metrics(doc) for name, doc in {**stacks, **review_stacks}.items()}
    assert len(watched) == 5 and all(len(metrics) == len(EXPECTED) + len(SWEEP_ALARMS) for metrics in watched.values())
    names = sorted(watched)
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            shared = watched[first] & watched[second]
            assert not shared, f"{first} and {second} both alarm on {sorted(shared)}"


def test_the_shared_metric_check_sees_a_metric_two_environments_share(stacks):
    """Negative control: with the old, unscoped namespace the check above finds the shared metric."""
    import copy

    docs = {name: copy.deepcopy(stacks[name]) for name in ("orders-dev", "orders-prod")}
    for doc in docs.values():
        for alarm in resources(doc, ALARM).values():
            if alarm["metric_name"] == "OrderConflicts":
                alarm["namespace"] = "OrderPipeline"
    assert alarmed_metrics(docs["orders-dev"]) & alarmed_metrics(docs["orders-prod"]) == {("OrderPipeline", "OrderConflicts", (("service", "orders-processor"),))}


def test_thresholds_and_periods_come_from_config(env):
    suffix, doc, config = env
    for key, setting in THRESHOLD_SETTING.items():
        alarm = alarm_by_key(doc, suffix, key)
        expected = 0 if setting is None else getattr(config, setting)
        assert alarm["threshold"] == expected, (suffix, key)
        assert alarm["period"] == config.alarm_period_seconds
        assert alarm["evaluation_periods"] == config.alarm_evaluation_periods
        assert alarm["datapoints_to_alarm"] == config.alarm_evaluation_periods


def test_environments_that_configure_a_different_backlog_threshold_get_it(stacks):
    # staging sets 500 in pipeline_config/environments.py, dev keeps the default.
    assert config_for("staging").queue_depth_threshold != config_for("dev").queue_depth_threshold
    dev_threshold = alarm_by_key(stacks["orders-dev"], "dev", "queue-depth")["threshold"]
    staging_threshold = alarm_by_key(stacks["orders-staging"], "staging", "queue-depth")["threshold"]
    assert (dev_threshold, staging_threshold) == (config_for("dev").queue_depth_threshold, config_for("staging").queue_depth_threshold)


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_ok(env):
    suffix, doc, _ = env
    topic_logical, _ = find(doc, "aws_sns_topic", name=f"order-alarms-{suffix}")
    topic_arn = ref("aws_sns_topic", topic_logical, "arn")
    for alarm in resources(doc, ALARM).values():
        assert alarm["alarm_actions"] == [topic_arn], alarm["alarm_name"]
        assert alarm["ok_actions"] == [topic_arn], alarm["alarm_name"]


def test_descriptions_point_at_an_existing_runbook_section(dev):
    for alarm in resources(dev, ALARM).values():
        description = alarm["alarm_description"]
        assert len(description) <= 1024, alarm["alarm_name"]  # CloudWatch's limit
        pointers = re.findall(r"Runbook: ([\w/.-]+\.md)#(alarm-[a-z0-9-]+)\.", description)
        assert pointers, (alarm["alarm_name"], description)
        for page, anchor in pointers:
            assert (ROOT / page).is_file(), (alarm["alarm_name"], page)
            assert anchor in set(re.findall(r'<a id="([^"]+)"', (ROOT / page).read_text(encoding="utf-8"))), (alarm["alarm_name"], page, anchor)


# ----------------------------------------------------------------------- the construct alone
def _valid_props(**overrides):
    from constructs_lib.alarms import PipelineAlarmsProps

    base = {
        "names": ResourceNames("dev"),
        "alarm_topic": SimpleNamespace(topic_arn="arn:aws:sns:us-east-1:123456789012:order-alarms-dev"),
        "processor_function_name": "order-processor-dev",
        "api_handler_function_name": "orders-api-handler-dev",
        "queue_name": "order-queue-dev",
        "dlq_name": "order-dlq-dev",
        "api_name": "orders-api-dev",
        "api_stage_name": "v1",
        "metrics_namespace": "OrderPipeline",
        "processor_service_name": "orders-processor",
    }
    return PipelineAlarmsProps(**{**base, **overrides})


def test_valid_props_have_no_problems():
    assert _valid_props().problems() == []


def test_every_problem_is_reported_at_once_naming_setting_value_and_fix():
    from constructs_lib.alarms import PipelineAlarms
    from constructs_lib.support.framework import App

    props = _valid_props(
        names=None,
        alarm_topic="arn:aws:sns:us-east-1:123456789012:order-alarms-dev",
        period_seconds=45,
        evaluation_periods=0,
        processor_errors_threshold=0,
        queue_depth_threshold=-5,
        queue_oldest_message_age_seconds_threshold=30 * 24 * 3600,
        api_5xx_threshold=True,
        processor_service_name="",
        order_conflicts_threshold=0,
    )
    with pytest.raises(ConfigError) as raised:
        PipelineAlarms(App(), "alarms", props)
    settings = [p.setting for p in raised.value.problems]
    assert settings == [
        "names",
        "alarm_topic",
        "processor_service_name",
        "period_seconds",
        "evaluation_periods",
        "processor_errors_threshold",
        "api_5xx_threshold",
        "queue_depth_threshold",
        "queue_oldest_message_age_seconds_threshold",
        "order_conflicts_threshold",
    ]
    message = str(raised.value)
    assert "period_seconds: must be 10, 20, 30 or a multiple of 60" in message and "(given 45)" in message
    assert "(given -5)" in message and "Fix:" in message


def test_evaluation_window_longer_than_a_day_is_rejected():
    problems = _valid_props(period_seconds=3600, evaluation_periods=25).problems()
    assert [(p.setting, p.value) for p in problems] == [("evaluation_periods", 25)]
    assert "24" in problems[0].fix  # "use at most 24 evaluation periods"


def test_at_most_four_additional_topics():
    topics = tuple(f"arn:aws:sns:us-east-1:123456789012:t{i}" for i in range(5))
    assert [p.setting for p in _valid_props(additional_topic_arns=topics).problems()] == ["additional_topic_arns"]
    assert _valid_props(additional_topic_arns=topics[:4]).problems() == []


def test_unresolved_tokens_are_not_validated_as_names():
    token = "${TfToken[TOKEN.42]}"
    assert _valid_props(processor_function_name=token, alarm_topic=SimpleNamespace(topic_arn=token)).problems() == []


def test_overridden_props_reach_the_synthesized_alarms(tmp_path):
    from constructs_lib.alarms import PipelineAlarms
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.provider import AwsProvider

    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "alarms-only")
    AwsProvider(stack, "aws", region="us-east-1")
    oncall = "arn:aws:sns:us-east-1:123456789012:oncall"
    alarms = PipelineAlarms(
        stack,
        "alarms",
        _valid_props(period_seconds=300, evaluation_periods=3, queue_depth_threshold=7, tags={"Team": "orders"}, additional_topic_arns=(oncall,)),
    )
    app.synth()
    doc = json.loads(next(tmp_path.rglob("cdk.tf.json")).read_text())
    depth = find(doc, ALARM, alarm_name="orders-queue-depth-dev")[1]
    assert (depth["threshold"], depth["period"], depth["evaluation_periods"], depth["datapoints_to_alarm"]) == (7, 300, 3, 3)
    assert depth["tags"] == {"Team": "orders"}
    # An existing topic (an on-call tool's, a chat channel's) hears every alarm, firing and recovering.
    for alarm in resources(doc, ALARM).values():
        assert alarm["alarm_actions"] == alarm["ok_actions"] == ["arn:aws:sns:us-east-1:123456789012:order-alarms-dev", oncall]
    assert "in each of 3 period(s) of 300 s" in find(doc, ALARM, alarm_name="orders-processor-errors-dev")[1]["alarm_description"]
    # The typed attributes agree with what was synthesized.
    assert set(alarms.alarms) == set(alarms.alarm_names) == set(EXPECTED)
    assert alarms.alarm_names["queue-depth"] == "orders-queue-depth-dev"
    assert len(alarms.alarm_arns) == len(EXPECTED) == len(resources(doc, ALARM))


def test_alarm_sns_topic_arns_of_an_environment_reach_its_alarms(tmp_path):
    from main import build_app
    from pipeline_config.selection import select_stacks

    oncall = "arn:aws:sns:us-east-1:123456789012:chat-oncall"
    environ = {"ENVIRONMENT_SUFFIX": "prod"}
    selection = select_stacks(environ, {"orderPipeline": {"prod": {"alarm_sns_topic_arns": [oncall]}}})
    assert selection.warnings == ()  # a topic is a destination: prod synthesizes without complaint
    build_app(outdir=str(tmp_path), environ=environ, selection=selection).synth()
    doc = json.loads((tmp_path / "stacks" / "orders-prod" / "cdk.tf.json").read_text())
    topic, _ = find(doc, "aws_sns_topic", name="order-alarms-prod")
    for alarm in resources(doc, ALARM).values():
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [ref("aws_sns_topic", topic, "arn"), oncall]
    assert resources(doc, "aws_sns_topic_subscription") == {}
