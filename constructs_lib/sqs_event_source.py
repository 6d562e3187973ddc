"""``SqsEventSource``: the SQS -> Lambda event source mapping, with partial batch responses."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.framework import Construct
from constructs_lib.validation import check_whole_number
from constructs_lib.provider import LambdaEventSourceMapping, LambdaEventSourceMappingScalingConfig
from pipeline_config.errors import ConfigError, ConfigProblem, is_whole_number

#: AWS advises a queue visibility timeout of at least 6 x the function timeout for SQS event sources.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_CONCURRENCY_RANGE = (2, 1000)


@dataclass(frozen=True, kw_only=True)
class SqsEventSourceProps:
    """Settings of ``SqsEventSource``."""

    queue_arn: str = ""
    """ARN of the source queue. Required: the empty default is rejected."""
    queue_visibility_timeout_seconds: int | None = None
    """The queue's visibility timeout, to check it against the function timeout. ``None``: not checked."""
    function_name: str = ""
    """Name (or ARN) of the consuming function. Required: the empty default is rejected."""
    function_timeout_seconds: int | None = None
    """The function's timeout, for the visibility-timeout check. ``None``: not checked."""
    function_reserved_concurrency: int | None = None
    """The function's reserved concurrency, for the max-concurrency check. ``None``: no reservation."""
    batch_size: int = 10
    """Records per invocation, 1..10000. Default 10."""
    maximum_batching_window_seconds: int = 5
    """Seconds to gather records before invoking, 0..300 (>= 1 when batch_size > 10). Default 5."""
    maximum_concurrency: int | None = None
    """Concurrent invocations the event source may drive (2..1000, <= reserved concurrency).
    ``None``: no ``scaling_config`` (Lambda's default, up to the function's concurrency)."""


class SqsEventSource(Construct):
    """Event source mapping that reports partial batch failures (``ReportBatchItemFailures``)."""

    def __init__(self, scope: Construct, id: str, props: SqsEventSourceProps) -> None:
        super().__init__(scope, id)
        _validate(props)
        scaling = (
            LambdaEventSourceMappingScalingConfig(maximum_concurrency=props.maximum_concurrency)
            if props.maximum_concurrency is not None
            else None
        )
        # Lambda checks at creation that the function's role may ReceiveMessage; pass the
        # function's *name attribute* (a reference), not a literal, so this mapping waits for the
        # function, which itself depends on its role policy (PythonFunction's depends_on).
        mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=props.queue_arn,
            function_name=props.function_name,
            batch_size=props.batch_size,
            maximum_batching_window_in_seconds=props.maximum_batching_window_seconds,
            # Without it one bad record fails (and redelivers) the whole batch.
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=scaling,
        )
        self.resource: LambdaEventSourceMapping = mapping
        self.event_source_mapping_uuid: str = mapping.uuid


def _validate(props: SqsEventSourceProps) -> None:
    problems: list[ConfigProblem] = []

    for setting in ("queue_arn", "function_name"):
        if not getattr(props, setting):
            problems.append(ConfigProblem(setting, getattr(props, setting), "is required", f"pass the {setting.replace('_', ' ')} of the wired resource"))

    batch_ok = check_whole_number(problems, props, "batch_size", 1, 10_000)
    window_ok = check_whole_number(problems, props, "maximum_batching_window_seconds", 0, 300, " s")
    if batch_ok and window_ok and props.batch_size > 10 and props.maximum_batching_window_seconds < 1:
        problems.append(
            ConfigProblem(
                "maximum_batching_window_seconds",
                props.maximum_batching_window_seconds,
                f"must be at least 1 s when batch_size is above 10 (batch_size is {props.batch_size}; an AWS rule)",
                "set maximum_batching_window_seconds >= 1 or batch_size <= 10",
            )
        )

    reserved = props.function_reserved_concurrency
    if props.maximum_concurrency is not None:
        low, high = MAX_CONCURRENCY_RANGE
        if check_whole_number(problems, props, "maximum_concurrency", low, high) and is_whole_number(reserved) and props.maximum_concurrency > reserved:
            problems.append(
                ConfigProblem(
                    "maximum_concurrency",
                    props.maximum_concurrency,
                    f"must not exceed the function's reserved concurrency ({reserved}), or the event source "
                    "invokes into throttles and messages bounce back to the queue",
                    f"set maximum_concurrency to {reserved} or less, or raise the reserved concurrency",
                )
            )

    visibility, timeout = props.queue_visibility_timeout_seconds, props.function_timeout_seconds
    if is_whole_number(visibility) and is_whole_number(timeout) and visibility < VISIBILITY_TIMEOUT_FACTOR * timeout:
        required = VISIBILITY_TIMEOUT_FACTOR * timeout
        problems.append(
            ConfigProblem(
                "queue_visibility_timeout_seconds",
                visibility,
                f"queue visibility timeout must be at least {VISIBILITY_TIMEOUT_FACTOR} x the processor timeout = {required} s",
                f"raise the queue's visibility timeout to {required} s or lower the function timeout to "
                f"{visibility // VISIBILITY_TIMEOUT_FACTOR} s; otherwise messages reappear while their batch is still being processed",
            )
        )
    if problems:
        raise ConfigError(problems, context="SqsEventSource props")
