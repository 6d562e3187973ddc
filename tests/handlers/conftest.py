"""Handler unit-test fixtures: environment, fake LambdaContext, JSON event fixtures, fake adapters."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

EVENTS = Path(__file__).parent / "events"

# Outside Lambda Tracer disables itself anyway; say so explicitly, before the apps are imported.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "OrderPipelineTest")

TEST_ENV = {
    "ORDERS_TABLE_NAME": "orders-test",
    "ORDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/order-queue-test",
    "ORDER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:order-events-test",
}


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a LambdaContext."""

    function_name: str = "orders-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orders-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        """Plenty of time left."""
        return 10_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A fake LambdaContext."""
    return FakeLambdaContext()


@pytest.fixture
def load_event():
    """Load a JSON event fixture by name (a fresh copy each time)."""

    def _load(name: str) -> dict:
        return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))

    return _load


@pytest.fixture
def handler_env(monkeypatch):
    """The handlers' environment variables, with every cache reset before and after."""
    from orders_core import aws

    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    aws.reset()
    yield TEST_ENV
    aws.reset()
