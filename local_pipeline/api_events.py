"""Pure functions that play API Gateway's part: route matching, edge validation, proxy events, responses.

No sockets here, so the HTTP server stays a thin shell and this is tested with plain values.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import fastjsonschema

from pipeline_config.lambda_contract import read_routes

ORDER_SCHEMA_FILE = Path(__file__).resolve().parent.parent / "handlers" / "schemas" / "order.schema.json"

#: The route table (``handlers/schemas/routes.json``), read as the stack reads it: this module plays API
#: Gateway's part, and never imports the Lambda package (the local pipeline loads that as Lambda does,
#: as ``orders_core``: ``handler_loading``; one process never holds two copies).
ROUTES = read_routes()
#: Routes whose JSON body API Gateway validates against the order model before invoking.
VALIDATED_ROUTES = frozenset((route.http_method, route.path) for route in ROUTES if route.validate_body)

#: Lambda's limit on a synchronous invocation's payload (the JSON event), bytes: 6 MB.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's own answers: status, gateway response type and message."""

    status: int
    response_type: str
    message: str


# The gateway responses the stack customises (DEFAULT_4XX / DEFAULT_5XX) render these through its
# JSON template: {"message", "error": <response type>, "requestId"} (tests/local_pipeline/test_matches_stack.py).
#: Unknown stage, resource or method: REST APIs answer 403, not 404/405, to hide what exists.
MISSING_AUTHENTICATION_TOKEN = GatewayError(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
#: The request validator rejected the body.
BAD_REQUEST_BODY = GatewayError(400, "BAD_REQUEST_BODY", "Invalid request body")
#: The Lambda function failed or returned a malformed proxy result.
INTEGRATION_FAILURE = GatewayError(502, "INTEGRATION_FAILURE", "Internal server error")


@dataclass(frozen=True)
class RouteMatch:
    """A request path resolved to a route of the table on the stage (or ``status`` 403 when it is not one)."""

    status: int
    """200 when matched; 403 for anything else (unknown stage, resource or method), as API Gateway answers."""
    resource: str = ""
    path_parameters: Mapping[str, str] = field(default_factory=dict)


def _split(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def match_route(method: str, path: str, stage: str) -> RouteMatch:
    """Match a raw request path as the default endpoint does: ``/<stage>/<resource path>``, nothing else.

    The routes (the route table, ``handlers/schemas/routes.json``) exist only under the stage; the
    root, another stage, an unknown resource and a known resource with another method are all
    API Gateway's 403 "Missing Authentication Token". Path parameters arrive percent-decoded.
    """
    segments = _split(path)
    if not stage or not segments or segments[0] != stage:
        return RouteMatch(403)
    for route in ROUTES:
        found = route.match(segments[1:]) if route.http_method == method.upper() else None
        if found is not None:
            return RouteMatch(200, route.path, {name: unquote(value) for name, value in found.items()})
    return RouteMatch(403)


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


def gateway_response(error: GatewayError, request_id: str) -> HttpResponse:
    """A response API Gateway itself produces, through the stack's DEFAULT_4XX/5XX JSON template."""
    headers = (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", _error_type(error.status)))
    body = {"message": error.message, "error": error.response_type, "requestId": request_id}
    return HttpResponse(error.status, headers, json.dumps(body).encode("utf-8"))


def payload_too_large(request_id: str) -> HttpResponse:
    """What a client gets when the event exceeds Lambda's 6 MB: 413 ``{"message": "Request Too Long"}``.

    As observed in AWS (a REST API in front of Lambda): the invocation is refused before the function
    runs, and the gateway's JSON body is not the customised template.
    """
    headers = (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", "BadRequestException"))
    return HttpResponse(413, headers, json.dumps({"message": "Request Too Long"}).encode("utf-8"))


def body_over_gateway_limit(limit: int) -> HttpResponse:
    """What a client gets for a body over API Gateway's 10 MB: 413 with a plain-text body (not JSON), as observed in AWS."""
    return HttpResponse(413, (("Content-Type", "text/plain; charset=utf-8"),), f"HTTP content length exceeded {limit} bytes.".encode("ascii"))


def _error_type(status: int) -> str:
    return {400: "BadRequestException", 403: "MissingAuthenticationTokenException"}.get(status, "InternalServerErrorException")


def proxy_response(result: Any, request_id: str) -> HttpResponse:
    """Map a Lambda proxy result to HTTP; a malformed one is a 502, as API Gateway answers it."""
    if not isinstance(result, Mapping):
        return gateway_response(INTEGRATION_FAILURE, request_id)
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return gateway_response(INTEGRATION_FAILURE, request_id)
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
