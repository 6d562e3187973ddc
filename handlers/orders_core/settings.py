"""Typed runtime settings, parsed ONCE from the environment on first use (not at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

#: Environment variable -> settings field. The stack's PythonFunction injects these.
ENV_VARS: dict[str, str] = {
    "ORDERS_TABLE_NAME": "orders_table_name",
    "ORDER_QUEUE_URL": "order_queue_url",
    "ORDER_TOPIC_ARN": "order_topic_arn",
}


class SettingsError(RuntimeError):
    """Raised when required environment variables are missing or empty (names every one)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(
            "missing required environment variable(s): "
            + ", ".join(missing)
            + ". Fix: set them on the function (the stack injects them) or in the shell before invoking."
        )


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
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Parse the settings; raise ``SettingsError`` naming EVERY missing variable at once."""
        environ = os.environ if environ is None else environ
        values = {field: (environ.get(var) or "").strip() for var, field in ENV_VARS.items()}
        missing = [var for var, field in ENV_VARS.items() if not values[field]]
        if missing:
            raise SettingsError(missing)
        return cls(**values)
