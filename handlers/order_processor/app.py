"""Lambda entry point of the order processor (SQS event source, partial batch responses).

Per record: validate, conditional PutItem (exactly one item per orderId). Per batch: one
SNS PublishBatch per 10 events, then one TransactWriteItems marking them published.
Returns ``{"batchItemFailures": [...]}``: only the failed records are retried.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Mapping, Sequence

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from order_processor.batch import CompletingBatchProcessor
from orders_core.adapters import DynamoOrderRepository, SnsEventPublisher
from orders_core.aws import clients, lazy, settings
from orders_core.errors import PoisonMessage
from orders_core.service import OrderProcessingService, StoredOrder
from orders_core.validation import schema_validator

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders-processor"))
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders-processor"))
# EphemeralMetrics: no state shared with the API handler's metrics in one process (local pipeline).
# A request that records no metric (e.g. a GET) is normal, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "OrderPipeline"))


def build_service() -> OrderProcessingService:
    """The service on the real adapters (cached per container by ``service``)."""
    aws, config = clients(), settings()
    return OrderProcessingService(
        repository=DynamoOrderRepository(aws.dynamodb, config.orders_table_name),
        publisher=SnsEventPublisher(aws.sns, config.order_topic_arn),
    )


service = lazy(build_service)


def _system_attribute(record: SQSRecord, name: str) -> str | None:
    # Powertools' typed accessors raise KeyError when an attribute is absent: a hand-built or
    # replayed event (tests, console) may lack them, and that must not fail a valid order.
    attributes = record.raw_event.get("attributes")
    return attributes.get(name) if isinstance(attributes, dict) else None


def record_handler(record: SQSRecord) -> StoredOrder:
    """Store one order; raising fails only this record (poison ends up in the DLQ)."""
    logger.set_correlation_id(record.message_id)
    try:
        body = record.raw_event.get("body")
        if not isinstance(body, str):
            raise PoisonMessage(f"message body must be a string, got {type(body).__name__}")
        stored = service().store(body, sent_timestamp_ms=_system_attribute(record, "SentTimestamp"))
    except PoisonMessage as exc:
        logger.error(
            "poison message; it will reach the DLQ after maxReceiveCount receives",
            extra={"messageId": record.message_id, "reason": str(exc), "receiveCount": _system_attribute(record, "ApproximateReceiveCount")},
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


def complete_batch(successes: Sequence[tuple[Mapping[str, Any], StoredOrder]]) -> dict[str, str]:
    """Publish the batch's pending events; return ``{messageId: reason}`` for records to retry."""
    logger.set_correlation_id(None)
    outcome = service().publish([stored for _, stored in successes])
    if outcome.published:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(outcome.published))
    if outcome.failed:
        metrics.add_metric(name="EventPublishFailures", unit=MetricUnit.Count, value=len(outcome.failed))
        logger.warning("events not published; their records will be retried", extra={"failed": outcome.failed})
    if outcome.mark_error:
        logger.warning("could not mark events as published; a redelivery may publish them again", extra={"reason": outcome.mark_error})
    return {
        str(record["messageId"]): outcome.failed[stored.order_id]
        for record, stored in successes
        if stored.order_id in outcome.failed
    }


processor = CompletingBatchProcessor(complete_batch)

# Every invocation validates every record, so the schema validator is compiled here, during
# the init phase, instead of on the first record (the API handler keeps it lazy: GETs never
# need it). No AWS client or setting is touched at import.
schema_validator()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event -> ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}``.

    A missing environment variable fails the whole invocation with ``SettingsError`` naming it
    (before any record is touched): every message stays on the queue, and the processor-errors
    alarm pages, instead of each record failing quietly on its way to the DLQ.
    """
    settings()
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failed = len(response.get("batchItemFailures", []))
    processed = len(processor.success_messages)
    if processed:
        metrics.add_metric(name="OrdersProcessed", unit=MetricUnit.Count, value=processed)
    if failed:
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=failed)
    logger.info("batch done", extra={"records": len(event.get("Records", [])), "processed": processed, "failed": failed})
    return response
