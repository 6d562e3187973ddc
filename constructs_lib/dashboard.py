"""``OrdersDashboard``: one CloudWatch dashboard that follows an order through the pipeline.

Sections, top to bottom, in the order an order travels: alarm status, API, queue and
DLQ, each Lambda function, the orders table. The widget dicts are built by pure
functions below (no cdktf), so the layout and the metrics can be tested without a
synth. Names may be CDKTF tokens: inside ``json.dumps`` they become ``${...}``
interpolations that Terraform resolves at apply time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import CloudwatchDashboard
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigProblem

#: The dashboard grid is 24 units wide; three graphs per row read well on a laptop.
GRID_WIDTH = 24
GRAPH_WIDTH = 8
GRAPH_HEIGHT = 6
HEADER_HEIGHT = 1
#: CloudWatch's limit on widgets per dashboard.
MAX_WIDGETS = 500
#: Aggregation period of the graphs; one minute matches the alarms' default period.
DEFAULT_PERIOD_SECONDS = 60

Widget = dict[str, Any]
Metric = list[Any]


@dataclass(frozen=True, kw_only=True)
class OrdersDashboardProps:
    """What ``OrdersDashboard`` shows."""

    dashboard_name: str = ""
    """Physical dashboard name (``names.dashboard``). Required."""
    region: str = ""
    """Region of every metric (graphs need it). Required."""
    api_name: str = ""
    """REST API name (``ApiName`` dimension). Required."""
    api_stage_name: str = ""
    """REST API stage (``Stage`` dimension). Required."""
    queue_name: str = ""
    """Order queue name. Required."""
    dlq_name: str = ""
    """Dead-letter queue name. Required."""
    function_names: Sequence[str] = ()
    """Lambda functions to graph, one section each, in this order. Required (at least one)."""
    table_name: str = ""
    """DynamoDB orders table name. Required."""
    alarm_arns: Sequence[str] = ()
    """Alarms shown in the status widget at the top. Empty: no status widget. ARN strings on
    purpose: the alarms come from several constructs (``PipelineAlarms.alarm_arns``,
    ``EventSweep.alarm_arns``), and a dashboard may show any alarm of the account."""
    period_seconds: int = DEFAULT_PERIOD_SECONDS
    """Aggregation period of every graph, in seconds (a multiple of 60)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        for setting in ("dashboard_name", "region", "api_name", "api_stage_name", "queue_name", "dlq_name", "table_name"):
            value = getattr(self, setting)
            if not _present(value):
                problems.append(ConfigProblem(setting, value, "is required (a non-empty string or token)", f"pass the {setting.replace('_', ' ')}"))
        name = self.dashboard_name
        # CloudWatch: up to 255 characters, letters, digits, '-' and '_'.
        if _present(name) and not is_unresolved(name) and (len(name) > 255 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name)):
            problems.append(ConfigProblem("dashboard_name", name, "may hold only letters, digits, '-' and '_' (at most 255)", "use names.dashboard"))
        functions = self.function_names
        if isinstance(functions, str) or not isinstance(functions, Sequence) or not functions or not all(_present(f) for f in functions):
            problems.append(ConfigProblem("function_names", functions, "must be a non-empty sequence of function names", "pass e.g. (api_handler.function_name, processor.function_name)"))
        arns = self.alarm_arns
        if isinstance(arns, str) or not isinstance(arns, Sequence) or not all(_present(a) for a in arns):
            problems.append(ConfigProblem("alarm_arns", arns, "must be a sequence of alarm ARNs", "pass alarms.alarm_arns, or () for no status widget"))
        period = self.period_seconds
        if isinstance(period, bool) or not isinstance(period, int) or period < 60 or period % 60:
            problems.append(ConfigProblem("period_seconds", period, "must be a positive multiple of 60", "set e.g. 60 or 300"))
        if not problems and len(dashboard_widgets(self)) > MAX_WIDGETS:
            problems.append(ConfigProblem("function_names", functions, f"make more than {MAX_WIDGETS} widgets", "graph fewer functions"))
        return problems


def _present(value: object) -> bool:
    return isinstance(value, str) and (is_unresolved(value) or bool(value.strip()))


# ----------------------------------------------------------------------------- widget builders
def text_widget(markdown: str) -> Widget:
    """A full-width markdown header; ``layout`` sets its position."""
    return {"type": "text", "width": GRID_WIDTH, "height": HEADER_HEIGHT, "properties": {"markdown": markdown}}


def metric_widget(
    title: str,
    metrics: list[Metric],
    *,
    region: str,
    period_seconds: int,
    stat: str = "Sum",
    width: int = GRAPH_WIDTH,
    y_label: str | None = None,
) -> Widget:
    """A time-series graph of ``metrics`` (CloudWatch's array form: namespace, name, dims..., options)."""
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "stacked": False,
        "region": region,
        "period": period_seconds,
        "stat": stat,
        "metrics": metrics,
    }
    if y_label:
        properties["yAxis"] = {"left": {"label": y_label, "showUnits": False}}
    return {"type": "metric", "width": width, "height": GRAPH_HEIGHT, "properties": properties}


def alarm_status_widget(alarm_arns: Sequence[str], *, title: str = "Alarm status") -> Widget:
    """A status tile per alarm (red when in ALARM); full width so every alarm name fits."""
    return {
        "type": "alarm",
        "width": GRID_WIDTH,
        "height": 3,
        "properties": {"title": title, "alarms": list(alarm_arns), "sortBy": "stateUpdatedTimestamp"},
    }


def metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> Metric:
    """One metric line: ``[namespace, name, dim, value, ..., {options}]``."""
    line: Metric = [namespace, name]
    for key, value in dimensions.items():
        line += [key, value]
    if options:
        line.append(options)
    return line


class _GraphSettings(TypedDict):
    """The ``metric_widget`` keywords every graph of one dashboard shares."""

    region: str
    period_seconds: int


def _graph_settings(props: OrdersDashboardProps) -> _GraphSettings:
    # A TypedDict, not a dict[str, object]: ``**common`` stays checked against metric_widget's keywords.
    return {"region": props.region, "period_seconds": props.period_seconds}


def api_widgets(props: OrdersDashboardProps) -> list[Widget]:
    """Requests, latency percentiles and 4XX/5XX of the REST API stage."""
    dims = {"ApiName": props.api_name, "Stage": props.api_stage_name}
    common = _graph_settings(props)
    return [
        metric_widget("API requests", [metric("AWS/ApiGateway", "Count", dims, label="Requests")], stat="Sum", **common),
        metric_widget(
            "API latency (ms)",
            [
                metric("AWS/ApiGateway", "Latency", dims, stat="p50", label="p50"),
                metric("AWS/ApiGateway", "Latency", dims, stat="p99", label="p99"),
                metric("AWS/ApiGateway", "IntegrationLatency", dims, stat="p99", label="integration p99"),
            ],
            stat="p50",
            **common,
        ),
        metric_widget(
            "API errors",
            [
                metric("AWS/ApiGateway", "4XXError", dims, label="4XX (client)"),
                metric("AWS/ApiGateway", "5XXError", dims, label="5XX (server)"),
            ],
            stat="Sum",
            **common,
        ),
    ]


def queue_widgets(props: OrdersDashboardProps) -> list[Widget]:
    """Backlog and age of the order queue, and the DLQ depth."""
    queue = {"QueueName": props.queue_name}
    dlq = {"QueueName": props.dlq_name}
    common = _graph_settings(props)
    return [
        metric_widget(
            "Order queue depth",
            [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, label="waiting"),
                metric("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", queue, label="in flight"),
            ],
            stat="Maximum",
            **common,
        ),
        metric_widget(
            "Age of oldest order (s)",
            [metric("AWS/SQS", "ApproximateAgeOfOldestMessage", queue, label="oldest message age")],
            stat="Maximum",
            y_label="seconds",
            **common,
        ),
        metric_widget(
            "Dead-letter queue depth",
            [metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, label="failed orders in DLQ")],
            stat="Maximum",
            **common,
        ),
    ]


def function_widgets(function_name: str, props: OrdersDashboardProps) -> list[Widget]:
    """Invocations/errors/throttles, duration percentiles and concurrency of one function."""
    dims = {"FunctionName": function_name}
    common = _graph_settings(props)
    return [
        metric_widget(
            "Invocations, errors, throttles",
            [
                metric("AWS/Lambda", "Invocations", dims, label="invocations"),
                metric("AWS/Lambda", "Errors", dims, label="errors"),
                metric("AWS/Lambda", "Throttles", dims, label="throttles"),
            ],
            stat="Sum",
            **common,
        ),
        metric_widget(
            "Duration (ms)",
            [
                metric("AWS/Lambda", "Duration", dims, stat="p50", label="p50"),
                metric("AWS/Lambda", "Duration", dims, stat="p99", label="p99"),
                metric("AWS/Lambda", "Duration", dims, stat="Maximum", label="max"),
            ],
            stat="p50",
            **common,
        ),
        metric_widget(
            "Concurrent executions",
            [metric("AWS/Lambda", "ConcurrentExecutions", dims, label="concurrent")],
            stat="Maximum",
            **common,
        ),
    ]


def table_widgets(props: OrdersDashboardProps) -> list[Widget]:
    """Throttling and consumed capacity of the orders table."""
    dims = {"TableName": props.table_name}
    common = _graph_settings(props)
    return [
        metric_widget(
            "Table throttling",
            [
                metric("AWS/DynamoDB", "ReadThrottleEvents", dims, label="read throttles"),
                metric("AWS/DynamoDB", "WriteThrottleEvents", dims, label="write throttles"),
            ],
            stat="Sum",
            **common,
        ),
        metric_widget(
            "Consumed capacity units",
            [
                metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", dims, label="read"),
                metric("AWS/DynamoDB", "ConsumedWriteCapacityUnits", dims, label="write"),
            ],
            stat="Sum",
            **common,
        ),
        metric_widget(
            "Duplicate deliveries and client errors",
            [
                # The processor's conditional put fails on a redelivered order: expected at a
                # low rate. DynamoDB counts these here and NOT in UserErrors.
                metric("AWS/DynamoDB", "ConditionalCheckFailedRequests", dims, label="conditional-write conflicts"),
                # UserErrors has no table dimension: it is the account's 4XX total in the region.
                metric("AWS/DynamoDB", "UserErrors", {}, label="user errors (4XX, account-wide)"),
            ],
            stat="Sum",
            **common,
        ),
    ]


def layout(widgets: list[Widget]) -> list[Widget]:
    """Place widgets left to right, wrapping at the grid width (returns new dicts with x/y)."""
    placed: list[Widget] = []
    x = y = row_height = 0
    for widget in widgets:
        width, height = widget["width"], widget["height"]
        if x + width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y})
        x += width
        row_height = max(row_height, height)
    return placed


def dashboard_widgets(props: OrdersDashboardProps) -> list[Widget]:
    """Every widget of the dashboard, positioned, in reading order."""
    widgets: list[Widget] = []
    if props.alarm_arns:
        widgets += [text_widget("# Alarms (red = paging; see the alarm runbook, docs/runbook.md)"), alarm_status_widget(props.alarm_arns)]
    widgets += [text_widget("# API: requests in"), *api_widgets(props)]
    widgets += [text_widget("# Queue: orders waiting, and orders that failed (DLQ)"), *queue_widgets(props)]
    for name in props.function_names:
        # A token renders as ${...} here and becomes the real name once Terraform applies.
        widgets += [text_widget(f"# Lambda: {name}"), *function_widgets(name, props)]
    widgets += [text_widget("# DynamoDB: orders table"), *table_widgets(props)]
    return layout(widgets)


def dashboard_body(props: OrdersDashboardProps) -> str:
    """The ``dashboard_body`` JSON string."""
    return json.dumps({"widgets": dashboard_widgets(props)}, separators=(",", ":"))


class OrdersDashboard(Construct):
    """A CloudWatch dashboard of the API, queues, functions, table and alarm status."""

    def __init__(self, scope: Construct, id: str, props: OrdersDashboardProps) -> None:
        raise_problems(props, "OrdersDashboard", id)
        super().__init__(scope, id)
        self.props = props
        body = dashboard_body(props)
        self.dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=props.dashboard_name, dashboard_body=body)
        #: Physical dashboard name.
        self.dashboard_name: str = props.dashboard_name
        #: Dashboard ARN (token).
        self.dashboard_arn: str = self.dashboard.dashboard_arn
