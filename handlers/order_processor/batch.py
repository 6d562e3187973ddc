"""``BatchProcessor`` with a batch-completion step that can still fail records.

Powertools' ``BatchProcessor`` runs one record handler per record and builds
``batchItemFailures``. The processor also needs ONE step per batch after the records
(publish all events with PublishBatch, mark them in one DynamoDB call), whose failures
must fail the records concerned. ``complete`` runs inside the processor's context, just
before Powertools computes the response, so ``process_partial_response`` stays the API.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class RecordFailed(Exception):
    """A record that succeeded alone but failed in the batch-completion step."""


#: ``complete(successes) -> {message_id: reason}`` for records that must be retried after all.
BatchCompletion = Callable[[Sequence[tuple[Any, Any]]], Mapping[str, str]]


class CompletingBatchProcessor(BatchProcessor):
    """SQS ``BatchProcessor`` that calls ``complete`` with ``(record, result)`` of every success."""

    def __init__(self, complete: BatchCompletion, **kwargs: Any) -> None:
        # One failed record is retried alone; failing them all must not raise either
        # (that would count as a function error and retry the batch the same way).
        kwargs.setdefault("raise_on_entire_batch_failure", False)
        super().__init__(EventType.SQS, **kwargs)
        self._complete = complete
        self._results: list[tuple[Any, Any]] = []

    def _prepare(self) -> None:
        super()._prepare()
        self._results = []

    def success_handler(self, record: Any, result: Any) -> Any:
        """Remember each success and its result for the completion step."""
        self._results.append((record, result))
        return super().success_handler(record, result)

    def _clean(self) -> None:
        failed = self._run_completion()
        for record, _ in self._results:
            reason = failed.get(record["messageId"])
            if reason is not None:
                self.success_messages.remove(record)
                exception = RecordFailed(reason)
                self.exceptions.append((RecordFailed, exception, None))
                # Powertools reports failures from event-source data classes, not raw dicts.
                self.fail_messages.append(self._to_batch_type(record, self.event_type, self.model))
        super()._clean()

    def _run_completion(self) -> Mapping[str, str]:
        if not self._results:
            return {}
        try:
            return self._complete(list(self._results))
        except Exception as exc:  # noqa: BLE001 - never lose records: fail all that depended on it
            return {record["messageId"]: f"batch completion failed: {exc!r}" for record, _ in self._results}
