"""Lambda entry point of the order processor (SQS event source, partial batch responses).

Per record: validate, conditional PutItem (exactly one item per orderId; a different order
under a stored orderId fails its record, to the DLQ). Per batch: one SNS PublishBatch per 10
events, then one TransactWriteItems marking them published.
Returns ``{"batchItemFailures": [...]}``: only the failed records are retried.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from orders_core.adapters import DynamoOrderRepository, SnsEventPublisher
from orders_core.aws import AwsClients, build_clients, lazy, settings

# PROCESSOR_TIMEOUTS is re-exported: the local pipeline builds this function's clients with it.
from orders_core.budget import PROCESSOR_TIMEOUTS as PROCESSOR_TIMEOUTS, Deadline, TimeoutPolicy, deadline_scope
from orders_core.errors import ConflictingOrder, PoisonMessage
from orders_core.function import TRACED_MODULES, PowertoolsFunction
from orders_core.service import OrderProcessingService, StoredOrder
from orders_core.settings import METRICS_NAMESPACE, METRICS_NAMESPACE_VAR, PROCESSOR_SERVICE_NAME, SERVICE_NAME_VAR, Settings
from orders_core.sqs_batch import SqsRecord, process_batch
from orders_core.validation import schema_validator

logger = Logger(service=os.environ.get(SERVICE_NAME_VAR, PROCESSOR_SERVICE_NAME))
tracer = Tracer(service=os.environ.get(SERVICE_NAME_VAR, PROCESSOR_SERVICE_NAME), patch_modules=TRACED_MODULES)
# EphemeralMetrics: no state shared with the API handler's metrics in one process (local pipeline).
# Every batch with records emits OrdersProcessed or OrdersFailed; only an invocation without
# records (a manual test invoke) flushes no metric: normal, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = EphemeralMetrics(namespace=os.environ.get(METRICS_NAMESPACE_VAR, METRICS_NAMESPACE))


def build_service(config: Settings, aws: AwsClients) -> OrderProcessingService:
    """The service on the real adapters, for the resources ``config`` names."""
    return OrderProcessingService(
        repository=DynamoOrderRepository(aws.dynamodb, config.orders_table_name),
        publisher=SnsEventPublisher(aws.sns, config.order_topic_arn),
    )


clients = lazy(lambda: build_clients(None, PROCESSOR_TIMEOUTS))
"""Lambda's clients: boto3's defaults (the function's region and role), budgeted for this function; cached per container."""
service = lazy(lambda: build_service(settings(), clients()))
"""Lambda's service: settings from the function's environment, ``clients()``; cached per container."""


def store_record(record: SqsRecord, orders: OrderProcessingService) -> StoredOrder:
    """Store one order; raising fails only this record (poison and conflicts end up in the DLQ)."""
    logger.set_correlation_id(record.message_id)
    receive_count = record.system_attribute("ApproximateReceiveCount")
    try:
        body = record.body
        if not isinstance(body, str):
            raise PoisonMessage(f"message body must be a string, got {type(body).__name__}")
        stored = orders.store(body, sent_timestamp_ms=record.system_attribute("SentTimestamp"))
    except ConflictingOrder as exc:
        # An accepted (202) order that can never be stored: page, and say why for this messageId.
        metrics.add_metric(name="OrderConflicts", unit=MetricUnit.Count, value=1)
        logger.error(
            "order conflict: this orderId is stored with a different order; the message goes to the DLQ after maxReceiveCount receives",
            extra={"messageId": record.message_id, "orderId": exc.order_id, "reason": str(exc), "receiveCount": receive_count},
        )
        raise
    except PoisonMessage as exc:
        logger.error(
            "poison message; it will reach the DLQ after maxReceiveCount receives",
            extra={"messageId": record.message_id, "reason": str(exc), "receiveCount": receive_count},
        )
        raise
    except Exception:
        logger.exception("could not store order; the record will be retried", extra={"messageId": record.message_id})
        raise
    if not stored.created:
        metrics.add_metric(name="OrdersDuplicate", unit=MetricUnit.Count, value=1)
    logger.info(
        "order stored" if stored.created else "order already stored",
        extra={"orderId": stored.order_id, "messageId": record.message_id, "eventPending": stored.event is not None},
    )
    return stored


def publish_batch(successes: Sequence[tuple[str, StoredOrder]], orders: OrderProcessingService) -> dict[str, str]:
    """Publish the batch's pending events; return ``{messageId: reason}`` for records to retry."""
    logger.set_correlation_id(None)
    try:
        outcome = orders.publish([stored for _, stored in successes])
    except Exception as exc:
        logger.exception("publishing the batch's events failed; their records will be retried")
        return {message_id: f"batch completion failed: {exc!r}" for message_id, _ in successes}
    if outcome.published:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(outcome.published))
    if outcome.failed:
        metrics.add_metric(name="EventPublishFailures", unit=MetricUnit.Count, value=len(outcome.failed))
        logger.warning("events not published; their records will be retried", extra={"failed": outcome.failed})
    if outcome.mark_error:
        logger.warning("could not mark events as published; a redelivery may publish them again", extra={"reason": outcome.mark_error})
    return {message_id: outcome.failed[stored.order_id] for message_id, stored in successes if stored.order_id in outcome.failed}


def merge_failures(response: Mapping[str, Any], more: Mapping[str, str]) -> dict[str, Any]:
    """``response``'s ``batchItemFailures`` plus one entry per id in ``more`` (no duplicates, order kept)."""
    failures = list(response.get("batchItemFailures", []))
    listed = {failure.get("itemIdentifier") for failure in failures}
    failures += [{"itemIdentifier": message_id} for message_id in more if message_id not in listed]
    return {**response, "batchItemFailures": failures}


# Every invocation validates every record, so the schema validator is compiled here, during
# the init phase, instead of on the first record (the API handler keeps it lazy: GETs never
# need it). No AWS client or setting is touched at import.
schema_validator()


class ProcessorFunction(PowertoolsFunction):
    """The order processor bound to one source of its service: a Lambda handler for SQS events.

    Per invocation, ``orders_core.sqs_batch.process_batch`` runs the record handler on each
    record (a record that raises fails alone; all of them failing is reported, not raised: that
    would be a function error per poison batch, retrying the batch the same way), then the
    batch's events are published and the records whose event could not be published are added
    to ``batchItemFailures``. Nothing is shared between invocations, so two local pipelines (two
    pollers) in one process never share a batch.
    Lambda's ``lambda_handler`` reads its settings from the environment; the local pipeline
    builds one per pipeline with ``ProcessorFunction.bound_to(settings, clients)``.
    """

    def __init__(self, service_source: Callable[[], OrderProcessingService], *, timeouts: TimeoutPolicy = PROCESSOR_TIMEOUTS) -> None:
        self._service_source = service_source
        self._timeouts = timeouts
        super().__init__(logger=logger, tracer=tracer, metrics=metrics)

    @classmethod
    def bound_to(cls, config: Settings, aws: AwsClients) -> ProcessorFunction:
        """A handler on the resources ``config`` names, calling AWS through ``aws`` (built with ``PROCESSOR_TIMEOUTS``)."""
        bound = build_service(config, aws)
        return cls(lambda: bound)

    def lambda_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """SQS event -> ``{"batchItemFailures": [...]}`` (undecorated; call the instance instead).

        Every AWS call ends before the function's timeout minus the margin; a record whose calls
        run out of time fails and is retried (the queue's visibility timeout is at least 6x the
        function timeout, a PipelineConfig rule, so a batch never outlives its messages' visibility).
        """
        orders = self._service_source()
        with deadline_scope(Deadline.from_context(context, margin_seconds=self._timeouts.safety_margin_seconds)):
            outcome = process_batch(event, lambda record: store_record(record, orders))
            stored = [(record.message_id, result) for record, result in outcome.results]
            unpublished = publish_batch(stored, orders) if stored else {}
        response = merge_failures(outcome.response(), unpublished)
        failed = len(response["batchItemFailures"])
        processed = len(stored) - len(unpublished)
        if processed:
            metrics.add_metric(name="OrdersProcessed", unit=MetricUnit.Count, value=processed)
        if failed:
            metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=failed)
        logger.info("batch done", extra={"records": len(event.get("Records", [])), "processed": processed, "failed": failed})
        return response


# ``service`` is looked up at each call, so a test may replace the module attribute.
_lambda_function = ProcessorFunction(lambda: service())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event -> ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`` (the function's handler).

    A missing environment variable fails the whole invocation with ``SettingsError`` naming it
    (before any record is touched): every message stays on the queue, and the processor-errors
    alarm pages, instead of each record failing quietly on its way to the DLQ.
    """
    return _lambda_function(event, context)
