"""Time budgets for AWS calls: every call of an invocation ends well before the function's timeout.

A Lambda invocation knows how long it has left (``context.get_remaining_time_in_millis()``).
The handler turns that into a ``Deadline`` (minus a safety margin to build and return its
answer) and makes it current for the invocation (a context variable, so each thread of the
local API has its own). ``BudgetedClient`` wraps one service's boto3 client and fits every
call into the current deadline:

- each attempt gets a per-attempt timeout (connect + read) from a short ladder: the longest
  rung that still fits in the time left, so a stalled endpoint costs at most that attempt;
- retryable failures (throttling, 5xx, timeouts, connection errors) are retried after a
  jittered pause, at most ``max_attempts`` times, and never past the deadline;
- when no attempt fits any more, the call fails with ``DeadlineExceeded``, which the adapters
  report as a retryable ``DownstreamError`` (a 503 on the API, a retried record in the
  processor) instead of running into the function timeout.

botocore has no per-request timeout, so each rung of the ladder is its own client, created on
first use and then kept (its keep-alive connections stay warm; the longest rung serves almost
every call, the shorter ones only near the end of an invocation). Outside an invocation (no
current deadline) a call uses the longest rung.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

#: Error codes worth retrying: throttling and AWS-side faults. Anything else (validation,
#: access denied, a failed condition) fails the same way every time.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "KMSThrottlingException",
        "TransactionInProgressException",
    }
)


class DeadlineExceeded(Exception):
    """No attempt of an AWS call fits in the invocation's remaining time (the call was not made, or not again)."""

    def __init__(self, operation: str, remaining_seconds: float | None) -> None:
        left = "none" if remaining_seconds is None else f"{max(remaining_seconds, 0.0):.3f} s"
        super().__init__(f"{operation}: no time left for another attempt before the invocation's deadline (left: {left})")
        self.operation = operation
        self.remaining_seconds = remaining_seconds


def is_retryable(exc: BaseException) -> bool:
    """True for throttling, AWS 5xx, timeouts, connection failures and ``DeadlineExceeded``."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, DeadlineExceeded):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in RETRYABLE_ERROR_CODES or int(status) >= 500
    # ReadTimeoutError, ConnectionClosedError (HTTPClientError); EndpointConnectionError,
    # ConnectTimeoutError (ConnectionError). Not: ParamValidationError, NoCredentialsError...
    return isinstance(exc, (ConnectionError, HTTPClientError))


@dataclass(frozen=True, kw_only=True)
class TimeoutPolicy:
    """How one function spends its invocation's time on AWS calls."""

    safety_margin_seconds: float
    """Kept free at the end of every invocation: time to build the answer (a 503, a batch
    response), log and flush metrics before the function timeout."""
    attempt_timeouts_seconds: tuple[float, ...] = (2.0, 1.0, 0.5, 0.25)
    """The ladder of per-attempt read timeouts, longest first; an attempt uses the longest that fits."""
    connect_timeout_seconds: float = 0.5
    """Upper bound of an attempt's connect timeout (never more than its read timeout)."""
    max_attempts: int = 3
    """Attempts per call, the first included."""
    backoff_base_seconds: float = 0.05
    """Pause before the 2nd attempt is uniform in [0, base]; it doubles per attempt (full jitter)."""
    backoff_max_seconds: float = 1.0
    """Upper bound of one pause."""

    def connect_timeout(self, read_timeout: float) -> float:
        """Connect timeout of the rung with ``read_timeout``."""
        return min(self.connect_timeout_seconds, read_timeout)

    def attempt_bound(self, read_timeout: float) -> float:
        """Longest an attempt on that rung can take: connect plus read timeout."""
        return self.connect_timeout(read_timeout) + read_timeout

    def rung_for(self, remaining_seconds: float | None) -> float | None:
        """The longest read timeout whose attempt fits in ``remaining_seconds`` (None: no deadline -> the longest)."""
        if remaining_seconds is None:
            return self.attempt_timeouts_seconds[0]
        for read in self.attempt_timeouts_seconds:
            if self.attempt_bound(read) <= remaining_seconds:
                return read
        return None

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Pause after failed attempt number ``attempt`` (1-based)."""
        return rng() * min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))


#: The API handler: its function timeout is 10 s by default and its caller waits. A stall costs
#: at most 3 attempts of 2.5 s (plus pauses), so a stalled SQS or DynamoDB answers 503 within
#: about 8 s, and a shorter function timeout simply gets shorter rungs.
API_TIMEOUTS = TimeoutPolicy(safety_margin_seconds=1.0)
#: The processor: 30 s by default, and up to 12 calls per batch (10 writes, publish, mark).
#: Longer rungs (PublishBatch and TransactWriteItems carry up to 256 KB / 100 items), and a
#: larger margin to return the batch response (records not done are retried by SQS).
PROCESSOR_TIMEOUTS = TimeoutPolicy(safety_margin_seconds=2.0, attempt_timeouts_seconds=(5.0, 2.0, 1.0, 0.5, 0.25), connect_timeout_seconds=1.0)


@dataclass(frozen=True)
class Deadline:
    """The moment (``time.monotonic()``) by which every AWS call of the invocation must have ended."""

    expires_at: float

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self.expires_at - time.monotonic()

    @classmethod
    def after(cls, seconds: float) -> "Deadline":
        """A deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: Any, *, margin_seconds: float) -> "Deadline | None":
        """The invocation's remaining time minus ``margin_seconds``; None when the context cannot tell."""
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(getter):
            return None
        try:
            remaining_ms = float(getter())
        except (TypeError, ValueError):
            return None
        return cls.after(remaining_ms / 1000.0 - margin_seconds)


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("orders_core_deadline", default=None)


def current_deadline() -> Deadline | None:
    """The deadline of the invocation running in this thread, if any."""
    return _current.get()


@contextlib.contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Make ``deadline`` current for the calls inside the ``with`` block (restored after it)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


#: ``make_client(connect_timeout, read_timeout) -> boto3 client`` with botocore's retries off.
ClientMaker = Callable[[float, float], Any]


class BudgetedClient:
    """One service's client whose every call fits the current deadline (see the module docstring).

    Exposes the client's operations (``client.send_message(...)``), ``meta`` of the main rung,
    and ``register``/``unregister`` of botocore event handlers on every rung, present and future.
    """

    def __init__(
        self,
        make_client: ClientMaker,
        policy: TimeoutPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._make_client = make_client
        self._policy = policy
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._rungs: dict[float, Any] = {}
        self._handlers: list[tuple[str, Callable[..., Any], str]] = []

    @property
    def policy(self) -> TimeoutPolicy:
        """The timeout policy of this client."""
        return self._policy

    def rung(self, read_timeout: float) -> Any:
        """The boto3 client with that per-attempt read timeout (created once)."""
        with self._lock:
            client = self._rungs.get(read_timeout)
            if client is None:
                client = self._make_client(self._policy.connect_timeout(read_timeout), read_timeout)
                for event_name, handler, unique_id in self._handlers:
                    client.meta.events.register(event_name, handler, unique_id=unique_id)
                self._rungs[read_timeout] = client
            return client

    @property
    def meta(self) -> Any:
        """``meta`` of the main (longest) rung: service model, endpoint URL, region."""
        return self.rung(self._policy.attempt_timeouts_seconds[0]).meta

    def register(self, event_name: str, handler: Callable[..., Any], *, unique_id: str) -> None:
        """Register a botocore event handler on every rung, including rungs created later."""
        with self._lock:
            self._handlers.append((event_name, handler, unique_id))
            rungs = list(self._rungs.values())
        for client in rungs:
            client.meta.events.register(event_name, handler, unique_id=unique_id)

    def unregister(self, event_name: str, handler: Callable[..., Any], *, unique_id: str) -> None:
        """Remove a handler added with ``register``."""
        with self._lock:
            self._handlers = [h for h in self._handlers if h[2] != unique_id]
            rungs = list(self._rungs.values())
        for client in rungs:
            client.meta.events.unregister(event_name, handler, unique_id=unique_id)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        # Fails with AttributeError, like the client, for an operation the service lacks.
        target = getattr(self.rung(self._policy.attempt_timeouts_seconds[0]), name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, args, kwargs)

        call.__name__ = name
        return call

    def _call(self, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        policy = self._policy
        deadline = current_deadline()
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining() if deadline is not None else None
            read = policy.rung_for(remaining)
            if read is None:
                raise DeadlineExceeded(operation, remaining)
            try:
                return getattr(self.rung(read), operation)(*args, **kwargs)
            except Exception as exc:
                if attempt >= policy.max_attempts or not is_retryable(exc):
                    raise
                pause = policy.backoff(attempt, self._rng)
                shortest = policy.attempt_bound(policy.attempt_timeouts_seconds[-1])
                if deadline is not None and deadline.remaining() - pause < shortest:
                    raise  # no attempt would fit after the pause: report the real failure now
                self._sleep(pause)
