"""``QueuePoller``: plays the SQS event source mapping (batching window, partial batch responses) in a thread."""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from local_pipeline.sqs_events import InvalidBatchResponse, failed_message_ids, sqs_event

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], Any]

# SQS returns at most 10 messages per ReceiveMessage call, whatever the batch size.
_SQS_RECEIVE_MAX = 10
# Upper bound of one long poll; short so stop() is prompt.
_IDLE_WAIT_SECONDS = 1


@dataclass(frozen=True)
class Invocation:
    """One processor invocation: which messages it got (with their receive counts) and how it ended."""

    started_at: float
    receive_counts: dict[str, int]
    """messageId -> ApproximateReceiveCount of that delivery."""
    failed_ids: frozenset[str] = frozenset()
    """Records reported in batchItemFailures (or every record when the invocation failed)."""
    error: str | None = None
    """The exception the handler raised, or why its response was rejected."""

    @property
    def size(self) -> int:
        """Number of records in the batch."""
        return len(self.receive_counts)


@dataclass
class _State:
    busy: bool = False
    invocations: collections.deque = field(default_factory=lambda: collections.deque(maxlen=10_000))


class QueuePoller:
    """Receives batches from one queue, invokes the processor and deletes what succeeded."""

    def __init__(
        self,
        *,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        handler: Handler,
        context_factory: Callable[[], Any],
        batch_size: int = 10,
        batching_window_seconds: float = 0,
    ) -> None:
        problems = []
        if not isinstance(batch_size, int) or batch_size < 1:
            problems.append(f"batch_size must be a whole number >= 1 (given {batch_size!r}); set it to e.g. 10")
        if not isinstance(batching_window_seconds, (int, float)) or batching_window_seconds < 0:
            problems.append(f"batching_window_seconds must be >= 0 (given {batching_window_seconds!r}); set it to e.g. 0 or 5")
        if problems:
            raise ValueError("Invalid QueuePoller settings:\n  - " + "\n  - ".join(problems))
        self.sqs = sqs_client
        """The poller's own SQS client; register botocore hooks on it to observe receives."""
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._region = region
        self._handler = handler
        self._context_factory = context_factory
        self.batch_size = batch_size
        self.batching_window_seconds = batching_window_seconds
        self._state = _State()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ observation
    @property
    def busy(self) -> bool:
        """True from the first message of a batch being received until its deletes are done."""
        return self._state.busy

    @property
    def invocations(self) -> list[Invocation]:
        """Every invocation so far (the last 10 000), oldest first."""
        with self._lock:
            return list(self._state.invocations)

    # ------------------------------------------------------------------ one batch
    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def gather_batch(self) -> list[dict]:
        """Wait for a first message, then gather until the batch is full or the batching window closes."""
        messages: list[dict] = []
        deadline: float | None = None
        while not self._stop.is_set() and len(messages) < self.batch_size:
            if deadline is None:
                wait = _IDLE_WAIT_SECONDS
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(int(remaining), _IDLE_WAIT_SECONDS)
            got = self._receive(min(_SQS_RECEIVE_MAX, self.batch_size - len(messages)), wait)
            if got:
                if deadline is None:
                    self._state.busy = True
                    deadline = time.monotonic() + self.batching_window_seconds
                messages.extend(got)
            elif deadline is None:
                return []
            elif wait == 0:
                time.sleep(0.05)  # inside the last second of the window: short polls, not a busy loop
            if deadline is not None and self.batching_window_seconds == 0:
                break
        return messages

    def process_batch(self, messages: list[dict]) -> Invocation:
        """Invoke the handler with one batch and delete the records that did not fail."""
        receive_counts = {m["MessageId"]: int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)) for m in messages}
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self._region)
        started = time.time()
        try:
            response = self._handler(event, self._context_factory())
            failed = failed_message_ids(response, receive_counts)
            error = None
        except InvalidBatchResponse as bad:
            failed, error = set(receive_counts), f"invalid batch response: {bad}"
        except Exception as exc:  # noqa: BLE001 - a failed invocation returns the whole batch to the queue
            log.warning("processor raised %s: %s; the whole batch stays on the queue", type(exc).__name__, exc)
            failed, error = set(receive_counts), f"{type(exc).__name__}: {exc}"
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), _SQS_RECEIVE_MAX):
            chunk = done[start : start + _SQS_RECEIVE_MAX]
            result = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in result.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure)
        invocation = Invocation(started, receive_counts, frozenset(failed), error)
        with self._lock:
            self._state.invocations.append(invocation)
        return invocation

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.gather_batch()
                if messages:
                    self.process_batch(messages)
            except Exception:  # noqa: BLE001 - keep polling, as the event source mapping does
                log.exception("poller error; retrying in 1 s")
                self._stop.wait(1)
            finally:
                self._state.busy = False

    def start(self) -> None:
        """Start polling in a daemon thread (no-op when already polling)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-sqs-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current batch (a long poll ends within about a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                log.warning("poller did not stop within %s s", timeout)
        self._thread = None
