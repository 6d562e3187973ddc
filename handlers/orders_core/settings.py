"""Typed runtime settings, parsed ONCE from the environment on first use (not at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# The contract between the stack and this package, written here once: the stack
# (stacks/order_pipeline_stack.py) imports these names to set the functions' environment.

#: Environment variable -> settings field. The stack sets each on both functions.
ENV_VARS: dict[str, str] = {
    "ORDERS_TABLE_NAME": "orders_table_name",
    "ORDER_QUEUE_URL": "order_queue_url",
    "ORDER_TOPIC_ARN": "order_topic_arn",
}
#: Variables Powertools reads itself (its names); the stack sets them, the handlers fall back to the defaults below.
SERVICE_NAME_VAR = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_VAR = "POWERTOOLS_METRICS_NAMESPACE"
LOG_LEVEL_VARS = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
#: Powertools service name of each function (logs, traces and the metrics' ``service`` dimension).
API_SERVICE_NAME = "orders-api"
PROCESSOR_SERVICE_NAME = "orders-processor"
EVENT_SWEEPER_SERVICE_NAME = "orders-event-sweeper"
#: The event sweeper's own variable: how long (seconds since it was stored) an order's event must
#: have been unconfirmed before the sweep publishes it. The stack sets it on the sweeper only.
EVENT_SWEEP_MIN_AGE_VAR = "EVENT_SWEEP_MIN_AGE_SECONDS"
#: CloudWatch namespace of the handlers' metrics when ``POWERTOOLS_METRICS_NAMESPACE`` is not set (a
#: local run). Deployed functions always get their environment's own namespace from the stack
#: (``pipeline_config.naming.ResourceNames.metrics_namespace``, ``OrderPipeline/<suffix>``), which
#: their alarms watch; a test ties this default to that base.
METRICS_NAMESPACE = "OrderPipeline"


class SettingsError(RuntimeError):
    """Raised when required environment variables are missing or empty (names every one)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = tuple(missing)
        super().__init__("missing required environment variable(s): " + ", ".join(missing) + ". Fix: set them on the function (the stack injects them) or in the shell before invoking.")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the handlers find their resources."""

    orders_table_name: str
    """DynamoDB orders table (env ORDERS_TABLE_NAME)."""
    order_queue_url: str
    """SQS order queue URL (env ORDER_QUEUE_URL)."""
    order_topic_arn: str
    """SNS topic of OrderProcessed events (env ORDER_TOPIC_ARN)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the settings; raise ``SettingsError`` naming EVERY missing variable at once."""
        environ = os.environ if environ is None else environ
        values = {field: (environ.get(var) or "").strip() for var, field in ENV_VARS.items()}
        missing = [var for var, field in ENV_VARS.items() if not values[field]]
        if missing:
            raise SettingsError(missing)
        return cls(**values)

    def to_environ(self) -> dict[str, str]:
        """The inverse of ``from_environ``: the variables naming these resources."""
        return {var: getattr(self, field) for var, field in ENV_VARS.items()}


def function_environment(settings: Settings, *, service_name: str, log_level: str, metrics_namespace: str = METRICS_NAMESPACE, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every variable the stack sets on a function: its resources (``Settings.to_environ``), Powertools', and its own (``extra``)."""
    return {
        **settings.to_environ(),
        SERVICE_NAME_VAR: service_name,
        METRICS_NAMESPACE_VAR: metrics_namespace,
        **{var: log_level.upper() for var in LOG_LEVEL_VARS},
        **dict(extra or {}),
    }


def event_sweep_min_age_seconds(environ: Mapping[str, str] | None = None) -> int:
    """``EVENT_SWEEP_MIN_AGE_SECONDS`` as whole seconds >= 0; ``SettingsError`` when it is missing, ``ValueError`` naming it when malformed."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(EVENT_SWEEP_MIN_AGE_VAR) or "").strip()
    if not raw:
        raise SettingsError([EVENT_SWEEP_MIN_AGE_VAR])
    if not raw.isdigit():
        raise ValueError(f"{EVENT_SWEEP_MIN_AGE_VAR} must be whole seconds >= 0 (given {raw!r}). Fix: set it on the function (the stack injects it), e.g. 300")
    return int(raw)
