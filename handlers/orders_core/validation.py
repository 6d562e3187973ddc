"""Order validation: THE schema file (compiled once with fastjsonschema) plus the business rules.

Input comes from ``jsonutil.loads`` (numbers with a fraction or exponent are ``Decimal``),
so prices are judged on their exact decimal text, never on a binary float.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from orders_core.errors import PoisonMessage, Problem, ValidationFailed
from orders_core.model import (
    CENT,
    DEFAULT_CURRENCY,
    ID_PATTERN,
    MAX_ITEMS,
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
    PRICE_PLACES,
    Order,
    OrderLine,
    is_timestamp,
)

#: The one order schema (API Gateway's request model loads the same file).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "order.schema.json"

_validator: Callable[[Any], Any] | None = None
_validator_lock = threading.Lock()


def schema_validator() -> Callable[[Any], Any]:
    """The compiled schema validator, built on first use and kept for the container's life."""
    global _validator
    if _validator is None:
        with _validator_lock:
            if _validator is None:
                import fastjsonschema  # deferred: GET requests never need it

                schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
                _validator = fastjsonschema.compile(schema)
    return _validator


def _schema_problem(exc: Any) -> Problem:
    # fastjsonschema names the value "data.items[0].quantity" and says "<name> must be ...".
    name = str(getattr(exc, "name", "") or "data")
    message = str(getattr(exc, "message", "") or exc)
    problem = message[len(name) :].strip() if message.startswith(name) else message
    path = name[len("data") :].lstrip(".") if name.startswith("data") else name
    return Problem(path or "body", problem or "is invalid")


def _check_schema(payload: Any) -> None:
    from fastjsonschema import JsonSchemaException

    try:
        schema_validator()(payload)
    except JsonSchemaException as exc:
        raise ValidationFailed("the order does not match the order schema", [_schema_problem(exc)]) from None


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates such as "\ud800"
        return False
    return True


def _business_problems(payload: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("orderId", "customerId"):
        if not ID_PATTERN.fullmatch(payload[key]):
            problems.append(Problem(key, "must be 1-64 letters, digits, '_' or '-', starting with a letter or digit"))
    items = payload["items"]
    if len(items) > MAX_ITEMS:
        problems.append(Problem("items", f"must contain at most {MAX_ITEMS} items (given {len(items)}); split the order"))
    first_index: dict[str, int] = {}
    for index, line in enumerate(items):
        path = f"items[{index}]"
        product_id = line["productId"]
        if not _is_valid_unicode(product_id):
            problems.append(Problem(f"{path}.productId", "must be valid Unicode text (no lone surrogates)"))
        elif product_id in first_index:
            problems.append(
                Problem(
                    f"{path}.productId",
                    f"duplicates items[{first_index[product_id]}].productId {product_id!r}; send one line per product with the summed quantity",
                )
            )
        else:
            first_index[product_id] = index
        if line["quantity"] > MAX_QUANTITY:
            problems.append(Problem(f"{path}.quantity", f"must be <= {MAX_QUANTITY}"))
        price = _as_decimal(line["unitPrice"])
        # Bound first: quantizing an astronomically large Decimal would raise.
        if price > MAX_UNIT_PRICE:
            problems.append(Problem(f"{path}.unitPrice", f"must be <= {MAX_UNIT_PRICE}"))
        elif price != price.quantize(CENT):
            problems.append(Problem(f"{path}.unitPrice", f"must have at most {PRICE_PLACES} decimal places (given {line['unitPrice']})"))
    return problems


def _as_decimal(value: Any) -> Decimal:
    # A float (from a caller that parsed without parse_float=Decimal) is judged on its shortest
    # decimal text, not on its binary expansion.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _canonical_price(value: Any) -> Decimal:
    price = _as_decimal(value).quantize(CENT)
    return price if price != 0 else Decimal("0.00")  # no "-0.00"


def parse_order(payload: Any, *, timestamp: str) -> Order:
    """Validate a POST /orders body (schema, then every business rule) and stamp it with ``timestamp``."""
    _check_schema(payload)
    problems = _business_problems(payload)
    if problems:
        raise ValidationFailed("the order breaks one or more business rules", problems)
    return Order(
        order_id=payload["orderId"],
        customer_id=payload["customerId"],
        currency=payload.get("currency", DEFAULT_CURRENCY),
        items=tuple(OrderLine(product_id=line["productId"], quantity=int(line["quantity"]), unit_price=_canonical_price(line["unitPrice"])) for line in payload["items"]),
        timestamp=timestamp,
    )


def parse_queued_order(payload: Any, *, fallback_timestamp: str) -> Order:
    """Validate an order read from the queue; raise ``PoisonMessage`` if it can never be processed.

    The message is the API body plus the server's ``timestamp``; a message without one (sent
    straight to the queue) gets ``fallback_timestamp`` (the SQS send time).
    """
    if not isinstance(payload, dict):
        raise PoisonMessage(f"message body must be a JSON object, got {type(payload).__name__}")
    body = dict(payload)
    timestamp = body.pop("timestamp", fallback_timestamp)
    if not is_timestamp(timestamp):
        raise PoisonMessage(f"message timestamp {timestamp!r} is not an ISO-8601 UTC timestamp like 2026-11-28T22:44:40.123456Z")
    try:
        return parse_order(body, timestamp=timestamp)
    except ValidationFailed as exc:
        details = "; ".join(f"{p.path}: {p.problem}" for p in exc.details)
        raise PoisonMessage(f"invalid order in message: {details}") from None
