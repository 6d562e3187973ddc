"""Lambda entry point of the event sweeper (an EventBridge schedule): publish what the processor could not.

An order is stored with ``eventPublished=false`` and an ``unpublishedShard``, which puts it in the
sparse ``UnpublishedIndex``; publishing its event removes it again. When SNS fails for an order on
every receive, its message ends in the DLQ while the order stays in that index. Each run queries
the index for orders older than ``EVENT_SWEEP_MIN_AGE_SECONDS`` and publishes and marks them
(``orders_core.service.EventSweepService``): once SNS recovers, every stored order's event goes out,
without an operator. Metrics: ``EventsRepublished`` and ``UnpublishedEvents`` (orders found whose
event is still not out; emitted on every complete run, so the alarm also notices a sweeper that
stopped running). A failing read of the index fails the invocation (the sweeper-errors alarm).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from orders_core.adapters import DynamoOrderRepository, SnsEventPublisher
from orders_core.aws import AwsClients, build_clients, lazy, settings
from orders_core.budget import PROCESSOR_TIMEOUTS, Deadline, TimeoutPolicy, deadline_scope
from orders_core.function import TRACED_MODULES, PowertoolsFunction
from orders_core.service import EventSweepService, SweepOutcome, sweep_cutoff
from orders_core.settings import EVENT_SWEEPER_SERVICE_NAME, METRICS_NAMESPACE, METRICS_NAMESPACE_VAR, SERVICE_NAME_VAR, Settings, event_sweep_min_age_seconds

logger = Logger(service=os.environ.get(SERVICE_NAME_VAR, EVENT_SWEEPER_SERVICE_NAME))
tracer = Tracer(service=os.environ.get(SERVICE_NAME_VAR, EVENT_SWEEPER_SERVICE_NAME), patch_modules=TRACED_MODULES)
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = EphemeralMetrics(namespace=os.environ.get(METRICS_NAMESPACE_VAR, METRICS_NAMESPACE))

#: The sweeper spends its time as the processor does (the same calls: Query pages, PublishBatch, TransactWriteItems).
SWEEP_TIMEOUTS = PROCESSOR_TIMEOUTS
#: No new page is started with less than this left: a page is one Query, up to 10 PublishBatch
#: calls and one TransactWriteItems, each on the processor's ladder.
PAGE_TIME_SECONDS = 10.0
#: Orders one run publishes at most (about 100 PublishBatch calls); a larger backlog takes more runs.
MAX_ORDERS_PER_RUN = 1000


class SweepFailed(RuntimeError):
    """Reading the unpublished index failed: the run is incomplete (the invocation fails, so the errors alarm pages)."""


def build_service(config: Settings, aws: AwsClients) -> EventSweepService:
    """The sweep on the real adapters, for the table and topic ``config`` names."""
    return EventSweepService(
        repository=DynamoOrderRepository(aws.dynamodb, config.orders_table_name),
        publisher=SnsEventPublisher(aws.sns, config.order_topic_arn),
    )


clients = lazy(lambda: build_clients(None, SWEEP_TIMEOUTS))
"""Lambda's clients: boto3's defaults (the function's region and role), budgeted; cached per container."""
service = lazy(lambda: build_service(settings(), clients()))
"""Lambda's service: settings from the function's environment, ``clients()``; cached per container."""
min_age = lazy(event_sweep_min_age_seconds)
"""``EVENT_SWEEP_MIN_AGE_SECONDS`` of the function's environment, parsed once per container."""


def report(outcome: SweepOutcome) -> dict[str, Any]:
    """Metrics and the log line of one run; its summary as the invocation's result."""
    summary = {
        "found": outcome.found,
        "published": len(outcome.published),
        "stillUnpublished": outcome.still_unpublished,
        "stopped": outcome.stopped,
        "readError": outcome.read_error,
    }
    metrics.add_metric(name="EventsRepublished", unit=MetricUnit.Count, value=len(outcome.published))
    if outcome.read_error is None:
        # Emitted on every complete run, 0 included: a missing data point means no sweep ran.
        metrics.add_metric(name="UnpublishedEvents", unit=MetricUnit.Count, value=outcome.still_unpublished)
    if outcome.failed:
        logger.warning("events still not published; the next run tries again", extra={"failed": outcome.failed})
    if outcome.mark_errors:
        logger.warning("events published but not marked; the next run may publish them again", extra={"reasons": outcome.mark_errors})
    logger.info("sweep done", extra=summary)
    return summary


class EventSweepFunction(PowertoolsFunction):
    """The event sweeper bound to one source of its service and minimum age: a Lambda handler for scheduled events."""

    def __init__(
        self,
        service_source: Callable[[], EventSweepService],
        min_age_source: Callable[[], int],
        *,
        timeouts: TimeoutPolicy = SWEEP_TIMEOUTS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._service_source = service_source
        self._min_age_source = min_age_source
        self._timeouts = timeouts
        self._now = now
        super().__init__(logger=logger, tracer=tracer, metrics=metrics)

    @classmethod
    def bound_to(cls, config: Settings, aws: AwsClients, *, min_age_seconds: int) -> EventSweepFunction:
        """A sweeper on the table and topic ``config`` names, calling AWS through ``aws``."""
        bound = build_service(config, aws)
        return cls(lambda: bound, lambda: min_age_seconds)

    def lambda_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Scheduled event -> the run's summary (undecorated; call the instance instead)."""
        sweep = self._service_source()
        cutoff = sweep_cutoff(self._now(), self._min_age_source())
        deadline = Deadline.from_context(context, margin_seconds=self._timeouts.safety_margin_seconds)
        with deadline_scope(deadline):
            outcome = sweep.sweep(
                created_before=cutoff,
                max_orders=MAX_ORDERS_PER_RUN,
                out_of_time=lambda: deadline is not None and deadline.remaining() < PAGE_TIME_SECONDS,
            )
        summary = report(outcome)
        if outcome.read_error:
            logger.error("the sweep could not read the unpublished index", extra={"reason": outcome.read_error})
            raise SweepFailed(outcome.read_error)
        return summary


_lambda_function = EventSweepFunction(lambda: service(), lambda: min_age())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge scheduled event -> ``{"found", "published", "stillUnpublished", ...}`` (the function's handler)."""
    return _lambda_function(event, context)
