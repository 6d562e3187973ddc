"""Order logic of both functions, on injected adapters (no boto3 here).

``OrderApiService``: accept, read and list orders (API handler).
``OrderProcessingService``: store one queued order, then publish a batch's events (processor), and
publish the events of stored orders that never got out (the event sweep).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orders_core import jsonutil
from orders_core.adapters import EventEntry, EventPublisher, OrderQueue, OrderRepository
from orders_core.errors import (
    ConflictingOrder,
    InvalidJson,
    InvalidParameter,
    NotFound,
    OrderConflict,
    PayloadTooLarge,
    PoisonMessage,
    Problem,
)
from orders_core.model import (
    EVENT_ORDER_PROCESSED,
    EVENT_ORDER_SUBMITTED,
    ID_PATTERN,
    UNPUBLISHED_SHARDS,
    Order,
    format_timestamp,
    order_event,
    public_view,
    stored_fingerprint,
    utc_now,
)
from orders_core.pagination import decode_token, encode_token, parse_limit
from orders_core.validation import parse_order, parse_queued_order

#: SQS's maximum message size (body + message attributes), bytes. Mirrors
#: ``pipeline_config.settings.SQS_MAX_MESSAGE_BYTES`` (the Lambda package cannot import it).
SQS_MAX_MESSAGE_BYTES = 262_144

Clock = Callable[[], str]


def sqs_message_size(body: str, attributes: dict[str, str]) -> int:
    """Bytes SQS counts against its limit: the body plus each attribute's name, type and value."""
    size = len(body.encode("utf-8"))
    for name, value in attributes.items():
        size += len(name.encode("utf-8")) + len("String") + len(value.encode("utf-8"))
    return size


def _valid_id(value: str, name: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidParameter(
            f"{name} is malformed",
            [Problem(name, "must be 1-64 letters, digits, '_' or '-', starting with a letter or digit")],
        )
    return value


@dataclass(frozen=True)
class AcceptedOrder:
    """An order that is on the queue, or was already stored with the same content (a safe retry)."""

    order: Order
    message_id: str | None
    """The SQS message id; None when nothing was sent because the same order is already stored and published."""
    already_stored: bool = False
    requeued_for_event: bool = False
    """The same order is stored but its event was never confirmed: it was sent again, so the
    processor publishes the event from the stored order."""


class OrderApiService:
    """What the REST API does, independent of API Gateway's event format."""

    def __init__(self, *, queue: OrderQueue, repository: OrderRepository, clock: Clock = utc_now, check_stored: bool = True) -> None:
        self._queue = queue
        self._repository = repository
        self._clock = clock
        self._check_stored = check_stored

    def _stored_twin(self, order: Order) -> dict[str, Any] | None:
        """The same order if it is stored already (None when nothing is); ``OrderConflict`` when a different one is.

        One strongly consistent GetItem. It cannot see an order that is still in flight (on the
        queue, not yet stored): two different orders with one orderId submitted within that
        window are both accepted, and the processor fails the second one on its conditional
        write, to the DLQ, counted by the ``OrderConflicts`` metric.
        """
        existing = self._repository.get(order.order_id, consistent=True)
        if existing is None:
            return None
        if stored_fingerprint(existing) == order.fingerprint:
            return existing
        raise OrderConflict(
            f"order {order.order_id!r} already exists with different content; nothing was accepted",
            [Problem("orderId", f"{order.order_id} is already used by another order: send a new orderId for a new order, or the original content to retry")],
        )

    def submit(self, raw_body: bytes) -> AcceptedOrder:
        """Validate a POST /orders body and enqueue it; nothing is sent unless the order is valid and new.

        The orderId is an idempotency key: the same order already stored is accepted again without
        sending anything, unless its event was never confirmed published (then it is sent again, so
        the processor publishes it); a different order already stored under that orderId is an
        ``OrderConflict``.
        """
        if len(raw_body) > SQS_MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"the request body is {len(raw_body)} bytes; an order must fit in {SQS_MAX_MESSAGE_BYTES} bytes")
        if not raw_body.strip():
            raise InvalidJson("the request body is empty; send the order as a JSON object")
        try:
            payload = jsonutil.loads(raw_body)
        except jsonutil.JsonDecodeError as exc:
            raise InvalidJson(f"the request body is not valid JSON: {exc}") from None
        order = parse_order(payload, timestamp=self._clock())
        body = jsonutil.dumps(order.to_message())
        attributes = {"orderId": order.order_id, "customerId": order.customer_id, "eventType": EVENT_ORDER_SUBMITTED}
        size = sqs_message_size(body, attributes)
        if size > SQS_MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"the order needs {size} bytes on the queue; the limit is {SQS_MAX_MESSAGE_BYTES}")
        stored = self._stored_twin(order) if self._check_stored else None
        if stored is None:
            return AcceptedOrder(order=order, message_id=self._queue.send(body, attributes))
        if stored.get("eventPublished") is True:
            return AcceptedOrder(order=order, message_id=None, already_stored=True)
        # Stored, event never confirmed: the processor stores nothing new (conditional write) and
        # publishes the event from the stored item.
        return AcceptedOrder(order=order, message_id=self._queue.send(body, attributes), already_stored=True, requeued_for_event=True)

    def get(self, order_id: str) -> dict[str, Any]:
        """The stored order; ``NotFound`` if there is none (yet)."""
        item = self._repository.get(_valid_id(order_id, "orderId"))
        if item is None:
            raise NotFound(f"order {order_id!r} was not found; an order accepted moments ago appears once it has been processed")
        return public_view(item)

    def list_for_customer(self, customer_id: str, *, limit: str | None = None, next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a customer's orders, newest first, and the token of the next page (None on the last)."""
        _valid_id(customer_id, "customerId")
        page_size = parse_limit(limit)
        start = decode_token(next_token, customer_id=customer_id) if next_token else None
        # Ask for one more than the page: then a token is returned only when a next page exists.
        items, last_key = self._repository.query_customer(customer_id, limit=page_size + 1, start_key=start)
        if len(items) > page_size:
            items = items[:page_size]
            last = items[-1]
            token: str | None = encode_token({"orderId": last["orderId"], "customerId": last["customerId"], "timestamp": last["timestamp"]})
        else:
            # Fewer than asked: either the end, or DynamoDB's 1 MB page cut; only the latter has a key.
            token = encode_token(last_key) if last_key else None
        return [public_view(item) for item in items], token


@dataclass(frozen=True)
class StoredOrder:
    """Outcome of storing one queued order: the event still to publish (None: nothing to do)."""

    order_id: str
    event: dict[str, Any] | None
    created: bool


@dataclass
class PublishOutcome:
    """Outcome of publishing a batch's events."""

    failed: dict[str, str] = field(default_factory=dict)
    """orderId -> reason, for every order whose event was NOT published (its records must be retried)."""
    published: list[str] = field(default_factory=list)
    """orderIds whose event was published."""
    mark_error: str | None = None
    """Why marking ``eventPublished`` failed, if it did (harmless: a redelivery re-publishes)."""


def _sent_timestamp(sent_timestamp_ms: str | int | None, clock: Clock) -> str:
    try:
        return format_timestamp(datetime.fromtimestamp(int(sent_timestamp_ms) / 1000, tz=UTC))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return clock()


class OrderProcessingService:
    """Store orders exactly once and publish their events at least once."""

    def __init__(self, *, repository: OrderRepository, publisher: EventPublisher, clock: Clock = utc_now) -> None:
        self._repository = repository
        self._publisher = publisher
        self._clock = clock

    def store(self, body: str, *, sent_timestamp_ms: str | int | None = None) -> StoredOrder:
        """Validate and conditionally store one queued order; ``PoisonMessage`` if it never can be.

        Already stored with the same fingerprint: a duplicate delivery or a retry (its event is
        re-published if it was not confirmed). With a different fingerprint: ``ConflictingOrder``.
        """
        try:
            payload = jsonutil.loads(body)
        except jsonutil.JsonDecodeError as exc:
            raise PoisonMessage(f"message body is not valid JSON: {exc}") from None
        order = parse_queued_order(payload, fallback_timestamp=_sent_timestamp(sent_timestamp_ms, self._clock))
        item = order.to_item(created_at=self._clock())
        outcome = self._repository.put_new(item)
        if outcome.created:
            return StoredOrder(order.order_id, order_event(item), created=True)
        existing = outcome.existing
        if existing is None:
            # Condition failed but the item is gone (deleted in between): let SQS retry.
            raise RuntimeError(f"order {order.order_id!r} exists per the condition check but could not be read")
        if stored_fingerprint(existing) != order.fingerprint:
            # Another order holds this orderId: never overwrite it, never drop this one silently.
            raise ConflictingOrder(order.order_id, order.fingerprint, stored_fingerprint(existing))
        if existing.get("eventPublished") is True:
            return StoredOrder(order.order_id, None, created=False)
        # Stored before, event not (yet) confirmed: publish again, from the stored item.
        return StoredOrder(order.order_id, order_event(existing), created=False)

    def publish(self, stored: Sequence[StoredOrder]) -> PublishOutcome:
        """Publish the pending events (once per orderId), then mark them published in one call."""
        events: dict[str, dict[str, Any]] = {}
        for result in stored:
            if result.event is not None:
                events.setdefault(result.order_id, result.event)
        outcome = PublishOutcome()
        if not events:
            return outcome
        order_ids = list(events)
        # Entry ids are positions: unique per call and always valid SNS ids.
        entries = [EventEntry(entry_id=f"e{index}", message=jsonutil.dumps(events[order_id]), attributes={"eventType": EVENT_ORDER_PROCESSED}) for index, order_id in enumerate(order_ids)]
        failed_entries = self._publisher.publish(entries)
        for index, order_id in enumerate(order_ids):
            reason = failed_entries.get(f"e{index}")
            if reason is None:
                outcome.published.append(order_id)
            else:
                outcome.failed[order_id] = reason
        if outcome.published:
            try:
                self._repository.mark_published(outcome.published)
            except Exception as exc:  # noqa: BLE001 -- at-least-once: a redelivery would only publish again
                outcome.mark_error = str(exc) or type(exc).__name__
        return outcome


@dataclass
class SweepOutcome:
    """What one run of the event sweep did."""

    found: int = 0
    """Stored orders past the minimum age whose event was not confirmed."""
    published: list[str] = field(default_factory=list)
    """orderIds whose event the sweep published (and marked)."""
    failed: dict[str, str] = field(default_factory=dict)
    """orderId -> why its event is still not published."""
    mark_errors: list[str] = field(default_factory=list)
    """Why marking published events failed (they stay in the index: the next run publishes again)."""
    stopped: str | None = None
    """Why the run stopped before reading every partition (time, ``max_orders``); the next run goes on."""
    read_error: str | None = None
    """Why reading the index failed, if it did (the run stopped there)."""

    @property
    def still_unpublished(self) -> int:
        """Orders found whose event is still not out after this run (the ``UnpublishedEvents`` metric)."""
        return len(self.failed)


def sweep_cutoff(now: datetime, min_age_seconds: int) -> str:
    """The ``createdAt`` before which an unpublished order is the sweep's to publish."""
    return format_timestamp(now - timedelta(seconds=min_age_seconds))


class EventSweepService:
    """Publishes the events of stored orders that never got out (``eventPublished`` false), oldest first.

    The processor publishes each order's event in the invocation that stores it; when SNS fails
    there on every receive, the message ends in the DLQ while the order stays stored and pending
    in the sparse ``UnpublishedIndex``. The sweep runs on a schedule, finds those older than the
    minimum age (so it does not race the processor's own publish), and publishes and marks them
    with the processor's own ``OrderProcessingService.publish``: once SNS recovers, every stored
    order's event goes out at least once, without anyone redriving anything.
    """

    def __init__(self, *, repository: OrderRepository, publisher: EventPublisher, page_size: int = 100) -> None:
        self._repository = repository
        self._publishing = OrderProcessingService(repository=repository, publisher=publisher)
        self._page_size = page_size

    def sweep(self, *, created_before: str, max_orders: int = 1000, out_of_time: Callable[[], bool] = lambda: False) -> SweepOutcome:
        """One pass over every partition, at most ``max_orders`` orders, while ``out_of_time()`` is false.

        A failing read stops the pass (``read_error``), never raises: what was published stays published.
        """
        outcome = SweepOutcome()
        for shard in (str(n) for n in range(UNPUBLISHED_SHARDS)):
            start: dict[str, str] | None = None
            while True:
                if outcome.found >= max_orders or out_of_time():
                    outcome.stopped = f"stopped after {outcome.found} orders ({'max_orders' if outcome.found >= max_orders else 'out of time'}); the next run continues"
                    return outcome
                try:
                    items, start = self._repository.unpublished(shard, created_before=created_before, limit=min(self._page_size, max_orders - outcome.found), start_key=start)
                except Exception as exc:  # noqa: BLE001 -- the next run starts over; say why this one stopped
                    outcome.read_error = f"reading partition {shard} of the unpublished index failed: {exc}"
                    return outcome
                self._publish_page(items, outcome)
                if start is None:
                    break
        return outcome

    def _publish_page(self, items: Sequence[dict[str, Any]], outcome: SweepOutcome) -> None:
        pending = [StoredOrder(str(item["orderId"]), order_event(item), created=False) for item in items if item.get("eventPublished") is not True]
        outcome.found += len(pending)
        if not pending:
            return
        published = self._publishing.publish(pending)
        outcome.published += published.published
        outcome.failed.update(published.failed)
        if published.mark_error:
            outcome.mark_errors.append(published.mark_error)
