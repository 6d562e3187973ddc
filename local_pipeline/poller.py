"""``QueuePoller``: plays the SQS event source mapping (batching window, partial batch responses, concurrency) in threads."""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_pipeline.sqs_events import InvalidBatchResponse, failed_message_ids, sqs_event
from pipeline_config.errors import ConfigError, ConfigProblem

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], Any]

# SQS returns at most 10 messages per ReceiveMessage call, whatever the batch size.
_SQS_RECEIVE_MAX = 10
# Upper bound of one long poll; short so stop() is prompt.
_IDLE_WAIT_SECONDS = 1
# With several workers: their receives take turns (see QueuePoller._receive), short polls, and a
# worker that got nothing waits this long before it asks again.
_SHARED_IDLE_PAUSE_SECONDS = 0.2
# After a failed receive or delete: the pause before polling again (the event source mapping retries too).
_ERROR_PAUSE_SECONDS = 1


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
    busy: set = field(default_factory=set)
    """The workers (thread names) that hold a batch right now."""
    processed: int = 0
    invocations: collections.deque = field(default_factory=lambda: collections.deque(maxlen=10_000))
    crashes: int = 0


class PollerCrashed(Exception):
    """Raised by a ``crash_after_batch`` hook's decision: the worker dies after the invocation, before deleting anything."""


def poller_problems(*, batch_size: object, batching_window_seconds: object, concurrency: object) -> list[ConfigProblem]:
    """Every invalid poller setting, in the project's one problem shape (setting, value, problem, fix)."""
    problems: list[ConfigProblem] = []
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        problems.append(ConfigProblem("batch_size", batch_size, "must be a whole number >= 1", "set it to e.g. 10"))
    if isinstance(batching_window_seconds, bool) or not isinstance(batching_window_seconds, (int, float)) or batching_window_seconds < 0:
        problems.append(ConfigProblem("batching_window_seconds", batching_window_seconds, "must be a number of seconds >= 0", "set it to e.g. 0 or 5"))
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(ConfigProblem("concurrency", concurrency, "must be a whole number >= 1", "set it to e.g. 1, or the event source mapping's maximum concurrency"))
    return problems


class QueuePoller:
    """Receives batches from one queue, invokes the processor and deletes what succeeded.

    ``concurrency`` workers poll side by side, each with its own batches, as the event source
    mapping runs up to its maximum concurrency of invocations at once.
    """

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
        concurrency: int = 1,
        crash_after_batch: Callable[[], bool] | None = None,
    ) -> None:
        """``crash_after_batch`` (fault injection, for soaks): asked after each invocation; True makes that
        worker crash before deleting the batch, so every message of it comes back after its visibility
        timeout, succeeded ones included, as when a poller dies mid-batch. The worker then restarts."""
        problems = poller_problems(batch_size=batch_size, batching_window_seconds=batching_window_seconds, concurrency=concurrency)
        if problems:
            raise ConfigError(problems, context="QueuePoller settings")
        self.sqs = sqs_client
        """The poller's own SQS client; register botocore hooks on it to observe receives."""
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._region = region
        self._handler = handler
        self._context_factory = context_factory
        self.batch_size = batch_size
        self.batching_window_seconds = batching_window_seconds
        self.concurrency = concurrency
        self._crash_after_batch = crash_after_batch
        self._state = _State()
        self._lock = threading.Lock()
        self._sqs_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ observation
    @property
    def busy(self) -> bool:
        """True while any worker holds a batch: from its first message received until its deletes are done."""
        return bool(self._state.busy)

    @property
    def crashes(self) -> int:
        """Batches lost to an injected crash (``crash_after_batch``) so far."""
        return self._state.crashes

    def _set_busy(self, busy: bool) -> None:
        name = threading.current_thread().name
        with self._lock:
            (self._state.busy.add if busy else self._state.busy.discard)(name)

    @property
    def processed(self) -> int:
        """Records the processor handled and the poller deleted from the queue, since this poller was made."""
        return self._state.processed

    @property
    def invocations(self) -> list[Invocation]:
        """Every invocation so far (the last 10 000), oldest first."""
        with self._lock:
            return list(self._state.invocations)

    # ------------------------------------------------------------------ one batch
    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict]:
        if self.concurrency > 1:
            # moto's ReceiveMessage is not atomic: two receives racing to move one message to the
            # DLQ (or a receive racing a delete) fail one of them with a 500 after it marked other
            # messages received, which then reach the DLQ without ever being delivered. SQS itself
            # has no such race, so the workers take turns (short polls) instead of shipping it.
            with self._sqs_lock:
                got = self._receive_once(max_messages, 0)
            if not got and wait_seconds:
                self._stop.wait(min(wait_seconds, _SHARED_IDLE_PAUSE_SECONDS))
            return got
        return self._receive_once(max_messages, wait_seconds)

    def _receive_once(self, max_messages: int, wait_seconds: int) -> list[dict]:
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
                    self._set_busy(True)
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
        except Exception as exc:  # noqa: BLE001 -- a failed invocation returns the whole batch to the queue
            log.warning("processor raised %s: %s; the whole batch stays on the queue", type(exc).__name__, exc)
            failed, error = set(receive_counts), f"{type(exc).__name__}: {exc}"
        if self._crash_after_batch is not None and self._crash_after_batch():
            with self._lock:
                self._state.crashes += 1
                self._state.invocations.append(Invocation(started, receive_counts, frozenset(receive_counts), "poller crashed after the invocation (injected)"))
            raise PollerCrashed(f"injected: the poller died after invoking the processor with {len(messages)} record(s), before deleting any")
        done = [m for m in messages if m["MessageId"] not in failed]
        deleted = 0
        for start in range(0, len(done), _SQS_RECEIVE_MAX):
            chunk = done[start : start + _SQS_RECEIVE_MAX]
            with self._sqs_lock if self.concurrency > 1 else contextlib.nullcontext():  # see _receive
                result = self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
                )
            for failure in result.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure)
            deleted += len(result.get("Successful", []))
        invocation = Invocation(started, receive_counts, frozenset(failed), error)
        with self._lock:
            self._state.invocations.append(invocation)
            self._state.processed += deleted
        return invocation

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.gather_batch()
                if messages:
                    self.process_batch(messages)
            except PollerCrashed as crash:
                log.info("%s; restarting the worker", crash)  # the batch comes back after its visibility timeout
            except Exception as error:  # noqa: BLE001 -- keep polling, as the event source mapping does; _report logs it
                # Wait first, report after: when a stop is under way the emulator may already be
                # gone, and a failed call then is the stop, not an error.
                if self._stop.wait(_ERROR_PAUSE_SECONDS):
                    log.debug("poller stopping; its last call failed: %s", error)
                    break
                self._report(error)
            finally:
                self._set_busy(False)

    def _report(self, error: Exception) -> None:
        from botocore.exceptions import ConnectionError as EndpointUnreachable, HTTPClientError

        if isinstance(error, (EndpointUnreachable, HTTPClientError)):
            # The emulator is down or restarting: one line per attempt, not a traceback each second.
            log.warning("poller: the queue does not answer (%s); polling again", error)
        else:
            log.error("poller error; polling again", exc_info=error)

    def start(self) -> None:
        """Start ``concurrency`` polling daemon threads (no-op when already polling)."""
        if any(thread.is_alive() for thread in self._threads):
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self._run, name=f"local-sqs-poller-{index}", daemon=True) for index in range(self.concurrency)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current batches (a long poll ends within about a second)."""
        self._stop.set()
        ends = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, ends - time.monotonic()))
            if thread.is_alive():
                log.warning("poller worker %s did not stop within %s s", thread.name, timeout)
        self._threads = []
