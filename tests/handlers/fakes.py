"""In-memory adapters with the same behaviour as the real ones (conditional put, GSI order, failures)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from orders_core.adapters import EventEntry, PutOutcome
from orders_core.errors import DownstreamError


class FakeQueue:
    """``OrderQueue`` that records messages; ``fail_with`` makes ``send`` raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.fail_with: Exception | None = None

    def send(self, body: str, attributes: Mapping[str, str]) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((body, dict(attributes)))
        return f"msg-{len(self.sent)}"


class FakeRepository:
    """``OrderRepository`` on a dict; counts calls per operation."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, int] = {"put_new": 0, "get": 0, "query_customer": 0, "mark_published": 0, "unpublished": 0}
        self.unpublished_fails_with: Exception | None = None
        self.put_fails_with: Exception | None = None
        self.mark_fails_with: Exception | None = None
        self.marked: list[list[str]] = []

    def put_new(self, item: Mapping[str, Any]) -> PutOutcome:
        self.calls["put_new"] += 1
        if self.put_fails_with is not None:
            raise self.put_fails_with
        key = item["orderId"]
        if key in self.items:
            return PutOutcome(created=False, existing=copy.deepcopy(self.items[key]))
        self.items[key] = copy.deepcopy(dict(item))
        return PutOutcome(created=True)

    def get(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        self.calls["get"] += 1
        item = self.items.get(order_id)
        return copy.deepcopy(item) if item else None

    def query_customer(self, customer_id: str, *, limit: int, start_key: Mapping[str, str] | None):
        self.calls["query_customer"] += 1
        rows = sorted(
            (i for i in self.items.values() if i["customerId"] == customer_id),
            key=lambda i: (i["timestamp"], i["orderId"]),
            reverse=True,
        )
        if start_key:
            position = (start_key["timestamp"], start_key["orderId"])
            rows = [r for r in rows if (r["timestamp"], r["orderId"]) < position]
        page = rows[:limit]
        last = None
        if len(rows) > limit:
            tail = page[-1]
            last = {"orderId": tail["orderId"], "customerId": tail["customerId"], "timestamp": tail["timestamp"]}
        return copy.deepcopy(page), last

    def mark_published(self, order_ids: Sequence[str]) -> None:
        self.calls["mark_published"] += 1
        if self.mark_fails_with is not None:
            raise self.mark_fails_with
        self.marked.append(list(order_ids))
        for order_id in order_ids:
            self.items[order_id]["eventPublished"] = True
            self.items[order_id].pop("unpublishedShard", None)

    def unpublished(self, shard: str, *, created_before: str, limit: int, start_key: Mapping[str, str] | None):
        """The sparse index: items holding ``unpublishedShard == shard`` and ``createdAt < created_before``, oldest first."""
        self.calls["unpublished"] += 1
        if self.unpublished_fails_with is not None:
            raise self.unpublished_fails_with
        rows = sorted(
            (i for i in self.items.values() if i.get("unpublishedShard") == shard and i["createdAt"] < created_before),
            key=lambda i: (i["createdAt"], i["orderId"]),
        )
        if start_key:
            rows = [r for r in rows if (r["createdAt"], r["orderId"]) > (start_key["createdAt"], start_key["orderId"])]
        page = rows[:limit]
        last = None
        if len(rows) > limit:
            tail = page[-1]
            last = {"orderId": tail["orderId"], "unpublishedShard": shard, "createdAt": tail["createdAt"]}
        return copy.deepcopy(page), last


class FakePublisher:
    """``EventPublisher`` that records entries; ``fail_ids`` / ``fail_call`` simulate failures."""

    def __init__(self) -> None:
        self.calls: list[list[EventEntry]] = []
        self.fail_ids: set[str] = set()
        self.fail_call = False

    @property
    def published(self) -> list[EventEntry]:
        """Every entry that was published successfully."""
        return [e for call in self.calls for e in call if e.entry_id not in self.fail_ids and not self.fail_call]

    def publish(self, entries: Sequence[EventEntry]) -> dict[str, str]:
        self.calls.append(list(entries))
        if self.fail_call:
            return {e.entry_id: "boom" for e in entries}
        return {e.entry_id: "InternalError: boom" for e in entries if e.entry_id in self.fail_ids}


def downstream(retryable: bool = True) -> DownstreamError:
    """A DownstreamError as an adapter would raise it."""
    return DownstreamError("SQS SendMessage", "ServiceUnavailable" if retryable else "AccessDenied", retryable=retryable)
