"""What the infrastructure needs from the Lambda package, without importing it: its files, routes and variable names.

The package (``handlers/``) ships alone and is imported as ``orders_core`` inside Lambda, so the
stack must never import it (a process would then hold two copies, ``handlers.orders_core`` and
``orders_core``). The route table and the order schema are JSON files the stack reads; the
environment-variable and service names are the package's ``orders_core.settings`` contract,
copied here because that module cannot import this one (``tests/config/test_lambda_contract.py``
ties every copy to its source).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_config.naming import METRICS_NAMESPACE_BASE

#: The Lambda package's source folder, and the JSON contracts in it.
HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
ORDER_SCHEMA_FILE = HANDLERS_DIR / "schemas" / "order.schema.json"
ROUTES_FILE = HANDLERS_DIR / "schemas" / "routes.json"

#: Environment variable -> the handlers' settings field (``orders_core.settings.ENV_VARS``).
ENV_VARS: dict[str, str] = {
    "ORDERS_TABLE_NAME": "orders_table_name",
    "ORDER_QUEUE_URL": "order_queue_url",
    "ORDER_TOPIC_ARN": "order_topic_arn",
}
SERVICE_NAME_VAR = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_VAR = "POWERTOOLS_METRICS_NAMESPACE"
#: The handlers' namespace when ``POWERTOOLS_METRICS_NAMESPACE`` is not set (``orders_core.settings.METRICS_NAMESPACE``):
#: the base every environment's namespace starts with.
METRICS_NAMESPACE = METRICS_NAMESPACE_BASE
LOG_LEVEL_VARS = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
#: Powertools service name of each function (the ``service`` dimension its alarms match).
API_SERVICE_NAME = "orders-api"
PROCESSOR_SERVICE_NAME = "orders-processor"
EVENT_SWEEPER_SERVICE_NAME = "orders-event-sweeper"
#: The event sweeper's own variable: seconds an order's event must stay unconfirmed before the sweep publishes it.
EVENT_SWEEP_MIN_AGE_VAR = "EVENT_SWEEP_MIN_AGE_SECONDS"

_PARAMETER = re.compile(r"^\{([A-Za-z][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class ApiRoute:
    """One route of the REST API as API Gateway needs it: an HTTP method on a path."""

    id: str
    """Stable construct-id fragment (``post-orders``): part of the stack's public contract."""
    http_method: str
    path: str
    """Resource path with ``{param}`` placeholders, e.g. ``/orders/{orderId}``."""
    validate_body: bool = False
    """API Gateway validates the JSON body against the order model before invoking the handler."""

    @property
    def segments(self) -> tuple[str, ...]:
        """The path's segments, placeholders included."""
        return tuple(self.path.strip("/").split("/"))

    @property
    def path_parameters(self) -> tuple[str, ...]:
        """Names of the ``{param}`` placeholders, in order."""
        return tuple(m.group(1) for m in map(_PARAMETER.match, self.segments) if m)

    @property
    def source_arn_path(self) -> str:
        """The path as it appears in an execute-api ARN (``{param}`` -> ``*``)."""
        return "/" + "/".join("*" if _PARAMETER.match(s) else s for s in self.segments)

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters when ``segments`` (a request path, split) fit this route's path, else None.

        As API Gateway resolves a resource, for the local pipeline's stand-in of it: literal segments
        must be equal, a parameter takes one non-empty segment, as given. The API handler routes with
        ``orders_core.routes.Route.match``; ``tests/config/test_lambda_contract.py`` ties the two.
        """
        template = self.segments
        if len(segments) != len(template):
            return None
        found: dict[str, str] = {}
        for want, got in zip(template, segments, strict=True):
            parameter = _PARAMETER.match(want)
            if parameter is None:
                if want != got:
                    return None
            elif got == "":
                return None
            else:
                found[parameter.group(1)] = got
        return found


def read_routes(path: Path = ROUTES_FILE) -> tuple[ApiRoute, ...]:
    """The route table's routes, as the API needs them. The table's own checks run in the package's parser (``orders_core.routes``), at every cold start and in the tests."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return tuple(ApiRoute(entry["id"], entry["method"], entry["path"], bool(entry.get("validateBody", False))) for entry in document["routes"])


def read_order_schema(path: Path = ORDER_SCHEMA_FILE) -> dict[str, Any]:
    """THE order schema (API Gateway's model; the handler validates with the same file)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(schema, dict):
        raise ValueError(f"{path}: an order schema is a JSON object, not {type(schema).__name__}")
    return schema


def function_environment(
    *, orders_table_name: str, order_queue_url: str, order_topic_arn: str, service_name: str, log_level: str, metrics_namespace: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every variable the stack sets on a function: its resources, Powertools' and its own (``extra``); ``orders_core.settings.function_environment``'s contract."""
    resources = {"orders_table_name": orders_table_name, "order_queue_url": order_queue_url, "order_topic_arn": order_topic_arn}
    return {
        **{var: resources[field] for var, field in ENV_VARS.items()},
        SERVICE_NAME_VAR: service_name,
        METRICS_NAMESPACE_VAR: metrics_namespace,
        **{var: log_level.upper() for var in LOG_LEVEL_VARS},
        **dict(extra or {}),
    }
