"""The one home of every default that both the configuration and the construct props carry.

Each group is a frozen dataclass whose fields hold the default and its docstring, written here
only. ``PipelineConfig``'s flat settings (the names in ``cdktf.json``) take their defaults from
these fields (``from_home``), and offer the group back as a view (``config.alarm_thresholds``);
the construct props in ``constructs_lib`` default to the same fields under the same names, so a
stack passes a group whole (``**config.alarm_thresholds.as_props()``). The settings table in the
docs/configuration.md (``pipeline_config.docs``) reads these docstrings. The AWS Solutions Constructs idea of
small ``*-defaults`` modules, in the ground floor that everything else may import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pipeline_config import rules

#: Field metadata key of a ``PipelineConfig`` setting whose default lives here: (group class, field name).
HOME = "home"


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """When the pipeline's alarms (``PipelineAlarms``) page."""

    period_seconds: int = 60
    """Period of every alarm's metric: 10, 20, 30 or a multiple of 60."""
    evaluation_periods: int = 1
    """Consecutive breaching periods before an alarm fires (1 pages on the first one)."""
    processor_errors_threshold: int = 1
    """Processor errors per period that page."""
    processor_throttles_threshold: int = 1
    """Processor throttles per period that page."""
    api_handler_errors_threshold: int = 1
    """API-handler errors per period that page."""
    api_5xx_threshold: int = 1
    """API 5XX responses per period that page."""
    queue_depth_threshold: int = 1000
    """Visible messages in the order queue that page (a backlog)."""
    queue_oldest_message_age_seconds_threshold: int = 300
    """Age in seconds of the oldest queued order that pages (processing stalled)."""
    order_conflicts_threshold: int = 1
    """Accepted orders per period whose orderId turned out to be stored with a different order
    (alarm ``order-conflicts``, the ``OrderConflicts`` metric): each one is failed by the processor
    and lands in the DLQ, so 1 pages on the first. docs/runbook.md, "Alarm runbook"."""

    def as_props(self) -> dict[str, Any]:
        """The fields by name: the construct props carry the same names."""
        return _as_props(self)


@dataclass(frozen=True, kw_only=True)
class QueueSettings:
    """The order queue and its dead-letter queue (``QueueWithDeadLetterQueue``)."""

    visibility_timeout_seconds: int = 180
    """Visibility timeout of the order queue (0..43200 s); >= 6 x the consumer's (processor's)
    timeout, as AWS advises for Lambda event sources, so in-flight messages are not delivered twice."""
    message_retention_seconds: int = 4 * 24 * 3600
    """How long an unprocessed order waits in the queue (60..1209600 s; default 4 days)."""
    dlq_message_retention_seconds: int = rules.SQS_MAX_RETENTION_SECONDS
    """How long a failed order waits in the DLQ (default 14 days, the SQS maximum). Must exceed the
    queue's retention: SQS keeps a message's original enqueue time when it moves it."""
    max_receive_count: int = 3
    """Receives before SQS moves a message to the DLQ (1..1000)."""

    def as_props(self) -> dict[str, Any]:
        """The fields by name: the construct props carry the same names."""
        return _as_props(self)


@dataclass(frozen=True, kw_only=True)
class EventSourceBatching:
    """How the processor's event source mapping (``SqsEventSource``) batches the queue's records."""

    batch_size: int = 10
    """Records per processor invocation (1..10000)."""
    maximum_batching_window_seconds: int = 5
    """How long Lambda gathers records before invoking with a partial batch (0..300 s; >= 1 when
    the batch size is above 10)."""

    def as_props(self) -> dict[str, Any]:
        """The fields by name: the construct props carry the same names."""
        return _as_props(self)


@dataclass(frozen=True, kw_only=True)
class EventSweepSettings:
    """The sweep of events that never got out (``EventSweep``)."""

    interval_minutes: int = 5
    """How often the event sweeper runs (an EventBridge schedule, 1..720 min). It publishes the
    events of stored orders that never got out (SNS failing for them on every receive), so every
    stored order's event is published once SNS recovers, without an operator. docs/runbook.md, "Alarm runbook"."""
    unpublished_events_threshold: int = 1
    """Stored orders whose event a sweep found and still could not publish (alarm
    ``unpublished-events``, over two sweep intervals; a sweeper that stops reporting pages too)."""

    def as_props(self) -> dict[str, Any]:
        """The fields by name: the construct props carry the same names."""
        return _as_props(self)


@dataclass(frozen=True, kw_only=True)
class FunctionSizing:
    """Timeout and memory of one Lambda function (``PythonFunction``)."""

    timeout_seconds: int = 30
    """Timeout, 1..900 s."""
    memory_mb: int = 256
    """Memory, 128..10240 MB (also scales the function's CPU)."""

    def as_props(self) -> dict[str, Any]:
        """The fields by name: the construct props carry the same names."""
        return _as_props(self)


#: The sizing of each function of the pipeline (``PipelineConfig``'s ``<function>_timeout_seconds``/``_memory_mb``).
API_HANDLER_SIZING = FunctionSizing(timeout_seconds=10)
PROCESSOR_SIZING = FunctionSizing()
EVENT_SWEEPER_SIZING = FunctionSizing(timeout_seconds=60)
#: Retention of every log group the stack creates (one of CloudWatch's allowed values).
LOG_RETENTION_DAYS = 7
#: Every group whose fields are defaults here.
GROUPS = (AlarmThresholds, QueueSettings, EventSourceBatching, EventSweepSettings, FunctionSizing)


def _as_props(group: Any) -> dict[str, Any]:
    return {f.name: getattr(group, f.name) for f in dataclasses.fields(group)}


def from_home(group: type, name: str, default: object = dataclasses.MISSING) -> Any:
    """A ``PipelineConfig`` field whose default (``group``'s, or ``default`` from a named instance) and docstring live here."""
    declared = {f.name: f for f in dataclasses.fields(group)}
    if name not in declared:
        raise AttributeError(f"{group.__name__} has no field {name!r}")
    value = declared[name].default if default is dataclasses.MISSING else default
    return dataclasses.field(default=value, metadata={HOME: (group, name)})


def field_docs(group: type) -> dict[str, str]:
    """Each field's docstring in ``group`` (the string literal right after it in the class body), whitespace folded."""
    import ast
    import inspect
    from itertools import pairwise

    class_def = ast.parse(inspect.getsource(group)).body[0]
    if not isinstance(class_def, ast.ClassDef):
        raise TypeError(f"the source of {group.__name__} does not start with its class statement")
    docs: dict[str, str] = {}
    for node, following in pairwise(class_def.body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs
