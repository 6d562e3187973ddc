"""Shared helpers of the processor and pipeline sections: a LocalPipeline for benchmarks, orders, AWS-call counting."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import uuid
from collections import Counter
from typing import Any

from bench.measure import QUIET_JSII, ROOT

for _path in (str(ROOT), str(ROOT / "handlers")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.update(QUIET_JSII)


def quiet_logs() -> None:
    """Handler logs (one JSON line per order) would swamp the bench output and slow it down."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    os.environ["LOG_LEVEL"] = "ERROR"
    logging.disable(logging.WARNING)


def new_pipeline(**options: Any):
    """A LocalPipeline for benchmarks: its own suffix, a short visibility timeout, log level ERROR."""
    from local_pipeline import LocalPipeline

    return LocalPipeline(suffix="bench", visibility_timeout_seconds=30, config_overrides={"log_level": "ERROR"}, **options)


def order(run_id: str, index: int) -> dict:
    """A valid order (the schema's required fields, two lines) with a unique orderId."""
    return {
        "orderId": f"bench-{run_id}-{index:06d}",
        "customerId": f"customer-{index % 50}",
        "currency": "USD",
        "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}, {"productId": "sku-2", "quantity": 1, "unitPrice": 24.5}],
    }


def run_id() -> str:
    """A short id that keeps one bench run's orders apart from the next."""
    return uuid.uuid4().hex[:8]


def body(data: dict) -> bytes:
    """JSON request body."""
    return json.dumps(data).encode()


def _body_bytes(params: Any) -> bytes:
    # before-call sees the serialized request; DynamoDB's JSON protocol body is bytes (or str).
    raw = params.get("body", b"") if isinstance(params, dict) else b""
    return raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else b""


class CallCounter:
    """Counts AWS API calls per ``Service.Operation`` via botocore's ``before-call`` event on the given clients."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, *clients: Any) -> CallCounter:
        """Hook every client (the processor's, ``LocalPipeline.processor_clients``)."""
        for client in clients:
            client.register("before-call", self._on_call, unique_id=f"bench-counter-{id(self)}")
        return self

    def _on_call(self, model: Any = None, params: Any = None, **_: Any) -> None:
        # One event per API call as issued by the client (before botocore's own retries).
        name = f"{model.service_model.service_id}.{model.name}"
        if model.name == "PutItem" and b'"ConditionExpression"' in _body_bytes(params):
            name += " (conditional)"
        with self._lock:
            self.calls[name] += 1

    def take(self) -> Counter[str]:
        """The counts since the last take, and reset."""
        with self._lock:
            out, self.calls = self.calls, Counter()
        return out
