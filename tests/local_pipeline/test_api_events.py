"""The local API Gateway's pure parts: routing, edge validation, proxy events and responses."""

from __future__ import annotations

import base64
import json

import pytest

from local_pipeline.api_events import (
    build_proxy_event,
    load_edge_validator,
    match_route,
    proxy_response,
)

VALID = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 2.5}]}


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("POST", "/local/orders", "/orders", {}),
        ("GET", "/local/orders/o%2F1", "/orders/{orderId}", {"orderId": "o/1"}),
        ("GET", "/local/customers/c-1/orders", "/customers/{customerId}/orders", {"customerId": "c-1"}),
        ("GET", "/local/orders/x/", "/orders/{orderId}", {"orderId": "x"}),
    ],
)
def test_known_routes_match_under_the_stage_with_decoded_path_parameters(method, path, resource, params):
    match = match_route(method, path, stage="local")
    assert (match.status, match.resource, dict(match.path_parameters)) == (200, resource, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/orders"),  # the root: API Gateway serves nothing outside a stage
        ("GET", "/orders/x"),
        ("GET", "/v1/orders/x"),  # another stage
        ("GET", "/local"),
        ("GET", "/local/nothing"),
        ("GET", "/local/orders/a/b"),
        ("DELETE", "/local/orders"),  # a known resource with another method
        ("PUT", "/local/orders/x"),
    ],
)
def test_anything_but_a_route_on_the_stage_is_403_missing_authentication_token(method, path):
    """REST APIs answer 403 "Missing Authentication Token" for unknown stages, resources and methods alike."""
    assert match_route(method, path, stage="local").status == 403


def test_edge_validator_accepts_the_schema_and_rejects_everything_else():
    validate = load_edge_validator()
    assert validate(json.dumps(VALID))
    assert validate(json.dumps({**VALID, "currency": "EUR"}))
    assert not validate(None)
    assert not validate("")
    assert not validate("{not json")
    assert not validate(json.dumps({k: v for k, v in VALID.items() if k != "items"}))
    assert not validate(json.dumps({**VALID, "items": [{"productId": "p", "quantity": 0, "unitPrice": 1}]}))
    assert not validate(json.dumps({**VALID, "extra": 1}))
    assert not validate(json.dumps({**VALID, "items": [{"productId": "p", "quantity": True, "unitPrice": 1}]}))


def test_edge_validator_rejects_absurdly_deep_nesting_instead_of_raising():
    # json.loads raises RecursionError (not a ValueError) here; it must be a plain 400, not a crash.
    assert not load_edge_validator()("[" * 100_000 + "]" * 100_000)


def test_proxy_event_has_the_rest_api_shape():
    route = match_route("GET", "/local/customers/c%201/orders", stage="local")
    event = build_proxy_event(
        method="GET",
        raw_path="/local/customers/c%201/orders",
        query_string="limit=2&limit=5&nextToken=",
        headers=[("Host", "h"), ("X-A", "1"), ("X-A", "2")],
        body=None,
        route=route,
        stage="local",
    )
    assert event["resource"] == "/customers/{customerId}/orders"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"customerId": "c 1"}
    assert event["queryStringParameters"] == {"limit": "5", "nextToken": ""}
    assert event["multiValueQueryStringParameters"]["limit"] == ["2", "5"]
    assert event["headers"]["X-A"] == "2" and event["multiValueHeaders"]["X-A"] == ["1", "2"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == "local" and ctx["requestId"] and ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["resourcePath"] == event["resource"] and ctx["path"].startswith("/local/")


def test_proxy_event_without_query_has_null_maps_and_keeps_the_body_text():
    route = match_route("POST", "/local/orders", stage="local")
    event = build_proxy_event(method="POST", raw_path="/local/orders", query_string="", headers=[], body=b'{"a":1}', route=route, stage="local")
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["body"] == '{"a":1}'


def test_proxy_response_maps_status_headers_and_body():
    out = proxy_response({"statusCode": 202, "headers": {"Location": "/orders/x"}, "multiValueHeaders": {"Set-Cookie": ["a", "b"]}, "body": "{}"}, "rid")
    assert out.status == 202 and out.body == b"{}"
    assert ("Location", "/orders/x") in out.headers
    assert [v for k, v in out.headers if k == "Set-Cookie"] == ["a", "b"]
    assert ("x-amzn-RequestId", "rid") in out.headers
    binary = proxy_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, "r")
    assert binary.body == b"\x00\x01"


@pytest.mark.parametrize("bad", [None, "text", {"body": "{}"}, {"statusCode": "200"}, {"statusCode": 42}])
def test_malformed_handler_results_are_502_like_api_gateway(bad):
    out = proxy_response(bad, "r")
    assert out.status == 502 and json.loads(out.body) == {"message": "Internal server error", "error": "INTEGRATION_FAILURE", "requestId": "r"}


# --------------------------------------------------------------------------- the local API serves THE route table
def _concrete(path: str, value: str = "v-1") -> str:
    return "/".join(value if segment.startswith("{") else segment for segment in path.split("/"))


def _served(stage: str = "local") -> set[tuple[str, str]]:
    """(method, resource) of every method the local API answers on every path of the table it reads."""
    from handlers.orders_core.routes import HTTP_METHODS
    from local_pipeline.api_events import ROUTES

    served = set()
    for path in {route.path for route in ROUTES}:
        for method in HTTP_METHODS:
            match = match_route(method, f"/{stage}{_concrete(path)}", stage)
            if match.status == 200:
                served.add((method, match.resource))
    return served


def test_the_local_api_serves_exactly_the_route_table():
    from handlers.orders_core.routes import ROUTES

    assert _served() == {(route.http_method, route.path) for route in ROUTES}


def test_the_local_api_validates_exactly_the_tables_validated_bodies():
    from handlers.orders_core.routes import ROUTES
    from local_pipeline.api_events import VALIDATED_ROUTES

    assert {(route.http_method, route.path) for route in ROUTES if route.validate_body} == VALIDATED_ROUTES


def test_the_local_api_follows_the_table_not_a_copy(monkeypatch):
    """A route added to the table is served with nothing else changed."""
    from handlers.orders_core import routes
    from local_pipeline import api_events

    document = json.loads(routes.ROUTES_FILE.read_text(encoding="utf-8"))
    document["routes"].append({"id": "get-invoice", "method": "GET", "path": "/orders/{orderId}/invoice", "operation": "get_invoice", "validateBody": False})
    monkeypatch.setattr(api_events, "ROUTES", routes.parse_routes(document))
    assert ("GET", "/orders/{orderId}/invoice") in _served()
    assert match_route("GET", "/local/orders/o-1/invoice", "local").resource == "/orders/{orderId}/invoice"


def test_every_route_reaches_the_handler_with_its_resource_and_decoded_parameters():
    from handlers.orders_core.routes import ROUTES
    from local_pipeline.api_server import LocalApi

    seen = []

    def handler(event, context):
        seen.append((event["httpMethod"], event["resource"], event["pathParameters"]))
        return {"statusCode": 200, "body": "{}"}

    local = LocalApi(handler, context_factory=lambda: None)
    for route in ROUTES:
        body = json.dumps(VALID).encode() if route.validate_body else None
        headers = [("Content-Type", "application/json")] if body else []
        response = local.handle(method=route.http_method, target=f"/local{_concrete(route.path, 'a%20b')}", headers=headers, body=body)
        assert response.status == 200, (route, response)
    assert seen == [(r.http_method, r.path, dict.fromkeys(r.path_parameters, "a b") or None) for r in ROUTES]
