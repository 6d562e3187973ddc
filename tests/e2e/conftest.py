"""One LocalPipeline (moto server + local API + poller + the REAL handlers) for all of tests/e2e."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Callable, Iterator

import pytest

from local_pipeline import LocalPipeline

#: Local-only deviation (docs/local_pipeline.md): retries after 2 s instead of the config's 180 s.
VISIBILITY_TIMEOUT_SECONDS = 2
#: A real config field, shortened so partial batches do not wait the default 5 s.
BATCHING_WINDOW_SECONDS = 1
IDLE_TIMEOUT = 60


@pytest.fixture(scope="package")
def local_pipeline() -> Iterator[LocalPipeline]:
    """The running pipeline (env suffix 'e2e': dev-like settings, e2e names), shared by tests/e2e."""
    with LocalPipeline(
        suffix="e2e",
        config_overrides={"batching_window_seconds": BATCHING_WINDOW_SECONDS},
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
    ) as pipeline:
        yield pipeline


class Hooks:
    """Registers botocore hooks on the pipeline's handler clients and removes them after the test."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        self._pipeline = pipeline
        self._registered: list[tuple[Any, str, Callable, str]] = []

    def register(self, service: str, event: str, handler: Callable) -> None:
        """``register("dynamodb", "before-call.dynamodb.PutItem", fn)`` on both handlers' ``<service>`` client."""
        for clients in (self._pipeline.api_clients, self._pipeline.processor_clients):
            client = getattr(clients, service)  # a BudgetedClient: the hook reaches every rung
            unique_id = f"e2e-{uuid.uuid4()}"
            client.register(event, handler, unique_id=unique_id)
            self._registered.append((client, event, handler, unique_id))

    def remove_all(self) -> None:
        """Unregister every hook this test added."""
        for client, event, handler, unique_id in self._registered:
            client.unregister(event, handler, unique_id=unique_id)
        self._registered.clear()


@pytest.fixture
def pipeline(local_pipeline: LocalPipeline) -> Iterator[LocalPipeline]:
    """The session pipeline, idle and with an empty events tap before the test; checked idle after it."""
    local_pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    local_pipeline.receive_events(wait_seconds=0, max_messages=10_000)
    yield local_pipeline
    with contextlib.suppress(RuntimeError):
        local_pipeline.resume_processing()


@pytest.fixture
def hooks(local_pipeline: LocalPipeline) -> Iterator[Hooks]:
    """Fault-injection hooks on the handlers' clients, removed after the test."""
    registry = Hooks(local_pipeline)
    yield registry
    registry.remove_all()
