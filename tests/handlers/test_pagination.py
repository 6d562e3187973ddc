"""limit parsing and the opaque nextToken: round trip, garbage, tampering, other customers."""

from __future__ import annotations

import base64
import json

import pytest

from orders_core.errors import InvalidParameter
from orders_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_token, encode_token, parse_limit

KEY = {"orderId": "o-1", "customerId": "c-1", "timestamp": "2026-11-28T22:44:40.123456Z"}


def test_limit_defaults_and_bounds():
    assert parse_limit(None) == DEFAULT_LIMIT == 20
    assert parse_limit("") == DEFAULT_LIMIT
    assert parse_limit("1") == 1 and parse_limit(str(MAX_LIMIT)) == MAX_LIMIT


@pytest.mark.parametrize("raw", ["0", "101", "-1", "abc", "1.5", "1e2", "99999999999999999999", "²", " "])
def test_bad_limits_are_rejected_naming_the_parameter(raw):
    with pytest.raises(InvalidParameter) as info:
        parse_limit(raw)
    assert info.value.details[0].path == "limit"


def test_token_round_trips_and_is_url_safe():
    token = encode_token(KEY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_token(token, customer_id="c-1") == KEY


def _forge(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!!",
        "e30",  # {}
        _forge([1, 2]),
        _forge({"v": 2, "k": KEY, "c": "x"}),
        _forge({"v": 1, "k": {**KEY, "orderId": "bad id"}, "c": "x"}),
        _forge({"v": 1, "k": {**KEY, "extra": "x"}, "c": "x"}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 5000,
    ],
)
def test_garbage_tokens_are_rejected(token):
    with pytest.raises(InvalidParameter) as info:
        decode_token(token, customer_id="c-1")
    assert info.value.details[0].path == "nextToken"


def test_edited_token_is_rejected_as_modified():
    document = json.loads(base64.urlsafe_b64decode(encode_token(KEY) + "=="))
    document["k"]["timestamp"] = "2030-01-01T00:00:00.000000Z"
    with pytest.raises(InvalidParameter) as info:
        decode_token(_forge(document), customer_id="c-1")
    assert "modified" in info.value.details[0].problem


def test_token_of_another_customer_is_rejected():
    with pytest.raises(InvalidParameter) as info:
        decode_token(encode_token(KEY), customer_id="c-2")
    assert "another customer" in info.value.details[0].problem
