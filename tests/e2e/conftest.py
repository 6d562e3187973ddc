"""One LocalPipeline (moto server + local API + poller + the REAL handlers) for all of tests/e2e."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local_pipeline import LocalPipeline
from tests.least_privilege import API_HANDLER, EVENT_SWEEPER, PROCESSOR, CallRecorder

#: Local-only deviation (docs/local_pipeline.md): retries after 2 s instead of the config's 180 s.
VISIBILITY_TIMEOUT_SECONDS = 2
#: A real config field, shortened so partial batches do not wait the default 5 s.
BATCHING_WINDOW_SECONDS = 1
#: The event sweep runs every second (a local-only interval) for orders whose event has been
#: unconfirmed for 5 s (a real config field, 300 s by default): long after any healthy publish.
EVENT_SWEEP_INTERVAL_SECONDS = 1
EVENT_SWEEP_MIN_AGE_SECONDS = 5
IDLE_TIMEOUT = 60


#: Marker of the tests that judge what the whole package recorded; they run after every other test.
AFTER_ALL_SCENARIOS = "after_all_scenarios"


def pytest_configure(config: pytest.Config) -> None:
    """Register this package's marker."""
    config.addinivalue_line("markers", f"{AFTER_ALL_SCENARIOS}: runs after every other test (reads what they recorded)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the ``after_all_scenarios`` tests behind the last other test of this package.

    Within the package, not to the end of the session: the recorder and the pipeline are
    package fixtures, torn down once the package's last test has run.
    """
    last = [item for item in items if item.get_closest_marker(AFTER_ALL_SCENARIOS)]
    if not last:
        return
    rest = [item for item in items if item not in last]
    package = last[0].path.parent
    in_package = [i for i, item in enumerate(rest) if item.path.parent == package]
    at = in_package[-1] + 1 if in_package else len(rest)
    items[:] = rest[:at] + last + rest[at:]


@pytest.fixture(scope="package")
def recorded_calls() -> CallRecorder:
    """Every AWS call the handlers make during tests/e2e (tests/least_privilege.py)."""
    return CallRecorder()


@pytest.fixture(scope="package")
def local_pipeline(recorded_calls: CallRecorder) -> Iterator[LocalPipeline]:
    """The running pipeline (env suffix 'e2e': dev-like settings, e2e names), shared by tests/e2e.

    The recorder is attached before the first request, so it sees every call of every test.
    """
    with LocalPipeline(
        suffix="e2e",
        config_overrides={"batching_window_seconds": BATCHING_WINDOW_SECONDS, "event_sweep_min_age_seconds": EVENT_SWEEP_MIN_AGE_SECONDS},
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        event_sweep_interval_seconds=EVENT_SWEEP_INTERVAL_SECONDS,
    ) as pipeline:
        recorded_calls.attach(API_HANDLER, pipeline.api_clients)
        recorded_calls.attach(PROCESSOR, pipeline.processor_clients)
        recorded_calls.attach(EVENT_SWEEPER, pipeline.sweeper_clients)
        try:
            yield pipeline
        finally:
            recorded_calls.detach()


@pytest.fixture(autouse=True)
def _name_the_recording(request: pytest.FixtureRequest, recorded_calls: CallRecorder) -> Iterator[None]:
    """Attribute the calls made while a test runs to that test (its node id)."""
    recorded_calls.current_test = request.node.nodeid
    yield


#: The handlers whose clients ``Hooks`` can reach, by the name tests give them.
HOOKED_FUNCTIONS = ("api", "processor", "sweeper")


class Hooks:
    """Registers botocore hooks on the pipeline's handler clients and removes them after the test."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        self._pipeline = pipeline
        self._registered: list[tuple[Any, str, Callable, str]] = []

    def register(self, service: str, event: str, handler: Callable, *, functions: tuple[str, ...] = HOOKED_FUNCTIONS) -> list[str]:
        """``register("dynamodb", "before-call.dynamodb.PutItem", fn)`` on the ``<service>`` client of each of ``functions``; the hook ids."""
        by_name = {"api": self._pipeline.api_clients, "processor": self._pipeline.processor_clients, "sweeper": self._pipeline.sweeper_clients}
        ids = []
        for clients in (by_name[name] for name in functions):
            client = getattr(clients, service)  # a BudgetedClient: the hook reaches every rung
            unique_id = f"e2e-{uuid.uuid4()}"
            client.register(event, handler, unique_id=unique_id)
            self._registered.append((client, event, handler, unique_id))
            ids.append(unique_id)
        return ids

    def remove(self, ids: list[str]) -> None:
        """Unregister the hooks ``register`` returned these ids for."""
        for client, event, handler, unique_id in [r for r in self._registered if r[3] in ids]:
            client.unregister(event, handler, unique_id=unique_id)
        self._registered = [r for r in self._registered if r[3] not in ids]

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
