"""Domain errors with a stable machine code; the API handler maps each class to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (``items[0].quantity``) and what (``must be >= 1``)."""

    path: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        """The ``details`` entry of an error body."""
        return {"path": self.path, "problem": self.problem}


class OrderError(Exception):
    """Base class: ``code`` names the error for clients, ``message`` explains it, ``details`` list problems."""

    code = "BadRequest"

    def __init__(self, message: str, details: tuple[Problem, ...] | list[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)


class InvalidJson(OrderError):
    """The body is not strict JSON (or not UTF-8, or empty)."""

    code = "InvalidJson"


class ValidationFailed(OrderError):
    """The JSON does not satisfy the order schema or a business rule."""

    code = "ValidationError"


class InvalidParameter(OrderError):
    """A path or query parameter (id, limit, nextToken) is malformed."""

    code = "InvalidParameter"


class PayloadTooLarge(OrderError):
    """The order would not fit in one SQS message."""

    code = "PayloadTooLarge"


class NotFound(OrderError):
    """No such order."""

    code = "NotFound"


class OrderConflict(OrderError):
    """The orderId is already stored with a different order (the idempotency key was reused)."""

    code = "OrderConflict"


class PoisonMessage(ValueError):
    """A queue message that can never be processed (bad JSON, invalid order); retrying will not help."""


class ConflictingOrder(PoisonMessage):
    """A queued order whose orderId is already stored with different content: it can never be stored.

    The record fails on every receive, so SQS moves it to the DLQ after ``maxReceiveCount``
    receives; the reason is logged with its messageId each time, and ``OrderConflicts`` counts it.
    """

    def __init__(self, order_id: str, fingerprint: str, stored_fingerprint: str) -> None:
        super().__init__(f"order {order_id!r} is already stored with different content (stored {stored_fingerprint}, this message {fingerprint}); it is not stored, not published, and goes to the DLQ")
        self.order_id = order_id
        self.fingerprint = fingerprint
        self.stored_fingerprint = stored_fingerprint


class DownstreamError(Exception):
    """An AWS dependency failed; ``retryable`` tells throttling/outages (503) from other faults (500).

    ``throttled``: the service (or KMS behind it) refused the call for rate. ``outcome_unknown``:
    the call may have taken effect although it failed (a timeout or cut connection after it was
    sent, a 5xx): for ``SQS SendMessage``, the order may be on the queue.
    """

    def __init__(self, operation: str, error_code: str, *, retryable: bool, throttled: bool = False, outcome_unknown: bool = False) -> None:
        super().__init__(f"{operation} failed: {error_code}")
        self.operation = operation
        self.error_code = error_code
        self.retryable = retryable
        self.throttled = throttled
        self.outcome_unknown = outcome_unknown
