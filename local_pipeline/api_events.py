"""Pure functions that play API Gateway's part: route matching, edge validation, proxy events, responses.

No sockets here, so the HTTP server stays a thin shell and this is tested with plain values.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, unquote

import fastjsonschema

ORDER_SCHEMA_FILE = Path(__file__).resolve().parent.parent / "handlers" / "schemas" / "order.schema.json"

#: The REST API's resources and methods, as the stack defines them.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("GET", "/customers/{customerId}/orders"),
)
#: Routes whose JSON body API Gateway validates against the order model before invoking.
VALIDATED_ROUTES = frozenset({("POST", "/orders")})

# API Gateway's default gateway responses, so clients see the same bodies as in AWS.
INVALID_BODY = {"message": "Invalid request body"}
NOT_FOUND = {"message": "Not Found"}
METHOD_NOT_ALLOWED = {"message": "Method Not Allowed"}
INTERNAL_ERROR = {"message": "Internal server error"}


@dataclass(frozen=True)
class RouteMatch:
    """A request path resolved to one of ``ROUTES`` (or to the reason it was not)."""

    status: int
    """200 when matched, 404 for an unknown path, 405 for a known path with another method."""
    resource: str = ""
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    allowed_methods: tuple[str, ...] = ()


def _split(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def match_route(method: str, path: str, stage: str = "") -> RouteMatch:
    """Match a raw request path (an optional leading ``/<stage>`` is accepted, as in AWS URLs)."""
    segments = _split(path)
    if stage and segments and segments[0] == stage:
        segments = segments[1:]
    allowed: list[str] = []
    for route_method, resource in ROUTES:
        template = _split(resource)
        if len(template) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(template, segments):
            if want.startswith("{") and want.endswith("}"):
                if got == "":
                    break
                params[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            if route_method == method.upper():
                return RouteMatch(200, resource, params)
            allowed.append(route_method)
    if allowed:
        return RouteMatch(405, allowed_methods=tuple(sorted(set(allowed))))
    return RouteMatch(404)


def load_edge_validator(schema_file: Path = ORDER_SCHEMA_FILE) -> Callable[[str | None], bool]:
    """Compile the order model (draft 4) into ``validate(body) -> bool``, like the API's request validator."""
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    check = fastjsonschema.compile(schema)

    def validate(body: str | None) -> bool:
        if body is None or body.strip() == "":
            return False
        try:
            check(json.loads(body))
        except (ValueError, RecursionError, fastjsonschema.JsonSchemaException):
            # ValueError covers malformed JSON, RecursionError absurdly deep nesting;
            # API Gateway answers all of them the same way.
            return False
        return True

    return validate


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    # API Gateway keeps the LAST value in the single-value map, all of them in the multi-value map,
    # and sends null (not {}) when there are none.
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def build_proxy_event(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    route: RouteMatch,
    stage: str,
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway would send for this request."""
    segments = _split(raw_path)
    if stage and segments and segments[0] == stage:
        segments = segments[1:]
    path = "/" + "/".join(segments)
    single_headers, multi_headers = _single_and_multi(headers)
    query_pairs = [(k, v) for k, values in parse_qs(query_string, keep_blank_values=True).items() for v in values]
    single_query, multi_query = _single_and_multi(query_pairs)
    text_body: str | None
    is_base64 = False
    if not body:
        text_body = None
    else:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            # Only binary media types are base64-encoded in AWS; this keeps odd bytes intact.
            text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    lower = {k.lower(): v for k, v in (single_headers or {}).items()}
    now = time.time()
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": None,
        "body": text_body,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}" if stage else path,
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "accountId": account_id,
            "apiId": api_id,
            "protocol": "HTTP/1.1",
            "domainName": lower.get("host", "127.0.0.1"),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent"),
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "accessKey": None,
                "apiKey": None,
                "apiKeyId": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
        },
    }


@dataclass(frozen=True)
class HttpResponse:
    """What the local API writes back: status, header pairs (repeats allowed) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def gateway_response(status: int, payload: Mapping[str, Any], request_id: str, extra_headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    """A response API Gateway itself produces (validation failure, unknown route, integration error)."""
    headers = (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", _error_type(status)), *extra_headers)
    return HttpResponse(status, headers, json.dumps(payload).encode("utf-8"))


def _error_type(status: int) -> str:
    return {400: "BadRequestException", 404: "NotFoundException", 405: "MethodNotAllowedException"}.get(status, "InternalServerErrorException")


def proxy_response(result: Any, request_id: str) -> HttpResponse:
    """Map a Lambda proxy result to HTTP; a malformed one is a 502, as API Gateway answers it."""
    if not isinstance(result, Mapping):
        return gateway_response(502, INTERNAL_ERROR, request_id)
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return gateway_response(502, INTERNAL_ERROR, request_id)
    pairs: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        pairs.extend((str(name), str(v)) for v in values)
    seen = {name.lower() for name, _ in pairs}
    pairs.extend((str(k), str(v)) for k, v in (result.get("headers") or {}).items() if str(k).lower() not in seen)
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    pairs.append(("x-amzn-RequestId", request_id))
    body = result.get("body")
    if body is None:
        raw = b""
    elif result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
    else:
        raw = str(body).encode("utf-8")
    return HttpResponse(status, tuple(pairs), raw)
