"""The order domain: limits, the ``Order`` value object, totals, and the stored/published shapes."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: orderId / customerId / path ids: the schema's pattern, matched in FULL (Python's ``$`` would
#: also accept a trailing newline, which must never reach a key or a Location header).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Business rules the JSON schema cannot express.
MAX_ITEMS = 100
#: Upper bounds keep every stored number exact and far inside DynamoDB's 38-digit range.
MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = Decimal("1000000000")
PRICE_PLACES = 2
CENT = Decimal("0.01")
DEFAULT_CURRENCY = "USD"
STATUS_PROCESSED = "PROCESSED"
EVENT_ORDER_SUBMITTED = "OrderSubmitted"
EVENT_ORDER_PROCESSED = "OrderProcessed"
EVENT_VERSION = "1.0"
#: Fixed width (always microseconds, always ``Z``), so timestamps sort as strings in the GSI.
TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


#: Stored attribute holding the order's fingerprint (bookkeeping: never returned, never published).
FINGERPRINT_ATTRIBUTE = "orderFingerprint"
#: Stored attribute set while an order's event is not yet confirmed published, removed when it is:
#: the partition key of the sparse ``UnpublishedIndex`` the event sweep queries (bookkeeping).
UNPUBLISHED_SHARD_ATTRIBUTE = "unpublishedShard"
#: The sort key of that index: when the processor stored the order.
CREATED_AT_ATTRIBUTE = "createdAt"
#: Partitions of the sparse index. One would take every store and every "published" of the table
#: (two index writes per order) on one index partition; four spread them, and the sweep queries
#: each (four small queries per run).
UNPUBLISHED_SHARDS = 4


def unpublished_shard(order_id: str) -> str:
    """The sparse index partition of an order: stable (CRC32 of the orderId), ``"0"``..``"3"``."""
    return str(zlib.crc32(order_id.encode("utf-8")) % UNPUBLISHED_SHARDS)


#: Prefix naming the canonical form; a new form gets a new prefix, so old fingerprints stay comparable.
FINGERPRINT_VERSION = "v1"


def order_fingerprint(order_id: str, customer_id: str, currency: str, lines: Iterable[tuple[str, Any, Any]]) -> str:
    """Fingerprint of an order's content: what makes two submissions of one orderId "the same order".

    Canonical form: orderId, customerId, currency and the lines sorted by productId (the handler
    rejects duplicate productIds, so lines are a set), each quantity as an integer and each unit
    price to the cent. Key order, whitespace, line order, ``19.9`` vs ``19.90`` and an omitted vs
    explicit default currency do not change it; the server-stamped ``timestamp`` is not part of it.
    """
    canonical = [
        FINGERPRINT_VERSION,
        order_id,
        customer_id,
        currency,
        sorted((product_id, int(quantity), format(Decimal(unit_price).quantize(CENT), "f")) for product_id, quantity, unit_price in lines),
    ]
    # ASCII-only compact JSON: unambiguous (strings quoted and escaped), the same on every runtime.
    text = json.dumps(canonical, ensure_ascii=True, separators=(",", ":"))
    return f"{FINGERPRINT_VERSION}:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def stored_fingerprint(item: Mapping[str, Any]) -> str:
    """The fingerprint of a stored order: its attribute, or computed from its fields for items written before it existed."""
    fingerprint = item.get(FINGERPRINT_ATTRIBUTE)
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint
    lines = [(line["productId"], line["quantity"], line["unitPrice"]) for line in item.get("items", [])]
    return order_fingerprint(str(item.get("orderId", "")), str(item.get("customerId", "")), str(item.get("currency", DEFAULT_CURRENCY)), lines)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds, e.g. ``2026-11-28T22:44:40.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    """The current time as a ``format_timestamp`` string (the default clock)."""
    return format_timestamp(datetime.now(UTC))


def is_timestamp(value: Any) -> bool:
    """True for a well-formed ``format_timestamp`` string that is a real date and time."""
    if not isinstance(value, str) or not TIMESTAMP_PATTERN.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")  # the pattern's trailing Z: %z reads it as UTC
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class OrderLine:
    """One line of an order."""

    product_id: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        """quantity x unitPrice, exact."""
        return self.unit_price * self.quantity

    def as_dict(self) -> dict[str, Any]:
        """The wire/stored shape of the line."""
        return {"productId": self.product_id, "quantity": self.quantity, "unitPrice": self.unit_price}


@dataclass(frozen=True)
class Order:
    """A validated order, stamped with the server-side submission ``timestamp``."""

    order_id: str
    customer_id: str
    currency: str
    items: tuple[OrderLine, ...]
    timestamp: str

    @property
    def total_amount(self) -> Decimal:
        """Sum of the line totals, in currency units with 2 decimals (exact: prices have <= 2)."""
        return sum((line.line_total for line in self.items), Decimal(0)).quantize(CENT)

    @property
    def fingerprint(self) -> str:
        """``order_fingerprint`` of this order (the idempotency check compares it with the stored one)."""
        return order_fingerprint(self.order_id, self.customer_id, self.currency, ((item.product_id, item.quantity, item.unit_price) for item in self.items))

    @property
    def item_count(self) -> int:
        """Number of units ordered (sum of the quantities)."""
        return sum(line.quantity for line in self.items)

    def to_message(self) -> dict[str, Any]:
        """Body of the SQS message: the order as submitted plus the server's ``timestamp``."""
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "currency": self.currency,
            "items": [line.as_dict() for line in self.items],
            "timestamp": self.timestamp,
        }

    def to_item(self, *, created_at: str) -> dict[str, Any]:
        """The DynamoDB item (plain Python values; the adapter serializes them)."""
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "timestamp": self.timestamp,
            "currency": self.currency,
            "items": [line.as_dict() for line in self.items],
            "itemCount": self.item_count,
            "totalAmount": self.total_amount,
            "status": STATUS_PROCESSED,
            "eventPublished": False,
            CREATED_AT_ATTRIBUTE: created_at,
            FINGERPRINT_ATTRIBUTE: self.fingerprint,
            UNPUBLISHED_SHARD_ATTRIBUTE: unpublished_shard(self.order_id),
        }


#: Stored attributes that are bookkeeping, not part of the order a client sees.
_INTERNAL_ATTRIBUTES = frozenset({"eventPublished", FINGERPRINT_ATTRIBUTE, UNPUBLISHED_SHARD_ATTRIBUTE})
_EVENT_ATTRIBUTES = ("orderId", "customerId", "timestamp", "currency", "items", "itemCount", "totalAmount", "status", "createdAt")


def public_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored order as the API returns it (bookkeeping attributes removed)."""
    return {key: value for key, value in item.items() if key not in _INTERNAL_ATTRIBUTES}


def order_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """The OrderProcessed event, built from the STORED item (so a re-publish sends the same content)."""
    event: dict[str, Any] = {"eventType": EVENT_ORDER_PROCESSED, "eventVersion": EVENT_VERSION}
    event.update({key: item[key] for key in _EVENT_ATTRIBUTES if key in item})
    return event
