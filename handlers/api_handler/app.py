"""Lambda entry point of the orders REST API (API Gateway REST proxy integration).

Routes: ``POST /orders``, ``GET /orders/{orderId}``, ``GET /customers/{customerId}/orders``.
Thin by design: read the event, call ``OrderApiService``, map the result or error to HTTP.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from api_handler.http import HttpRequest, MethodNotAllowed, RouteNotFound, UnsupportedMediaType, error_response, json_response
from orders_core.adapters import DynamoOrderRepository, SqsOrderQueue
from orders_core.aws import clients, lazy, settings
from orders_core.errors import (
    DownstreamError,
    InvalidJson,
    InvalidParameter,
    NotFound,
    OrderError,
    PayloadTooLarge,
    ValidationFailed,
)
from orders_core.service import OrderApiService

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders-api"))
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders-api"))
# EphemeralMetrics: no state shared with other Metrics instances in the same process
# (the local pipeline runs both handlers in one interpreter).
# A request that records no metric (e.g. a GET) is normal, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "OrderPipeline"))

#: One HTTP status per domain error; anything else is a 500.
STATUS_BY_ERROR: dict[type[OrderError], int] = {
    InvalidJson: 400,
    ValidationFailed: 400,
    InvalidParameter: 400,
    NotFound: 404,
    RouteNotFound: 404,
    MethodNotAllowed: 405,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


def build_service() -> OrderApiService:
    """The service on the real adapters (cached per container by ``service``)."""
    aws, config = clients(), settings()
    return OrderApiService(
        queue=SqsOrderQueue(aws.sqs, config.order_queue_url),
        repository=DynamoOrderRepository(aws.dynamodb, config.orders_table_name),
    )


service = lazy(build_service)


def post_order(request: HttpRequest) -> dict[str, Any]:
    """POST /orders -> 202 Accepted (the order is on the queue)."""
    try:
        request.require_json()
        accepted = service().submit(request.body_bytes())
    except OrderError:
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    order = accepted.order
    metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
    logger.append_keys(orderId=order.order_id)
    tracer.put_annotation(key="orderId", value=order.order_id)
    logger.info("order accepted", extra={"customerId": order.customer_id, "items": len(order.items), "messageId": accepted.message_id})
    return json_response(
        202, {"orderId": order.order_id, "status": "ACCEPTED"}, headers={"Location": f"/orders/{order.order_id}"}
    )


def get_order(request: HttpRequest, order_id: str) -> dict[str, Any]:
    """GET /orders/{orderId} -> 200 with the stored order."""
    return json_response(200, service().get(order_id))


def list_customer_orders(request: HttpRequest, customer_id: str) -> dict[str, Any]:
    """GET /customers/{customerId}/orders?limit=&nextToken= -> 200 one page, newest first."""
    orders, next_token = service().list_for_customer(
        customer_id, limit=request.query.get("limit"), next_token=request.query.get("nextToken")
    )
    body: dict[str, Any] = {"orders": orders}
    if next_token:
        body["nextToken"] = next_token
    return json_response(200, body)


#: API Gateway resource template -> the path parameter the route needs (None: no parameter).
RESOURCE_PARAMETERS: dict[str, str | None] = {
    "/orders": None,
    "/orders/{orderId}": "orderId",
    "/customers/{customerId}/orders": "customerId",
}


def _resource_and_args(request: HttpRequest) -> tuple[str, tuple[str, ...]] | None:
    """The route's resource template and path arguments, or None for an unknown path.

    API Gateway's ``resource`` and ``pathParameters`` come first: behind a custom domain with a
    base path mapping, ``path`` carries the base path too (``/v1/orders``). The raw path is the
    fallback for events without them.
    """
    params = request.path_parameters
    if request.resource in RESOURCE_PARAMETERS:
        name = RESOURCE_PARAMETERS[request.resource]
        if name is None:
            return request.resource, ()
        if params.get(name):
            return request.resource, (params[name],)
    segments = request.segments
    if segments == ["orders"]:
        return "/orders", ()
    if len(segments) == 2 and segments[0] == "orders":
        return "/orders/{orderId}", (params.get("orderId", segments[1]),)
    if len(segments) == 3 and segments[0] == "customers" and segments[2] == "orders":
        return "/customers/{customerId}/orders", (params.get("customerId", segments[1]),)
    return None


def route(request: HttpRequest) -> tuple[Callable[..., dict[str, Any]], tuple[str, ...]]:
    """The handler and path arguments for a request; 404/405 errors for anything else."""
    found = _resource_and_args(request)
    if found is None:
        raise RouteNotFound(f"no route for {request.method or '?'} {request.path[:200]}")
    resource, args = found
    routes: dict[str, tuple[Callable[..., dict[str, Any]], tuple[str, ...]]]
    if resource == "/orders":
        routes = {"POST": (post_order, args)}
    elif resource == "/orders/{orderId}":
        routes = {"GET": (get_order, args)}
    else:
        routes = {"GET": (list_customer_orders, args)}
    if request.method not in routes:
        allowed = tuple(routes)
        raise MethodNotAllowed(f"{request.method or '?'} is not allowed here; use {', '.join(allowed)}", allowed)
    return routes[request.method]


def handle(request: HttpRequest) -> dict[str, Any]:
    """Route and run one request; every failure becomes the JSON error shape, never a stack trace."""
    try:
        handler, args = route(request)
        return handler(request, *args)
    except OrderError as exc:
        status = STATUS_BY_ERROR.get(type(exc), 400)
        headers = {"Allow": ", ".join(exc.allowed)} if isinstance(exc, MethodNotAllowed) else None
        logger.info("request rejected", extra={"status": status, "error": exc.code, "details": [d.as_dict() for d in exc.details]})
        return error_response(status, exc.code, exc.message, details=exc.details, request_id=request.request_id, headers=headers)
    except DownstreamError as exc:
        logger.exception("downstream failure", extra={"operation": exc.operation, "errorCode": exc.error_code})
        if exc.retryable:
            return error_response(
                503, "ServiceUnavailable", "the service is temporarily unavailable; retry with the same orderId",
                request_id=request.request_id, headers={"Retry-After": "1"},
            )
        return error_response(500, "InternalError", "the request could not be completed", request_id=request.request_id)
    except Exception:  # noqa: BLE001 - the last line of defence: log it, never leak it
        logger.exception("unhandled error")
        return error_response(500, "InternalError", "the request could not be completed", request_id=request.request_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway REST proxy event -> proxy response.

    A missing environment variable is a deployment fault, not a request fault: ``settings()``
    raises ``SettingsError`` naming every missing variable, the invocation fails (the
    API-handler errors alarm pages) and API Gateway answers its JSON DEFAULT_5XX response.
    """
    settings()
    request = HttpRequest.from_event(event, fallback_request_id=getattr(context, "aws_request_id", "") or "")
    return handle(request)
