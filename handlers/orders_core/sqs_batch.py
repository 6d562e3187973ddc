"""SQS partial batch responses: run a handler per record, report only the records that failed.

The contract is Lambda's, for an event source mapping with ``ReportBatchItemFailures``
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``; only the listed messages
become visible again, the others are deleted. An empty list means the whole batch succeeded.

This replaces Powertools' ``BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)``
+ ``process_partial_response``, with the same results for every SQS event: one call per record
in order, ``Exception`` fails that record only (anything else, such as ``KeyboardInterrupt``,
stops the invocation), and a batch whose every record failed is reported, not raised. Importing
Powertools' batch utility cost each cold start about 115 M instructions (asyncio, every event
data class, the async and FIFO processors; callgrind, 1,383 -> 1,269 M for the processor's init)
for what is this loop; docs/cold-start.md, "Cold start and memory size".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class InvalidSqsEvent(ValueError):
    """The event is not an SQS batch: the whole invocation fails (nothing is acknowledged)."""


@dataclass(frozen=True)
class SqsRecord:
    """One record of an SQS event, as the event source mapping delivers it."""

    raw: Mapping[str, Any]
    """The record as received (``messageId``, ``body``, ``attributes``, ...)."""

    @property
    def message_id(self) -> str:
        """The record's ``messageId``: what a failure is reported by."""
        message_id: str = self.raw["messageId"]
        return message_id

    @property
    def body(self) -> Any:
        """The record's ``body`` as received (a string from SQS; ``None`` when absent)."""
        return self.raw.get("body")

    def system_attribute(self, name: str) -> str | None:
        """An SQS system attribute (``ApproximateReceiveCount``, ``SentTimestamp``, ...), ``None`` when absent.

        A hand-built or replayed event (tests, the console) may lack them, and that must not fail a valid order.
        """
        attributes = self.raw.get("attributes")
        return attributes.get(name) if isinstance(attributes, Mapping) else None


def sqs_records(event: Any) -> list[SqsRecord]:
    """The event's records; ``InvalidSqsEvent`` naming the problem when it is no SQS batch."""
    if not isinstance(event, Mapping):
        raise InvalidSqsEvent(f"the event must be an SQS batch (an object with a 'Records' list), got {type(event).__name__}")
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        found = "no 'Records'" if records is None else f"'Records' = {records!r:.80}"
        raise InvalidSqsEvent(f"the event must be an SQS batch with at least one record in 'Records', got {found}. Fix: invoke the function through its SQS event source, or with an SQS test event")
    problems = [i for i, record in enumerate(records) if not isinstance(record, Mapping) or not isinstance(record.get("messageId"), str)]
    if problems:
        raise InvalidSqsEvent(f"every SQS record needs a string 'messageId' (failures are reported by it); records at index {problems[:10]} have none")
    return [SqsRecord(record) for record in records]


@dataclass(frozen=True)
class BatchOutcome:
    """What ``process_batch`` did: per record, its handler's result or the exception it raised."""

    results: tuple[tuple[SqsRecord, Any], ...]
    failures: tuple[tuple[SqsRecord, Exception], ...]

    def response(self) -> dict[str, list[dict[str, str]]]:
        """The partial batch response: one ``itemIdentifier`` per failed record, in event order."""
        return {"batchItemFailures": [{"itemIdentifier": record.message_id} for record, _ in self.failures]}


def process_batch(event: Any, record_handler: Callable[[SqsRecord], Any]) -> BatchOutcome:
    """Call ``record_handler`` once per record, in order; an ``Exception`` fails only its record."""
    results: list[tuple[SqsRecord, Any]] = []
    failures: list[tuple[SqsRecord, Exception]] = []
    for record in sqs_records(event):
        try:
            results.append((record, record_handler(record)))
        except Exception as exc:  # noqa: BLE001 -- the record is retried; the handler logged why
            failures.append((record, exc))
    return BatchOutcome(tuple(results), tuple(failures))
