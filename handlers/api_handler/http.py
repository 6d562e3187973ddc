"""API Gateway REST proxy events in, proxy responses out: the HTTP edge of the API handler."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from orders_core import jsonutil
from orders_core.errors import InvalidJson, OrderError, Problem

JSON_MEDIA_TYPE = "application/json"
#: What may precede ``/orders`` in a ``Location``: path segments of URL-safe characters (never a
#: scheme, host, CR/LF or quote), so the header cannot be turned into a redirect elsewhere.
_SAFE_PREFIX = re.compile(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*")
#: Headers on every response: JSON, never cached, never sniffed.
BASE_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class InvalidRequest(OrderError):
    """The event itself is malformed (a field API Gateway always sets has a value it never sends)."""

    code = "InvalidRequest"


#: What ``isBase64Encoded`` may hold: API Gateway sends a JSON boolean; test tools and other
#: proxies sometimes send the strings "true" / "false". Anything else is refused, never guessed.
_BASE64_FLAGS = {True: True, False: False, None: False, "true": True, "false": False}


def base64_flag(value: Any) -> bool:
    """``isBase64Encoded`` as a bool; ``InvalidRequest`` for anything but a boolean, "true", "false" or absent.

    ``bool("false")`` is True: reading the string with ``bool()`` treated a plain JSON body as base64.
    """
    key = value.strip().lower() if isinstance(value, str) else value
    if (isinstance(key, (bool, str)) or key is None) and key in _BASE64_FLAGS:
        return _BASE64_FLAGS[key]
    shown = repr(value)[:40]
    raise InvalidRequest(
        f'isBase64Encoded must be true or false (a JSON boolean, or the string "true" or "false"); got {shown}',
        [Problem("isBase64Encoded", f"must be true or false, got {shown}")],
    )


class UnsupportedMediaType(OrderError):
    """The request body is not declared as ``application/json``."""

    code = "UnsupportedMediaType"


class RouteNotFound(OrderError):
    """No such route."""

    code = "NotFound"


class MethodNotAllowed(OrderError):
    """The route exists but not with this method."""

    code = "MethodNotAllowed"

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class HttpRequest:
    """The parts of a REST proxy event the API uses (headers lower-cased)."""

    method: str
    path: str
    resource: str = ""
    """API Gateway's resource template (``/orders/{orderId}``); empty when the event has none."""
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    raw_body: str | None = None
    is_base64: Any = False
    """The event's ``isBase64Encoded`` as sent (read by ``base64_flag`` when the body is read)."""
    request_id: str = ""
    called_path: str = ""
    """The path the client called (``requestContext.path``): with the stage on the default endpoint
    (``/v1/orders``), with the base path behind a custom domain (``/shop/orders``)."""
    stage: str = ""
    """The stage that served the request (``requestContext.stage``)."""

    @classmethod
    def from_event(cls, event: Any, *, fallback_request_id: str = "") -> HttpRequest:
        """Read an API Gateway REST proxy event; tolerant of nulls and missing keys."""
        event = _as_dict(event)
        headers: dict[str, str] = {}
        for name, values in _as_dict(event.get("multiValueHeaders")).items():
            if isinstance(values, list) and values:
                headers[str(name).lower()] = str(values[-1])
        for name, value in _as_dict(event.get("headers")).items():
            if value is not None:
                headers[str(name).lower()] = str(value)
        query = {str(k): str(v) for k, v in _as_dict(event.get("queryStringParameters")).items() if v is not None}
        path_parameters = {str(k): str(v) for k, v in _as_dict(event.get("pathParameters")).items() if v is not None}
        context = _as_dict(event.get("requestContext"))
        body = event.get("body")
        return cls(
            method=str(event.get("httpMethod") or context.get("httpMethod") or "").upper(),
            path=str(event.get("path") or event.get("resource") or "/"),
            resource=str(event.get("resource") or context.get("resourcePath") or ""),
            headers=headers,
            query=query,
            path_parameters=path_parameters,
            raw_body=body if isinstance(body, str) else None,
            is_base64=event.get("isBase64Encoded"),
            request_id=str(context.get("requestId") or fallback_request_id),
            called_path=str(context.get("path") or ""),
            stage=str(context.get("stage") or ""),
        )

    @property
    def segments(self) -> list[str]:
        """Path segments, percent-decoded (``/orders/a%20b`` -> ``["orders", "a b"]``)."""
        return [unquote(part) for part in self.path.split("/") if part]

    def order_location(self, order_id: str) -> str:
        """Absolute path of ``GET /orders/{order_id}`` as this client reaches the API (for ``Location``).

        Built from the path the client called, so it keeps whatever came before ``/orders``: the
        stage on the default endpoint (``/v1/orders/o-1``), the base path behind a custom domain
        (``/shop/orders/o-1``), nothing on a root mapping. Without that path (a direct invocation)
        the stage is the prefix.
        """
        called = self.called_path.rstrip("/")
        if called.endswith("/orders") and _SAFE_PREFIX.fullmatch(called[: -len("/orders")]):
            prefix = called[: -len("/orders")]
        else:
            prefix = f"/{quote(self.stage, safe='')}" if self.stage and self.stage != "$default" else ""
        return f"{prefix}/orders/{quote(order_id, safe='')}"

    def body_bytes(self) -> bytes:
        """The body as bytes (base64-decoded when API Gateway says so); empty when absent."""
        encoded = base64_flag(self.is_base64)
        if self.raw_body is None:
            return b""
        if encoded:
            try:
                return base64.b64decode(self.raw_body, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidJson("the request body is marked base64-encoded but is not valid base64") from None
        return self.raw_body.encode("utf-8", errors="surrogatepass")

    def require_json(self) -> None:
        """Raise ``UnsupportedMediaType`` unless Content-Type is application/json (UTF-8 charset allowed)."""
        content_type = self.headers.get("content-type", "")
        media_type, *params = [part.strip() for part in content_type.split(";")]
        charset_ok = all(not param.lower().startswith("charset=") or param.split("=", 1)[1].strip().strip('"').lower() in ("utf-8", "utf8") for param in params)
        if media_type.lower() != JSON_MEDIA_TYPE or not charset_ok:
            shown = content_type[:100] or "(none)"
            raise UnsupportedMediaType(f"Content-Type must be {JSON_MEDIA_TYPE} (optionally with charset=utf-8); got {shown}")


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response with a JSON body (Decimals rendered as exact JSON numbers)."""
    return {
        "statusCode": status,
        "headers": {**BASE_HEADERS, **(headers or {})},
        "body": jsonutil.dumps(body),
        "isBase64Encoded": False,
    }


def error_response(status: int, code: str, message: str, *, details: Any = (), request_id: str = "", headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The one error shape: ``{"error", "message", "details", "requestId"}``."""
    body = {
        "error": code,
        "message": message,
        "details": [d.as_dict() if hasattr(d, "as_dict") else d for d in details],
        "requestId": request_id,
    }
    return json_response(status, body, headers)
