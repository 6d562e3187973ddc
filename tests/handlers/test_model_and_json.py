"""Totals with Decimal, the stored and published shapes, and exact JSON numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders_core import jsonutil
from orders_core.model import Order, OrderLine, format_timestamp, is_timestamp, order_event, public_view

TS = "2026-11-28T22:44:40.123456Z"


def make_order(*lines):
    return Order("o-1", "c-1", "USD", tuple(OrderLine(f"p{i}", q, Decimal(p)) for i, (q, p) in enumerate(lines)), TS)


def test_totals_are_exact_decimals_with_two_places():
    # 0.1 + 0.2 is the classic float trap; 3 x 0.10 + 1 x 0.20 must be exactly 0.50.
    order = make_order((3, "0.10"), (1, "0.20"))
    assert order.total_amount == Decimal("0.50")
    assert str(order.total_amount) == "0.50"
    assert order.item_count == 4


def test_totals_stay_exact_at_the_limits():
    order = make_order(*[(1_000_000, "999999999.99")] * 100)
    assert order.total_amount == Decimal("99999999999000000.00")


def test_item_has_the_documented_layout():
    item = make_order((2, "19.99")).to_item(created_at="2026-11-28T22:44:41.000000Z")
    assert item["orderId"] == "o-1" and item["customerId"] == "c-1" and item["timestamp"] == TS
    assert item["items"] == [{"productId": "p0", "quantity": 2, "unitPrice": Decimal("19.99")}]
    assert item["totalAmount"] == Decimal("39.98") and item["itemCount"] == 2
    assert item["status"] == "PROCESSED" and item["eventPublished"] is False


def test_event_and_public_view_come_from_the_stored_item():
    item = make_order((1, "1.00")).to_item(created_at=TS)
    event = order_event(item)
    assert event["eventType"] == "OrderProcessed" and event["orderId"] == "o-1"
    assert "eventPublished" not in event and "eventPublished" not in public_view(item)


def test_timestamps_are_fixed_width_and_sortable():
    from datetime import datetime, timezone

    early = format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    late = format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=timezone.utc))
    assert early == "2026-01-02T03:04:05.000000Z" and early < late
    assert is_timestamp(early) and not is_timestamp("2026-01-02T03:04:05Z")


def test_json_round_trip_keeps_decimal_text_exactly():
    text = '{"a":[1,0.10,19.99,1E+2,-0.5],"b":"\\u00e9","c":null,"d":true}'
    value = jsonutil.loads(text)
    assert value["a"][1] == Decimal("0.10")
    assert jsonutil.dumps(value) == '{"a":[1,0.10,19.99,100,-0.5],"b":"\\u00e9","c":null,"d":true}'
    assert jsonutil.dumps({"big": Decimal("99999999999000000.00")}) == '{"big":99999999999000000.00}'


@pytest.mark.parametrize(
    "text",
    ["NaN", '{"a": Infinity}', "-Infinity", "{", "", "[1,]", "1" * 5000, "[" * 100_000 + "]" * 100_000, b"\xff\xfe"],
)
def test_loads_rejects_everything_that_is_not_strict_json(text):
    with pytest.raises(jsonutil.JsonDecodeError):
        jsonutil.loads(text)


def test_dumps_refuses_non_finite_and_unknown_values():
    with pytest.raises(ValueError):
        jsonutil.dumps(Decimal("NaN"))
    with pytest.raises(TypeError):
        jsonutil.dumps(object())
