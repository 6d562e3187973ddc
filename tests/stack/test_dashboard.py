"""OrdersDashboard: the synthesized body covers every metric of every resource; layout and validation."""

from __future__ import annotations

import json

import pytest

from pipeline_config import ConfigError
from tests.tfjson import find, only, ref, resources

GRAPH_WIDTH_LIMIT = 24


def body_of(doc: dict) -> dict:
    """The single dashboard's body, parsed."""
    _, dashboard = only(doc, "aws_cloudwatch_dashboard")
    return json.loads(dashboard["dashboard_body"])


def metric_lines(body: dict) -> list[tuple[str, str, dict, dict]]:
    """Every graphed metric as (namespace, name, dimensions, options), options incl. the widget's stat."""
    lines = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        properties = widget["properties"]
        for line in properties["metrics"]:
            options = line[-1] if isinstance(line[-1], dict) else {}
            parts = line[:-1] if options else line
            namespace, name, *dims = parts
            assert len(dims) % 2 == 0, line
            lines.append((namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)), {"stat": properties.get("stat"), **options}))
    return lines


def graphed(body: dict, namespace: str, name: str, dims: dict, stat: str | None = None) -> bool:
    """Is this metric (with exactly these dimensions, and this stat if given) on the dashboard?"""
    return any((ns, n, d) == (namespace, name, dims) and (stat is None or o["stat"] == stat) for ns, n, d, o in metric_lines(body))


def name_ref(doc: dict, rtype: str, attr: str, **match) -> set[str]:
    """The plain name and the ${...} reference a construct may expose for it."""
    logical, _ = find(doc, rtype, **match)
    return {*match.values(), ref(rtype, logical, attr)}


def dims_value(body: dict, namespace: str, name: str, key: str) -> set[str]:
    """Every value of dimension ``key`` graphed for a metric."""
    return {d[key] for ns, n, d, _ in metric_lines(body) if (ns, n) == (namespace, name) and key in d}


# ----------------------------------------------------------------------- synthesized stacks
def test_one_dashboard_named_from_config_with_a_json_body(dev, prod):
    for doc, suffix in ((dev, "dev"), (prod, "prod")):
        _, dashboard = only(doc, "aws_cloudwatch_dashboard")
        assert dashboard["dashboard_name"] == f"orders-dashboard-{suffix}"
        assert body_of(doc)["widgets"]


def test_api_metrics_for_the_deployed_stage(dev):
    body = body_of(dev)
    ((_, stage),) = resources(dev, "aws_api_gateway_stage").items()
    stage_values = dims_value(body, "AWS/ApiGateway", "Count", "Stage")
    assert len(stage_values) == 1
    stage_value = stage_values.pop()
    assert stage_value == stage["stage_name"] or stage_value.startswith("${aws_api_gateway_stage.")
    dims = {"ApiName": "orders-api-dev", "Stage": stage_value}
    assert graphed(body, "AWS/ApiGateway", "Count", dims, stat="Sum")
    assert graphed(body, "AWS/ApiGateway", "Latency", dims, stat="p50")
    assert graphed(body, "AWS/ApiGateway", "Latency", dims, stat="p99")
    assert graphed(body, "AWS/ApiGateway", "4XXError", dims, stat="Sum")
    assert graphed(body, "AWS/ApiGateway", "5XXError", dims, stat="Sum")


def test_queue_and_dlq_metrics(dev):
    body = body_of(dev)
    (queue,) = dims_value(body, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName")
    assert queue in name_ref(dev, "aws_sqs_queue", "name", name="order-queue-dev")
    assert graphed(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}, stat="Maximum")
    assert graphed(body, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue}, stat="Maximum")
    dlq_values = dims_value(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") - {queue}
    assert len(dlq_values) == 1 and dlq_values <= name_ref(dev, "aws_sqs_queue", "name", name="order-dlq-dev")


@pytest.mark.parametrize("function", ["orders-api-handler-dev", "order-processor-dev"])
def test_every_function_has_its_own_metrics(dev, function):
    body = body_of(dev)
    graphed_names = dims_value(body, "AWS/Lambda", "Invocations", "FunctionName")
    (name,) = graphed_names & name_ref(dev, "aws_lambda_function", "function_name", function_name=function)
    dims = {"FunctionName": name}
    for metric in ("Invocations", "Errors", "Throttles"):
        assert graphed(body, "AWS/Lambda", metric, dims, stat="Sum"), metric
    assert graphed(body, "AWS/Lambda", "Duration", dims, stat="p50")
    assert graphed(body, "AWS/Lambda", "Duration", dims, stat="p99")
    assert graphed(body, "AWS/Lambda", "ConcurrentExecutions", dims, stat="Maximum")


def test_every_lambda_function_of_the_stack_is_graphed(dev):
    body = body_of(dev)
    expected = {ref("aws_lambda_function", n, "function_name") for n in resources(dev, "aws_lambda_function")}
    plain = {f["function_name"] for f in resources(dev, "aws_lambda_function").values()}
    assert len(dims_value(body, "AWS/Lambda", "Invocations", "FunctionName") & (expected | plain)) == len(plain) == 3  # API handler, processor, event sweeper


def test_table_metrics(dev):
    body = body_of(dev)
    (table,) = dims_value(body, "AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName")
    assert table in name_ref(dev, "aws_dynamodb_table", "name", name="orders-table-dev")
    dims = {"TableName": table}
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents", "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"):
        assert graphed(body, "AWS/DynamoDB", metric, dims, stat="Sum"), metric


def test_alarm_widget_shows_exactly_the_stacks_alarms(dev):
    body = body_of(dev)
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    expected = {ref("aws_cloudwatch_metric_alarm", n, "arn") for n in resources(dev, "aws_cloudwatch_metric_alarm")}
    assert len(expected) == 10  # PipelineAlarms (8: one per concern, order conflicts included) + EventSweep (2)
    assert sorted(status["properties"]["alarms"]) == sorted(expected)


def test_sections_have_text_headers_and_widgets_fit_the_grid_without_overlap(dev):
    widgets = body_of(dev)["widgets"]
    headers = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    # Headers are one line: a text widget of height 1 would clip a second one.
    assert all("\n" not in h for h in headers), headers
    assert [h.split()[1].rstrip(":") for h in headers] == ["Alarms", "API", "Queue", "Lambda", "Lambda", "Lambda", "DynamoDB"]
    assert_valid_layout(widgets)


def assert_valid_layout(widgets: list[dict]) -> None:
    """Every widget inside the 24-wide grid, and no two overlapping."""
    cells: dict[tuple[int, int], int] = {}
    for index, w in enumerate(widgets):
        assert w["x"] >= 0 and w["x"] + w["width"] <= GRAPH_WIDTH_LIMIT, w
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"widget {index} overlaps widget {cells[(x, y)]}"
                cells[(x, y)] = index


# ----------------------------------------------------------------------- pure helpers and validation
def _props(**overrides):
    from constructs_lib.dashboard import OrdersDashboardProps

    base = {
        "dashboard_name": "orders-dashboard-dev",
        "region": "eu-west-1",
        "api_name": "orders-api-dev",
        "api_stage_name": "v1",
        "queue_name": "order-queue-dev",
        "dlq_name": "order-dlq-dev",
        "function_names": ("fn-a", "fn-b", "fn-c"),
        "table_name": "orders-table-dev",
        "alarm_arns": ("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a",),
    }
    return OrdersDashboardProps(**{**base, **overrides})


def test_body_builds_without_synth_and_every_graph_uses_the_region_and_period():
    from constructs_lib.dashboard import dashboard_body

    body = json.loads(dashboard_body(_props(period_seconds=300)))
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert graphs and all(g["properties"]["region"] == "eu-west-1" and g["properties"]["period"] == 300 for g in graphs)
    # one section per function, in the given order
    assert [h["properties"]["markdown"] for h in body["widgets"] if "Lambda" in h["properties"].get("markdown", "")] == [
        "# Lambda: fn-a",
        "# Lambda: fn-b",
        "# Lambda: fn-c",
    ]
    assert_valid_layout(body["widgets"])


def test_no_alarm_arns_means_no_status_widget():
    from constructs_lib.dashboard import dashboard_widgets

    assert not [w for w in dashboard_widgets(_props(alarm_arns=())) if w["type"] == "alarm"]


def test_layout_wraps_rows_at_the_grid_width():
    from constructs_lib.dashboard import layout

    placed = layout([{"width": 8, "height": 6}] * 4 + [{"width": 24, "height": 1}, {"width": 8, "height": 2}])
    assert [(w["x"], w["y"]) for w in placed] == [(0, 0), (8, 0), (16, 0), (0, 6), (0, 12), (0, 13)]


def test_every_problem_is_reported_at_once():
    from constructs_lib.dashboard import OrdersDashboard
    from constructs_lib.support.framework import App

    props = _props(dashboard_name="orders dashboard!", region="", function_names=(), alarm_arns="arn:single", period_seconds=90)
    with pytest.raises(ConfigError) as raised:
        OrdersDashboard(App(), "dashboard", props)
    assert [p.setting for p in raised.value.problems] == ["region", "dashboard_name", "function_names", "alarm_arns", "period_seconds"]
    assert "(given 90)" in str(raised.value) and "Fix:" in str(raised.value)


def test_tokens_pass_validation():
    token = "${TfToken[TOKEN.7]}"
    assert _props(dashboard_name=token, table_name=token, function_names=(token,), alarm_arns=(token,)).problems() == []
