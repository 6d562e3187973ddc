"""Totals with Decimal, the stored and published shapes, and exact JSON numbers."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest

from orders_core import jsonutil
from orders_core.model import FINGERPRINT_ATTRIBUTE, Order, OrderLine, format_timestamp, is_timestamp, order_event, order_fingerprint, public_view, stored_fingerprint
from orders_core.validation import parse_order

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
    from datetime import datetime

    early = format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=UTC))
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


# ---------------------------------------------------------------- fingerprint (idempotency key semantics)


def parsed(body: str):
    return parse_order(jsonutil.loads(body), timestamp=TS)


SAME = [
    '{"orderId":"o-1","customerId":"c-1","items":[{"productId":"a","quantity":2,"unitPrice":19.9},{"productId":"b","quantity":1,"unitPrice":5}]}',
    # keys reordered, whitespace, lines reordered, 19.90 for 19.9, 5.00 for 5, the default currency spelled out
    ('{ "customerId": "c-1", "currency": "USD", "items": [ {"unitPrice": 5.00, "quantity": 1, "productId": "b"}, {"productId": "a", "unitPrice": 19.90, "quantity": 2} ], "orderId": "o-1" }'),
]
DIFFERENT = [
    '{"orderId":"o-1","customerId":"c-2","items":[{"productId":"a","quantity":2,"unitPrice":19.9},{"productId":"b","quantity":1,"unitPrice":5}]}',
    '{"orderId":"o-1","customerId":"c-1","items":[{"productId":"a","quantity":3,"unitPrice":19.9},{"productId":"b","quantity":1,"unitPrice":5}]}',
    '{"orderId":"o-1","customerId":"c-1","items":[{"productId":"a","quantity":2,"unitPrice":19.91},{"productId":"b","quantity":1,"unitPrice":5}]}',
    '{"orderId":"o-1","customerId":"c-1","currency":"EUR","items":[{"productId":"a","quantity":2,"unitPrice":19.9},{"productId":"b","quantity":1,"unitPrice":5}]}',
    '{"orderId":"o-1","customerId":"c-1","items":[{"productId":"a","quantity":2,"unitPrice":19.9}]}',
    '{"orderId":"o-2","customerId":"c-1","items":[{"productId":"a","quantity":2,"unitPrice":19.9},{"productId":"b","quantity":1,"unitPrice":5}]}',
]


def test_the_fingerprint_ignores_form_and_sees_content():
    reference = parsed(SAME[0]).fingerprint
    assert reference.startswith("v1:") and len(reference) == 3 + 64
    assert all(parsed(body).fingerprint == reference for body in SAME)
    assert len({parsed(body).fingerprint for body in DIFFERENT} | {reference}) == len(DIFFERENT) + 1


def test_the_fingerprint_is_not_fooled_by_field_boundaries():
    # "ab" + "c" and "a" + "bc" must differ: every field is quoted and escaped in the canonical form.
    assert order_fingerprint("o", "ab", "USD", [("c", 1, 1)]) != order_fingerprint("o", "a", "USD", [("bc", 1, 1)])
    assert order_fingerprint("o", 'a","b', "USD", []) != order_fingerprint("o", "a", "USD", [("b", 1, 1)])


def test_the_stored_item_carries_the_fingerprint_and_hides_it():
    order = parsed(SAME[0])
    item = order.to_item(created_at=TS)
    assert item[FINGERPRINT_ATTRIBUTE] == order.fingerprint == stored_fingerprint(item)
    assert FINGERPRINT_ATTRIBUTE not in public_view(item) and FINGERPRINT_ATTRIBUTE not in order_event(item)


def test_items_written_before_the_fingerprint_existed_get_it_computed_from_their_fields():
    order = parsed(SAME[1])
    legacy = order.to_item(created_at=TS)
    del legacy[FINGERPRINT_ATTRIBUTE]
    # As DynamoDB returns it: every number a Decimal.
    legacy["items"] = [{"productId": item["productId"], "quantity": Decimal(item["quantity"]), "unitPrice": item["unitPrice"]} for item in legacy["items"]]
    assert stored_fingerprint(legacy) == parsed(SAME[0]).fingerprint
    assert stored_fingerprint(legacy) != parsed(DIFFERENT[1]).fingerprint
