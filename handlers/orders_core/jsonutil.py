"""Strict JSON in, exact JSON out: numbers stay ``Decimal`` end to end (money is never a float)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring_ascii


class JsonDecodeError(ValueError):
    """The text is not strict JSON (syntax, NaN/Infinity, oversized integers, too deep...)."""


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity by default; JSON does not, and neither do we.
    raise JsonDecodeError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """Parse strict JSON; floats become ``Decimal`` (judged on their decimal text)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except JsonDecodeError:
        raise
    except UnicodeDecodeError as exc:
        raise JsonDecodeError("body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise JsonDecodeError("JSON is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise JsonDecodeError(f"unparseable JSON value ({exc.__class__.__name__})") from exc


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot encode non-finite number {value} as JSON")
    # Plain notation for everyday magnitudes ("12.30", not "1.230E+1"); exponent form otherwise.
    if -30 < value.adjusted() < 30:
        return format(value, "f")
    return str(value)


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        out.append(_decimal_text(value))
    elif isinstance(value, float):
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_encode_str(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """Compact, ASCII-only JSON; ``Decimal`` is written as an exact JSON number."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
