"""Opaque ``nextToken`` for the customer listing, and the ``limit`` parameter.

The token is urlsafe base64 (no padding) of a small JSON document holding the GSI
position (orderId, customerId, timestamp) and a checksum. The checksum catches edited or
truncated tokens; it is not a secret signature (a forged but well-formed token can only
move the caller within the customer's own orders, which the route already exposes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from orders_core.errors import InvalidParameter, Problem
from orders_core.model import ID_PATTERN, is_timestamp

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
TOKEN_VERSION = 1
#: A real token is ~200 characters; anything far longer is garbage, refused before decoding.
MAX_TOKEN_LENGTH = 1024
_KEY_FIELDS = ("orderId", "customerId", "timestamp")


def parse_limit(raw: str | None) -> int:
    """The ``limit`` query parameter: an integer 1..100, ``DEFAULT_LIMIT`` when absent."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidParameter(
            f"limit must be an integer between 1 and {MAX_LIMIT}",
            [Problem("limit", f"must be an integer between 1 and {MAX_LIMIT} (given {raw[:20]!r})")],
        )
    return int(text)


def _checksum(key: Mapping[str, str]) -> str:
    canonical = json.dumps([TOKEN_VERSION, *(key[field] for field in _KEY_FIELDS)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode_token(key: Mapping[str, str]) -> str:
    """Turn a GSI position (orderId, customerId, timestamp strings) into an opaque token."""
    position = {field: key[field] for field in _KEY_FIELDS}
    document = {"v": TOKEN_VERSION, "k": position, "c": _checksum(position)}
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _bad_token(reason: str) -> InvalidParameter:
    return InvalidParameter(
        "nextToken is invalid; pass the nextToken of the previous page unchanged, or omit it to start over",
        [Problem("nextToken", reason)],
    )


def decode_token(token: str, *, customer_id: str) -> dict[str, str]:
    """The GSI position in ``token``; ``InvalidParameter`` if garbage, edited, or another customer's."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise _bad_token("is too long to be a token issued by this API")
    try:
        padded = token + "=" * (-len(token) % 4)
        document: Any = json.loads(base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise _bad_token("is not a token issued by this API") from None
    if not isinstance(document, dict) or document.get("v") != TOKEN_VERSION:
        raise _bad_token("is not a token issued by this API (unknown format)")
    key = document.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != set(_KEY_FIELDS)
        or not all(isinstance(key[field], str) for field in _KEY_FIELDS)
        or not ID_PATTERN.fullmatch(key["orderId"])
        or not ID_PATTERN.fullmatch(key["customerId"])
        or not is_timestamp(key["timestamp"])
    ):
        raise _bad_token("is not a token issued by this API (malformed position)")
    if document.get("c") != _checksum(key):
        raise _bad_token("has been modified (checksum mismatch)")
    if key["customerId"] != customer_id:
        raise _bad_token("belongs to another customer's listing")
    return {field: key[field] for field in _KEY_FIELDS}
