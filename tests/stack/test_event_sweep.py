"""EventSweep in the synthesized JSON: the schedule, the one permission, the sweeper's environment, its alarms.

The sweeper role's exact grants are pinned with every other role's (tests/security/test_pinned_grants.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_config import ConfigError, ResourceNames
from pipeline_config.environments import config_for
from tests.tfjson import find, only, ref, resources

ROOT = Path(__file__).resolve().parents[2]
SWEEPER = "event_sweeper.app.lambda_handler"


def sweeper(doc: dict) -> tuple[str, dict]:
    return find(doc, "aws_lambda_function", handler=SWEEPER)


def test_the_schedule_runs_the_sweeper_at_the_configured_interval(stacks):
    for name, doc in stacks.items():
        config = config_for(name.removeprefix("orders-"))
        rule_id, rule = only(doc, "aws_cloudwatch_event_rule")
        minutes = config.event_sweep_interval_minutes
        assert rule["name"] == config.names.event_sweep_schedule
        assert rule["schedule_expression"] == f"rate({minutes} minute{'s' if minutes != 1 else ''})"
        _, target = only(doc, "aws_cloudwatch_event_target")
        function_id, _ = sweeper(doc)
        assert target["rule"] == ref("aws_cloudwatch_event_rule", rule_id, "name")
        assert target["arn"] == ref("aws_lambda_function", function_id, "arn")


def test_a_failed_run_is_not_retried_and_a_stale_event_is_dropped(stacks):
    """The next scheduled run repeats the work; Lambda's two async retries would only overlap it."""
    for name, doc in stacks.items():
        config = config_for(name.removeprefix("orders-"))
        function_id, _ = sweeper(doc)
        _, invoke = only(doc, "aws_lambda_function_event_invoke_config")
        assert invoke["function_name"] == ref("aws_lambda_function", function_id, "function_name")
        assert invoke["maximum_retry_attempts"] == 0
        assert invoke["maximum_event_age_in_seconds"] == max(60, min(21_600, 60 * config.event_sweep_interval_minutes))


def test_only_that_rule_may_invoke_the_sweeper(dev):
    rule_id, _ = only(dev, "aws_cloudwatch_event_rule")
    function_id, _ = sweeper(dev)
    permissions = [p for p in resources(dev, "aws_lambda_permission").values() if p["function_name"] == ref("aws_lambda_function", function_id, "function_name")]
    assert permissions == [{**permissions[0], "action": "lambda:InvokeFunction", "principal": "events.amazonaws.com", "source_arn": ref("aws_cloudwatch_event_rule", rule_id, "arn")}]


def test_the_sweeper_gets_its_minimum_age_and_its_timeout(stacks):
    from orders_core.settings import EVENT_SWEEP_MIN_AGE_VAR, EVENT_SWEEPER_SERVICE_NAME

    for name, doc in stacks.items():
        config = config_for(name.removeprefix("orders-"))
        _, function = sweeper(doc)
        variables = function["environment"]["variables"]
        assert variables[EVENT_SWEEP_MIN_AGE_VAR] == str(config.event_sweep_min_age_seconds)
        assert variables["POWERTOOLS_SERVICE_NAME"] == EVENT_SWEEPER_SERVICE_NAME
        assert function["timeout"] == config.event_sweeper_timeout_seconds
        assert function["function_name"] == config.names.event_sweeper_function


def test_the_sweeper_outputs_name_it(dev):
    function_id, _ = sweeper(dev)
    rule_id, _ = only(dev, "aws_cloudwatch_event_rule")
    assert dev["output"]["EventSweeperFunctionName"]["value"] == ref("aws_lambda_function", function_id, "function_name")
    assert dev["output"]["EventSweepScheduleName"]["value"] == ref("aws_cloudwatch_event_rule", rule_id, "name")


def alarm(doc: dict, key: str, suffix: str = "dev") -> dict:
    return find(doc, "aws_cloudwatch_metric_alarm", alarm_name=ResourceNames(suffix).alarm(key))[1]


def test_the_unpublished_events_alarm_spans_two_intervals_and_a_silent_sweeper_pages(dev):
    config = config_for("dev")
    unpublished = alarm(dev, "unpublished-events")
    assert (unpublished["metric_name"], unpublished["statistic"], unpublished["comparison_operator"]) == ("UnpublishedEvents", "Maximum", "GreaterThanOrEqualToThreshold")
    assert unpublished["threshold"] == config.unpublished_events_threshold
    assert unpublished["period"] == 2 * 60 * config.event_sweep_interval_minutes and unpublished["evaluation_periods"] == 1
    assert unpublished["treat_missing_data"] == "breaching"  # no data point = no sweep ran
    errors = alarm(dev, "event-sweeper-errors")
    function_id, _ = sweeper(dev)
    assert (errors["namespace"], errors["metric_name"], errors["treat_missing_data"]) == ("AWS/Lambda", "Errors", "notBreaching")
    assert errors["dimensions"] == {"FunctionName": ref("aws_lambda_function", function_id, "function_name")}
    topic_id, _ = find(dev, "aws_sns_topic", name="order-alarms-dev")
    for each in (unpublished, errors):
        assert each["alarm_actions"] == each["ok_actions"] == [ref("aws_sns_topic", topic_id, "arn")]


def test_the_unpublished_events_alarm_matches_what_the_sweeper_emits(dev):
    """The alarm's namespace, metric and dimensions equal the EMF the sweeper prints with the function's environment."""
    _, function = sweeper(dev)
    variables = function["environment"]["variables"]
    probe = """
import json, sys
from event_sweeper.app import EventSweepFunction
from orders_core.service import EventSweepService
class Empty:
    def unpublished(self, shard, **_): return [], None
class Nothing:
    def publish(self, entries): return {}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "order-event-sweeper-dev", 256, "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:order-event-sweeper-dev"
    def get_remaining_time_in_millis(self): return 60_000
handler = EventSweepFunction(lambda: EventSweepService(repository=Empty(), publisher=Nothing()), lambda: 300)
print(json.dumps(handler({"source": "aws.events"}, Context())), file=sys.stderr)
"""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "POWERTOOLS_SERVICE_NAME": variables["POWERTOOLS_SERVICE_NAME"],
        "POWERTOOLS_METRICS_NAMESPACE": variables["POWERTOOLS_METRICS_NAMESPACE"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "handlers", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and '"found": 0' in done.stderr, done.stderr
    emitted = []
    for line in done.stdout.splitlines():
        if '"_aws"' in line:
            record = json.loads(line)
            for definition in record["_aws"]["CloudWatchMetrics"]:
                if any(metric["Name"] == "UnpublishedEvents" for metric in definition["Metrics"]):
                    (dimension_names,) = definition["Dimensions"]
                    emitted.append((definition["Namespace"], {name: record[name] for name in dimension_names}))
    unpublished = alarm(dev, "unpublished-events")
    assert emitted == [(unpublished["namespace"], unpublished["dimensions"])]


def test_every_problem_of_the_props_is_reported_at_once():
    from constructs_lib.event_sweep import EventSweep, EventSweepProps
    from constructs_lib.support.framework import App

    with pytest.raises(ConfigError) as raised:
        EventSweep(App(), "sweep", EventSweepProps(interval_minutes=0, unpublished_events_threshold=0, metrics_namespace=" "))
    assert [p.setting for p in raised.value.problems] == [
        "function",
        "table",
        "topic",
        "alarm_topic",
        "names",
        "interval_minutes",
        "unpublished_events_threshold",
        "metrics_namespace",
        "service_name",
    ]
    assert "(given 0)" in str(raised.value) and "Fix:" in str(raised.value)
