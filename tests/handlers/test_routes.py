"""THE route table (handlers/schemas/routes.json): its loader, and the API handler dispatching exactly it."""

from __future__ import annotations

import copy
import json

import pytest

from api_handler import app
from api_handler.http import HttpRequest, MethodNotAllowed, RouteNotFound
from orders_core import routes as route_table
from orders_core.errors import InvalidParameter, NotFound, OrderError
from orders_core.routes import ROUTES, ROUTES_FILE, RouteTableError, load_routes, parse_routes

TABLE = json.loads(ROUTES_FILE.read_text(encoding="utf-8"))


def sample_values(route) -> dict[str, str]:
    """A value for each of the route's path parameters (with a character that needs percent-encoding)."""
    return {name: f"{name}-1 x" for name in route.path_parameters}


def concrete_path(route, values) -> str:
    """The route's path with its placeholders filled in, percent-encoded."""
    from urllib.parse import quote

    path = route.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def test_the_shipped_table_loads_with_the_apis_routes():
    # An independent oracle: what the API has always served (the stack's and the README's routes).
    assert {(r.http_method, r.path) for r in ROUTES} == {("POST", "/orders"), ("GET", "/orders/{orderId}"), ("GET", "/customers/{customerId}/orders")}
    assert [r.path for r in ROUTES if r.validate_body] == ["/orders"]
    assert load_routes() == ROUTES


def test_route_parts_come_from_the_path():
    (listing,) = [r for r in ROUTES if r.path == "/customers/{customerId}/orders"]
    assert listing.path_parameters == ("customerId",)
    assert listing.source_arn_path == "/customers/*/orders"
    assert listing.match(["customers", "c-1", "orders"]) == {"customerId": "c-1"}
    assert listing.match(["customers", "", "orders"]) is None
    assert listing.match(["customers", "c-1"]) is None
    assert listing.match(["customer", "c-1", "orders"]) is None


def broken(**changes):
    document = copy.deepcopy(TABLE)
    document["routes"][0].update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({}, "routes: must be a non-empty list"),
        ({"routes": []}, "routes: must be a non-empty list"),
        (broken(method="FETCH"), "routes[0].method: is not an HTTP method (given 'FETCH')"),
        (broken(path="orders"), "routes[0].path"),
        (broken(path="/orders/{id}/{id}"), "routes[0].path"),
        (broken(path="/orders//x"), "routes[0].path"),
        (broken(id="Post Orders"), "routes[0].id"),
        (broken(operation="post-order"), "routes[0].operation"),
        (broken(validateBody="yes"), "routes[0].validateBody: must be a bool"),
        (broken(extra=1), "routes[0].extra: unknown field"),
        (broken(id="get-order"), "id 'get-order': used by two routes"),
        (broken(operation="get_order"), "operation 'get_order': used by two routes"),
        (broken(method="GET", path="/orders/{orderId}"), "GET /orders/{orderId}: defined twice"),
        (broken(method="DELETE", path="/orders/{id}"), "{orderId} where another route has {id} at /orders"),
    ],
)
def test_a_broken_table_is_refused_naming_the_problem(document, named):
    with pytest.raises(RouteTableError) as raised:
        parse_routes(document)
    assert named in str(raised.value) and "Fix:" in str(raised.value)


def test_every_problem_of_a_table_is_named_at_once():
    document = broken(method="FETCH", operation="Bad Name")
    with pytest.raises(RouteTableError) as raised:
        parse_routes(document)
    assert len(raised.value.problems) == 2


# --------------------------------------------------------------------------- the handler serves the table
def test_every_operation_of_the_table_is_a_handler_function_and_none_is_left_over():
    assert {r.operation for r in ROUTES} == set(app.OPERATIONS)


@pytest.mark.parametrize("table_route", ROUTES, ids=lambda r: r.id)
def test_every_route_of_the_table_is_dispatched_to_its_operation(table_route):
    """By API Gateway's resource + pathParameters, and by the raw path (a direct invocation)."""
    values = sample_values(table_route)
    by_resource = HttpRequest(method=table_route.http_method, path="/base" + concrete_path(table_route, values), resource=table_route.path, path_parameters=values)
    by_path = HttpRequest(method=table_route.http_method, path=concrete_path(table_route, values))
    expected = (app.OPERATIONS[table_route.operation], tuple(values[name] for name in table_route.path_parameters))
    assert app.route(by_resource) == expected
    assert app.route(by_path) == expected


@pytest.mark.parametrize("table_route", ROUTES, ids=lambda r: r.id)
def test_another_method_on_a_route_is_405_listing_the_tables_methods(table_route):
    allowed = tuple(r.http_method for r in route_table.routes_at(table_route.path))
    other = next(m for m in route_table.HTTP_METHODS if m not in allowed)
    values = sample_values(table_route)
    with pytest.raises(MethodNotAllowed) as raised:
        app.route(HttpRequest(method=other, path=concrete_path(table_route, values), resource=table_route.path, path_parameters=values))
    assert raised.value.allowed == allowed


def test_the_router_follows_the_table_not_a_copy(monkeypatch):
    """A route added to the table is served by the handler with nothing else changed (besides its function)."""
    added = parse_routes({"routes": [*TABLE["routes"], {"id": "get-invoice", "method": "GET", "path": "/orders/{orderId}/invoice", "operation": "get_invoice", "validateBody": False}]})
    monkeypatch.setattr(route_table, "ROUTES", added)
    monkeypatch.setattr(app, "ROUTES", added)
    monkeypatch.setitem(app.OPERATIONS, "get_invoice", lambda request, orders, order_id: {"invoice": order_id})
    handler, args = app.route(HttpRequest(method="GET", path="/orders/o-1/invoice"))
    assert handler(None, None, *args) == {"invoice": "o-1"}


def test_a_path_outside_the_table_is_404():
    with pytest.raises(RouteNotFound):
        app.route(HttpRequest(method="GET", path="/orders/o-1/invoice"))


# --------------------------------------------------------------------------- statuses of domain errors
def test_a_subclass_of_a_listed_error_gets_its_bases_status():
    """STATUS_BY_ERROR is looked up along the class's MRO, not by its exact type."""

    class OrderGone(NotFound):
        code = "OrderGone"

    class BadCursor(InvalidParameter):
        code = "BadCursor"

    class Unlisted(OrderError):
        code = "Unlisted"

    assert OrderGone not in app.STATUS_BY_ERROR and app.status_of(OrderGone("gone")) == 404
    assert app.status_of(BadCursor("bad")) == 400
    assert app.status_of(MethodNotAllowed("no", ("GET",))) == 405
    assert app.status_of(Unlisted("?")) == 400


def test_a_subclass_error_raised_by_a_route_is_answered_with_its_bases_status(monkeypatch, handler_env, lambda_context, load_event):
    class OrderGone(NotFound):
        code = "OrderGone"

    def gone(request, orders, order_id):
        raise OrderGone(f"order {order_id} is gone")

    monkeypatch.setitem(app.OPERATIONS, "get_order", gone)
    monkeypatch.setattr(app, "service", lambda: None)
    response = app.lambda_handler(load_event("api_get_order"), lambda_context)
    assert response["statusCode"] == 404 and json.loads(response["body"])["error"] == "OrderGone"
