"""Order validation: the schema file plus every business rule, on plain JSON values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders_core import jsonutil
from orders_core.errors import PoisonMessage, ValidationFailed
from orders_core.model import MAX_ITEMS, MAX_QUANTITY
from orders_core.validation import parse_order, parse_queued_order

TS = "2026-11-28T22:44:40.123456Z"


def order(**overrides):
    body = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p-1", "quantity": 2, "unitPrice": Decimal("9.99")}]}
    body.update(overrides)
    return body


def problems_of(payload):
    with pytest.raises(ValidationFailed) as info:
        parse_order(payload, timestamp=TS)
    return {(p.path, p.problem) for p in info.value.details}


def decoded(quantity: str = "1", unit_price: str = "1"):
    """An order whose one item carries the given JSON number texts, parsed by the handlers' JSON reader (the text reaches it verbatim)."""
    return jsonutil.loads(f'{{"orderId":"o","customerId":"c","items":[{{"productId":"p","quantity":{quantity},"unitPrice":{unit_price}}}]}}')


def paths_of(payload):
    return {path for path, _ in problems_of(payload)}


def test_valid_order_is_parsed_with_default_currency_and_server_timestamp():
    # Given a valid body without currency, When parsed
    parsed = parse_order(order(), timestamp=TS)
    # Then
    assert parsed.currency == "USD"
    assert parsed.timestamp == TS
    assert parsed.items[0].unit_price == Decimal("9.99")


@pytest.mark.parametrize(
    "payload, path",
    [
        ([], "body"),
        ("order", "body"),
        (None, "body"),
        ({"customerId": "c", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}]}, "body"),
        (order(items=[]), "items"),
        (order(items=[{"productId": "p", "quantity": 0, "unitPrice": 1}]), "items[0].quantity"),
        (order(items=[{"productId": "p", "quantity": Decimal("1.5"), "unitPrice": 1}]), "items[0].quantity"),
        (order(items=[{"productId": "p", "quantity": True, "unitPrice": 1}]), "items[0].quantity"),
        (order(items=[{"productId": "p", "quantity": 1, "unitPrice": -1}]), "items[0].unitPrice"),
        (order(items=[{"productId": "p", "quantity": 1, "unitPrice": "1.00"}]), "items[0].unitPrice"),
        (order(items=[{"productId": "", "quantity": 1, "unitPrice": 1}]), "items[0].productId"),
        (order(orderId="has space"), "orderId"),
        (order(currency="usd"), "currency"),
        (order(extra=1), "body"),
    ],
)
def test_schema_violations_name_the_offending_path(payload, path):
    assert path in paths_of(payload)


def test_schema_problem_text_is_human_readable():
    found = problems_of(order(items=[{"productId": "p", "quantity": 0, "unitPrice": 1}]))
    assert ("items[0].quantity", "must be bigger than or equal to 1") in found


def test_more_than_100_items_is_rejected():
    items = [{"productId": f"p{i}", "quantity": 1, "unitPrice": 1} for i in range(MAX_ITEMS + 1)]
    assert "items" in paths_of(order(items=items))
    # exactly 100 is fine
    assert len(parse_order(order(items=items[:MAX_ITEMS]), timestamp=TS).items) == MAX_ITEMS


@pytest.mark.parametrize("text", ["0.001", "1e-7", "19.999", "0.1000001", "1.005"])
def test_unit_price_with_more_than_two_decimals_is_rejected_on_its_decimal_text(text):
    payload = decoded(unit_price=text)
    assert "items[0].unitPrice" in paths_of(payload)


@pytest.mark.parametrize("text, expected", [("0.1", "0.10"), ("19.99", "19.99"), ("5", "5.00"), ("1.500", "1.50"), ("1E+2", "100.00"), ("-0", "0.00")])
def test_unit_price_with_at_most_two_decimals_is_accepted_and_canonical(text, expected):
    payload = decoded(unit_price=text)
    assert str(parse_order(payload, timestamp=TS).items[0].unit_price) == expected


def test_float_prices_from_other_callers_are_judged_on_their_shortest_text():
    assert parse_order(order(items=[{"productId": "p", "quantity": 1, "unitPrice": 0.1}]), timestamp=TS).items[0].unit_price == Decimal("0.10")
    assert "items[0].unitPrice" in paths_of(order(items=[{"productId": "p", "quantity": 1, "unitPrice": 0.105}]))


def test_huge_numbers_are_rejected_not_crashing():
    payload = decoded(quantity=str(10**30), unit_price="1e999999")
    assert paths_of(payload) == {"items[0].quantity", "items[0].unitPrice"}
    assert ("items[0].quantity", f"must be <= {MAX_QUANTITY}") in problems_of(payload)


def test_duplicate_product_ids_are_rejected_pointing_at_the_first():
    items = [{"productId": "p", "quantity": 1, "unitPrice": 1}, {"productId": "q", "quantity": 1, "unitPrice": 1}, {"productId": "p", "quantity": 2, "unitPrice": 1}]
    found = problems_of(order(items=items))
    assert [path for path, _ in found] == ["items[2].productId"]
    assert "items[0].productId" in next(iter(found))[1]


def test_every_business_rule_problem_is_reported_at_once():
    items = [
        {"productId": "p", "quantity": 1, "unitPrice": Decimal("0.001")},
        {"productId": "p", "quantity": MAX_QUANTITY + 1, "unitPrice": 1},
    ]
    assert paths_of(order(items=items)) == {"items[0].unitPrice", "items[1].productId", "items[1].quantity"}


def test_ids_with_a_trailing_newline_are_rejected():
    # Python's "$" matches before a final newline, so the schema pattern alone would let it through.
    assert paths_of(order(orderId="o-1\n")) == {"orderId"}
    assert paths_of(order(customerId="c-1\n")) == {"customerId"}


def test_product_id_with_a_lone_surrogate_is_rejected():
    payload = jsonutil.loads('{"orderId":"o","customerId":"c","items":[{"productId":"\\ud800","quantity":1,"unitPrice":1}]}')
    assert paths_of(payload) == {"items[0].productId"}


def test_queued_order_keeps_its_server_timestamp():
    message = {**order(), "timestamp": TS}
    assert parse_queued_order(message, fallback_timestamp="2000-01-01T00:00:00.000000Z").timestamp == TS


def test_queued_order_without_timestamp_uses_the_fallback():
    assert parse_queued_order(order(), fallback_timestamp=TS).timestamp == TS


@pytest.mark.parametrize(
    "message",
    [[], "x", {**order(), "timestamp": "yesterday"}, {**order(), "timestamp": "2026-13-40T00:00:00.000000Z"}, order(items=[])],
)
def test_invalid_queued_orders_are_poison(message):
    with pytest.raises(PoisonMessage):
        parse_queued_order(message, fallback_timestamp=TS)
