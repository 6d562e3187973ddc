"""``SqsEventSource``: the SQS -> Lambda event source mapping, with partial batch responses.

It takes the queue and the function themselves (not numbers copied out of the config):
it reads the queue's visibility timeout and the function's timeout and reserved
concurrency to check them against each other, and grants the function's role what the
mapping needs to consume the queue (``QueueWithDeadLetterQueue.grant_consume``).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.python_function import PythonFunction
from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue
from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import LambdaEventSourceMapping, LambdaEventSourceMappingScalingConfig
from constructs_lib.validation import add, check_whole_number, raise_problems, validated
from pipeline_config import rules
from pipeline_config.defaults import EventSourceBatching
from pipeline_config.errors import ConfigProblem

#: The defaults of the props that ``pipeline_config.defaults`` holds (their one home).
_BATCHING = EventSourceBatching()


@dataclass(frozen=True, kw_only=True)
class SqsEventSourceProps:
    """Settings of ``SqsEventSource``."""

    queue: QueueWithDeadLetterQueue | None = None
    """The queue to consume. Required: ``None`` is rejected. Its visibility timeout must be at
    least 6 x the function's timeout."""
    function: PythonFunction | None = None
    """The consuming function. Required: ``None`` is rejected. Its role gets the consume grant;
    its reserved concurrency bounds ``maximum_concurrency``."""
    batch_size: int = _BATCHING.batch_size
    """Default: ``EventSourceBatching.batch_size`` (``pipeline_config.defaults``, where it is documented)."""
    maximum_batching_window_seconds: int = _BATCHING.maximum_batching_window_seconds
    """Default: ``EventSourceBatching.maximum_batching_window_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    maximum_concurrency: int | None = None
    """Concurrent invocations the event source may drive (2..1000, <= the function's reserved
    concurrency). ``None``: the function's reserved concurrency (within 2..1000), or no
    ``scaling_config`` when it has no reservation (Lambda's default, up to the function's concurrency)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting, including the queue and the function measured against each other."""
        problems: list[ConfigProblem] = []
        if not isinstance(self.queue, QueueWithDeadLetterQueue):
            problems.append(ConfigProblem("queue", self.queue, "is required", "pass the QueueWithDeadLetterQueue to consume"))
        if not isinstance(self.function, PythonFunction):
            problems.append(ConfigProblem("function", self.function, "is required", "pass the PythonFunction that consumes the queue"))
        batch_ok = check_whole_number(problems, self, "batch_size", *rules.ESM_BATCH_SIZE)
        if check_whole_number(problems, self, "maximum_batching_window_seconds", *rules.ESM_BATCHING_WINDOW_SECONDS, " s") and batch_ok:
            add(problems, rules.batching_window_problem(self.batch_size, self.maximum_batching_window_seconds, batch_setting="batch_size", window_setting="maximum_batching_window_seconds"))
        if isinstance(self.function, PythonFunction) and not is_unresolved(self.maximum_concurrency):
            add(
                problems,
                rules.event_source_concurrency_problem(
                    self.maximum_concurrency,
                    self.function.reserved_concurrency,
                    maximum_setting="maximum_concurrency",
                    reserved_setting="function.reserved_concurrency",
                ),
            )
        if isinstance(self.function, PythonFunction) and isinstance(self.queue, QueueWithDeadLetterQueue):
            add(
                problems,
                rules.visibility_timeout_problem(
                    self.queue.visibility_timeout_seconds,
                    self.function.timeout_seconds,
                    visibility_setting="queue.visibility_timeout_seconds",
                    timeout_setting="function.timeout_seconds",
                ),
            )
        return problems


class SqsEventSource(Construct):
    """Event source mapping that reports partial batch failures (``ReportBatchItemFailures``)."""

    def __init__(self, scope: Construct, id: str, props: SqsEventSourceProps) -> None:
        raise_problems(props, "SqsEventSource", id)
        super().__init__(scope, id)
        queue = validated(props.queue, "queue", "SqsEventSource")
        function = validated(props.function, "function", "SqsEventSource")
        maximum_concurrency = props.maximum_concurrency
        if maximum_concurrency is None:
            maximum_concurrency = rules.default_event_source_maximum_concurrency(function.reserved_concurrency)
        scaling = LambdaEventSourceMappingScalingConfig(maximum_concurrency=maximum_concurrency) if maximum_concurrency is not None else None
        # Lambda checks at creation that the function's role may ReceiveMessage: the grant goes on
        # the role's policy, and the mapping names the function by its *name attribute* (a
        # reference, not a literal), so it waits for the function, which itself depends on that
        # policy (PythonFunction's depends_on).
        queue.grant_consume(function)
        mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=queue.queue_arn,
            function_name=function.function_name,
            batch_size=props.batch_size,
            maximum_batching_window_in_seconds=props.maximum_batching_window_seconds,
            # Without it one bad record fails (and redelivers) the whole batch.
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=scaling,
        )
        self.resource: LambdaEventSourceMapping = mapping
        self.event_source_mapping_uuid: str = mapping.uuid
        self.maximum_concurrency: int | None = maximum_concurrency
