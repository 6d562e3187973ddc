"""Time budgets for AWS calls: every attempt ends by its deadline, whatever the peer does.

A Lambda invocation knows how long it has left (``context.get_remaining_time_in_millis()``).
The handler turns that into a ``Deadline`` (minus a safety margin to build and return its
answer) and makes it current for the invocation (a context variable, so each thread of the
local API has its own). ``BudgetedClient`` wraps one service's boto3 client and fits every
call into the current deadline:

- each attempt has a wall-clock bound (connect + read timeout of a short ladder: the longest
  rung that still fits in the time left). botocore's ``read_timeout`` bounds one socket read
  only, so a peer that is silent is caught by it, but one that sends its answer slowly, a byte
  at a time, never is: the attempt runs on a worker thread and the caller stops waiting at the
  bound (``AttemptTimedOut``), silent, slow or trickling alike;
- retryable failures (``orders_core.aws_errors``: throttling, AWS-side faults, timeouts,
  connection errors) are retried after a jittered pause, at most ``max_attempts`` times, and
  never past the deadline;
- a failure whose outcome is unknown (the request may have taken effect: a timeout after it was
  sent, a connection cut while waiting for the answer, a 5xx) is not repeated blindly for an
  operation that is unsafe to repeat (``UNSAFE_TO_REPEAT``: SQS SendMessage would queue the order
  again): at most ``resends_after_unknown_outcome`` more attempts, and only within the budget;
- when no attempt fits any more, the call fails with ``DeadlineExceeded``, which the adapters
  report as a retryable ``DownstreamError`` (a 503 on the API, a retried record in the
  processor) instead of running into the function timeout.

botocore has no per-request timeout, so each rung of the ladder is its own client, created on
first use and then kept (its keep-alive connections stay warm; the longest rung serves almost
every call, the shorter ones only near the end of an invocation). Outside an invocation (no
current deadline) a call uses the longest rung. An attempt the caller stopped waiting for is left
to finish on its worker thread (a daemon): its answer is dropped, its connection is not reused
until it ends, and an answer that arrives after all is exactly the "unknown outcome" above.
Tracing still sees every call: in Lambda the X-Ray SDK finds the invocation's trace from any thread
(``_X_AMZN_TRACE_ID``), so a call's subsegment joins the invocation's trace, under the function's
segment rather than under the handler's own subsegment.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from orders_core.aws_errors import ErrorClass, classify_client_error

#: Operations that must not be repeated after an unknown outcome (botocore service name ->
#: client method names): a repeated SendMessage queues the order twice. Every other call of the
#: handlers is safe to repeat: reads, the conditional PutItem (the second one finds the first),
#: the idempotent ``SET eventPublished`` transaction, and PublishBatch (events are delivered at
#: least once anyway, and their consumers must be idempotent).
UNSAFE_TO_REPEAT: dict[str, frozenset[str]] = {"sqs": frozenset({"send_message"})}


class BudgetError(Exception):
    """A failure of a budgeted call that is not an AWS answer (no attempt fits, an attempt ran over, an answer not vouched for)."""


class DeadlineExceeded(BudgetError):
    """No attempt of an AWS call fits in the invocation's remaining time (the call was not made, or not again)."""

    def __init__(self, operation: str, remaining_seconds: float | None) -> None:
        left = "none" if remaining_seconds is None else f"{max(remaining_seconds, 0.0):.3f} s"
        super().__init__(f"{operation}: no time left for another attempt before the invocation's deadline (left: {left})")
        self.operation = operation
        self.remaining_seconds = remaining_seconds


class AttemptTimedOut(BudgetError):
    """One attempt was still running at its wall-clock bound (a silent, slow or trickling peer); it may have taken effect."""

    def __init__(self, operation: str, bound_seconds: float) -> None:
        super().__init__(f"{operation}: no complete answer within the attempt's {bound_seconds:.3f} s; its outcome is unknown")
        self.operation = operation
        self.bound_seconds = bound_seconds


class UnverifiedResponse(BudgetError):
    """A success answer the client cannot vouch for (cut short, empty, failing its checksum); the request may have taken effect."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"{operation}: the answer cannot be trusted ({reason})")
        self.operation = operation
        self.reason = reason


def error_class(exc: BaseException) -> ErrorClass:
    """What ``exc`` means for another attempt (``orders_core.aws_errors``).

    A service's answer is classified by its code; the budget's own failures, timeouts and
    connection failures are ``RETRY``; anything else (``ParamValidationError``, missing
    credentials, a bug) is ``CLIENT``.
    """
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError):
        return classify_client_error(exc)
    if isinstance(exc, (BudgetError, ConnectionError, HTTPClientError, ResponseParserError)):
        # ReadTimeoutError, ConnectionClosedError (HTTPClientError); EndpointConnectionError,
        # ConnectTimeoutError (ConnectionError); an answer cut short that botocore cannot parse.
        return ErrorClass.RETRY
    return ErrorClass.CLIENT


def is_retryable(exc: BaseException) -> bool:
    """True for throttling, AWS-side faults, timeouts, connection failures and the budget's own failures."""
    return error_class(exc) in (ErrorClass.THROTTLE, ErrorClass.RETRY)


def is_throttle(exc: BaseException) -> bool:
    """True when the service (or KMS behind it) refused the request for rate."""
    return error_class(exc) is ErrorClass.THROTTLE


def outcome_unknown(exc: BaseException) -> bool:
    """True when the failed attempt may have taken effect.

    Known not to have: a refusal with an error code (throttle, the request's fault, the
    deployment's), a connection that was never made, a call that was not made (``DeadlineExceeded``).
    Unknown: an AWS-side fault (5xx), a timeout or a connection cut after the request was sent,
    an answer that cannot be vouched for.
    """
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    if isinstance(exc, (DeadlineExceeded, ConnectTimeoutError, EndpointConnectionError)):
        return False
    if isinstance(exc, ClientError):
        return classify_client_error(exc) is ErrorClass.RETRY
    return error_class(exc) is ErrorClass.RETRY


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
    resends_after_unknown_outcome: int = 1
    """For an operation unsafe to repeat (``UNSAFE_TO_REPEAT``): attempts allowed after the first
    one whose outcome is unknown. 1: the order may be queued twice (the processor stores it once),
    never three times."""
    backoff_base_seconds: float = 0.05
    """Pause before the 2nd attempt is uniform in [0, base]; it doubles per attempt (full jitter)."""
    backoff_max_seconds: float = 1.0
    """Upper bound of one pause."""

    def connect_timeout(self, read_timeout: float) -> float:
        """Connect timeout of the rung with ``read_timeout``."""
        return min(self.connect_timeout_seconds, read_timeout)

    def attempt_bound(self, read_timeout: float) -> float:
        """Longest an attempt on that rung may take, wall clock: connect plus read timeout (enforced by ``BudgetedClient``)."""
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
        return rng() * min(self.backoff_max_seconds, self.backoff_base_seconds * 2.0 ** (attempt - 1))


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
    def after(cls, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: Any, *, margin_seconds: float) -> Deadline | None:
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
        unsafe_to_repeat: frozenset[str] = frozenset(),
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._make_client = make_client
        self._policy = policy
        self._unsafe_to_repeat = unsafe_to_repeat
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
        unsafe = operation in self._unsafe_to_repeat
        attempt = 0
        resends: int | None = None  # attempts made after the first unknown outcome (None: none yet)
        while True:
            attempt += 1
            remaining = deadline.remaining() if deadline is not None else None
            read = policy.rung_for(remaining)
            if read is None:
                raise DeadlineExceeded(operation, remaining)
            try:
                return self._attempt(read, operation, args, kwargs)
            except Exception as exc:
                if resends is not None:
                    resends += 1
                elif outcome_unknown(exc):
                    resends = 0
                if attempt >= policy.max_attempts or not is_retryable(exc):
                    raise
                if unsafe and resends is not None and resends >= policy.resends_after_unknown_outcome:
                    raise  # it may have taken effect already: never send it a third time
                pause = policy.backoff(attempt, self._rng)
                shortest = policy.attempt_bound(policy.attempt_timeouts_seconds[-1])
                if deadline is not None and deadline.remaining() - pause < shortest:
                    raise  # no attempt would fit after the pause: report the real failure now
                self._sleep(pause)

    def _attempt(self, read: float, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One attempt on the rung ``read``, on a worker thread; ``AttemptTimedOut`` at the rung's wall-clock bound."""
        bound = self._policy.attempt_bound(read)
        method = getattr(self.rung(read), operation)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = method(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 -- handed to the caller, whatever it is
                outcome["error"] = exc
            finally:
                finished.set()

        # The caller's context variables (its deadline, a test's scope) go with the attempt.
        worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=f"aws-{operation}", daemon=True)
        worker.start()
        if not finished.wait(bound):
            raise AttemptTimedOut(operation, bound)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]
