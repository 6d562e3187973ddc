"""Lambda entry point of the orders REST API (API Gateway REST proxy integration).

Routes: the route table (``schemas/routes.json``, read through ``orders_core.routes``); each
route's ``operation`` names its function here (``OPERATIONS``). Thin by design: read the event, call ``OrderApiService``, map the result or error to HTTP.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from api_handler.http import HttpRequest, InvalidRequest, MethodNotAllowed, RouteNotFound, UnsupportedMediaType, error_response, json_response
from orders_core.adapters import DynamoOrderRepository, SqsOrderQueue
from orders_core.aws import AwsClients, build_clients, lazy, settings

# API_TIMEOUTS is re-exported: the local pipeline builds this function's clients with it.
from orders_core.budget import API_TIMEOUTS as API_TIMEOUTS, Deadline, TimeoutPolicy, deadline_scope
from orders_core.errors import (
    DownstreamError,
    InvalidJson,
    InvalidParameter,
    NotFound,
    OrderConflict,
    OrderError,
    PayloadTooLarge,
    ValidationFailed,
)
from orders_core.function import TRACED_MODULES, PowertoolsFunction
from orders_core.routes import ROUTES, routes_at
from orders_core.service import OrderApiService
from orders_core.settings import API_SERVICE_NAME, METRICS_NAMESPACE, METRICS_NAMESPACE_VAR, SERVICE_NAME_VAR, Settings

logger = Logger(service=os.environ.get(SERVICE_NAME_VAR, API_SERVICE_NAME))
tracer = Tracer(service=os.environ.get(SERVICE_NAME_VAR, API_SERVICE_NAME), patch_modules=TRACED_MODULES)
# EphemeralMetrics: no state shared with other Metrics instances in the same process
# (the local pipeline runs both handlers in one interpreter).
# A request that records no metric (e.g. a GET) is normal, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = EphemeralMetrics(namespace=os.environ.get(METRICS_NAMESPACE_VAR, METRICS_NAMESPACE))

#: One HTTP status per domain error (a subclass gets its base's); an unlisted OrderError is a 400,
#: any other exception a 500.
STATUS_BY_ERROR: dict[type[OrderError], int] = {
    InvalidJson: 400,
    InvalidRequest: 400,
    ValidationFailed: 400,
    InvalidParameter: 400,
    NotFound: 404,
    RouteNotFound: 404,
    MethodNotAllowed: 405,
    OrderConflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


#: The 503 of ``POST /orders`` (throttling, an outage, a timeout): whether the order reached the
#: queue is not known, and a retry with the same orderId is always safe (docs/rest_api.md, "Status contract").
NOT_KNOWN_ACCEPTED = "the order is not known to be accepted: it may not be on the queue, or it may be; retry with the same orderId, which is safe (an order is stored at most once)"
#: The 503 of a read.
UNAVAILABLE = "the service is temporarily unavailable; retry"
#: ``Retry-After`` of every 503, seconds.
RETRY_AFTER_SECONDS = "1"


def status_of(exc: OrderError) -> int:
    """The HTTP status of a domain error: its class's entry, else its nearest base class's, else 400."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def build_service(config: Settings, aws: AwsClients) -> OrderApiService:
    """The service on the real adapters, for the resources ``config`` names."""
    return OrderApiService(
        queue=SqsOrderQueue(aws.sqs, config.order_queue_url),
        repository=DynamoOrderRepository(aws.dynamodb, config.orders_table_name),
    )


clients = lazy(lambda: build_clients(None, API_TIMEOUTS))
"""Lambda's clients: boto3's defaults (the function's region and role), budgeted for this function; cached per container."""
service = lazy(lambda: build_service(settings(), clients()))
"""Lambda's service: settings from the function's environment, ``clients()``; cached per container."""


def post_order(request: HttpRequest, orders: OrderApiService) -> dict[str, Any]:
    """POST /orders -> 202 Accepted (the order is on the queue)."""
    try:
        request.require_json()
        accepted = orders.submit(request.body_bytes())
    except OrderError:
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    order = accepted.order
    metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
    logger.append_keys(orderId=order.order_id)
    tracer.put_annotation(key="orderId", value=order.order_id)
    logger.info(
        "order already stored; accepted again, nothing sent" if accepted.already_stored else "order accepted",
        extra={"customerId": order.customer_id, "items": len(order.items), "messageId": accepted.message_id},
    )
    return json_response(202, {"orderId": order.order_id, "status": "ACCEPTED"}, headers={"Location": request.order_location(order.order_id)})


def get_order(request: HttpRequest, orders: OrderApiService, order_id: str) -> dict[str, Any]:
    """GET /orders/{orderId} -> 200 with the stored order."""
    return json_response(200, orders.get(order_id))


def list_customer_orders(request: HttpRequest, orders: OrderApiService, customer_id: str) -> dict[str, Any]:
    """GET /customers/{customerId}/orders?limit=&nextToken= -> 200 one page, newest first."""
    page, next_token = orders.list_for_customer(customer_id, limit=request.query.get("limit"), next_token=request.query.get("nextToken"))
    body: dict[str, Any] = {"orders": page}
    if next_token:
        body["nextToken"] = next_token
    return json_response(200, body)


#: The handler's function for each route's ``operation`` (``schemas/routes.json``); a test holds
#: the two to the same set.
OPERATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "post_order": post_order,
    "get_order": get_order,
    "list_customer_orders": list_customer_orders,
}


def _resource_and_parameters(request: HttpRequest) -> tuple[str, dict[str, str]] | None:
    """The route table's resource path and the path parameters of a request, or None for an unknown path.

    API Gateway's ``resource`` and ``pathParameters`` come first: behind a custom domain with a
    base path mapping, ``path`` carries the base path too (``/v1/orders``). The raw path is the
    fallback for events without them (its parameters percent-decoded, ``pathParameters`` preferred).
    """
    given = request.path_parameters
    here = routes_at(request.resource)
    if here and all(given.get(name) for name in here[0].path_parameters):
        return here[0].path, {name: given[name] for name in here[0].path_parameters}
    for candidate in ROUTES:
        found = candidate.match(request.segments)
        if found is not None:
            return candidate.path, {name: given.get(name, value) for name, value in found.items()}
    return None


def route(request: HttpRequest) -> tuple[Callable[..., dict[str, Any]], tuple[str, ...]]:
    """The handler and path arguments for a request, by the route table; 404/405 errors for anything else."""
    found = _resource_and_parameters(request)
    if found is None:
        raise RouteNotFound(f"no route for {request.method or '?'} {request.path[:200]}")
    path, parameters = found
    here = routes_at(path)
    for candidate in here:
        if candidate.http_method == request.method:
            return OPERATIONS[candidate.operation], tuple(parameters[name] for name in candidate.path_parameters)
    allowed = tuple(candidate.http_method for candidate in here)
    raise MethodNotAllowed(f"{request.method or '?'} is not allowed here; use {', '.join(allowed)}", allowed)


def handle(request: HttpRequest, orders: OrderApiService) -> dict[str, Any]:
    """Route and run one request; every failure becomes the JSON error shape, never a stack trace."""
    try:
        handler, args = route(request)
        return handler(request, orders, *args)
    except OrderError as exc:
        status = status_of(exc)
        headers = {"Allow": ", ".join(exc.allowed)} if isinstance(exc, MethodNotAllowed) else None
        logger.info("request rejected", extra={"status": status, "error": exc.code, "details": [d.as_dict() for d in exc.details]})
        return error_response(status, exc.code, exc.message, details=exc.details, request_id=request.request_id, headers=headers)
    except DownstreamError as exc:
        extra = {"operation": exc.operation, "errorCode": exc.error_code, "throttled": exc.throttled, "outcomeUnknown": exc.outcome_unknown}
        logger.exception("downstream failure", extra=extra)
        if exc.retryable:
            message = NOT_KNOWN_ACCEPTED if request.method == "POST" else UNAVAILABLE
            return error_response(503, "ServiceUnavailable", message, request_id=request.request_id, headers={"Retry-After": RETRY_AFTER_SECONDS})
        return error_response(500, "InternalError", "the request could not be completed", request_id=request.request_id)
    except Exception:
        logger.exception("unhandled error")
        return error_response(500, "InternalError", "the request could not be completed", request_id=request.request_id)


class ApiFunction(PowertoolsFunction):
    """The API handler bound to one source of its service: a Lambda handler ``(event, context) -> response``.

    Lambda's ``lambda_handler`` reads its settings from the function's environment; the local
    pipeline builds one per pipeline with ``ApiFunction.bound_to(settings, clients)``, so two
    pipelines in one process never share a table, a queue or a client.
    """

    def __init__(self, service_source: Callable[[], OrderApiService], *, timeouts: TimeoutPolicy = API_TIMEOUTS) -> None:
        self._service_source = service_source
        self._timeouts = timeouts
        super().__init__(logger=logger, tracer=tracer, metrics=metrics, correlation_id_path=correlation_paths.API_GATEWAY_REST)

    @classmethod
    def bound_to(cls, config: Settings, aws: AwsClients) -> ApiFunction:
        """A handler on the resources ``config`` names, calling AWS through ``aws`` (built with ``API_TIMEOUTS``)."""
        bound = build_service(config, aws)
        return cls(lambda: bound)

    def lambda_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """API Gateway REST proxy event -> proxy response (undecorated; call the instance instead)."""
        orders = self._service_source()
        request = HttpRequest.from_event(event, fallback_request_id=getattr(context, "aws_request_id", "") or "")
        # Every AWS call of this request ends before the function's timeout minus the margin:
        # a stalled dependency becomes a 503 with Retry-After, never API Gateway's 502.
        with deadline_scope(Deadline.from_context(context, margin_seconds=self._timeouts.safety_margin_seconds)):
            return handle(request, orders)


# ``service`` is looked up at each call, so a test may replace the module attribute.
_lambda_function = ApiFunction(lambda: service())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway REST proxy event -> proxy response (the function's configured handler).

    A missing environment variable is a deployment fault, not a request fault: ``settings()``
    raises ``SettingsError`` naming every missing variable, the invocation fails (the
    API-handler errors alarm pages) and API Gateway answers its JSON DEFAULT_5XX response.
    """
    return _lambda_function(event, context)
