"""Smoke test and load test logic, over an ``OrdersApi``-like object (injected, so tests can fake it)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ordersctl.stats import LatencySummary, summarize

ACCEPTED = 202
#: Upper bound of ``load --concurrency``. Each sender is one thread holding its own HTTP
#: connection (one file descriptor), so 512 stays well under the common 1024 open-files
#: limit, and it is already far above the API's throttle burst (200 in dev and staging,
#: 1000 in prod): more senders would only measure throttling. The benchmark runs 100.
MAX_CONCURRENCY = 512


def test_order(prefix: str = "smoke", *, customer_id: str = "ordersctl") -> dict[str, Any]:
    """A valid order (per handlers/schemas/order.schema.json) with a fresh, recognisable id."""
    return {
        "orderId": f"{prefix}-{uuid.uuid4().hex[:16]}",
        "customerId": customer_id,
        "currency": "USD",
        "items": [{"productId": "ORDERSCTL-TEST", "quantity": 1, "unitPrice": 1.0}],
    }


def wait_for(check: Callable[[], bool], *, timeout_seconds: float, interval_seconds: float = 0.25, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Call ``check`` until it is true or ``timeout_seconds`` pass; True when it became true."""
    deadline = clock() + timeout_seconds
    while True:
        if check():
            return True
        if clock() >= deadline:
            return False
        sleep(interval_seconds)


@dataclass(frozen=True, kw_only=True)
class SmokeResult:
    """Outcome of one smoke round trip."""

    ok: bool
    order_id: str
    post_status: int | None = None
    post_latency_seconds: float | None = None
    round_trip_seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def smoke(api: Any, *, timeout_seconds: float = 30.0, order: dict[str, Any] | None = None, clock: Callable[[], float] = time.monotonic) -> SmokeResult:
    """POST one order, then GET it until it is there (bounded); report the round-trip time."""
    order = order or test_order("smoke")
    order_id = order["orderId"]
    session = api.session()
    started = clock()
    try:
        posted = api.create_order(session, order)
    except Exception as error:  # noqa: BLE001 -- network errors: report, do not crash the CLI
        return SmokeResult(ok=False, order_id=order_id, error=f"POST /orders failed: {error}")
    if posted.status != ACCEPTED:
        return SmokeResult(
            ok=False, order_id=order_id, post_status=posted.status, post_latency_seconds=posted.latency_seconds, error=f"POST /orders answered {posted.status}, expected {ACCEPTED}: {posted.body}"
        )
    last: dict[str, Any] = {}

    def stored() -> bool:
        got = api.get_order(session, order_id)
        last["status"] = got.status
        return got.status == 200 and isinstance(got.body, dict) and got.body.get("orderId") == order_id

    if not wait_for(stored, timeout_seconds=timeout_seconds, clock=clock):
        return SmokeResult(
            ok=False,
            order_id=order_id,
            post_status=posted.status,
            post_latency_seconds=posted.latency_seconds,
            error=f"order not readable after {timeout_seconds:g} s (last GET status {last.get('status')}); check the DLQ and the processor's logs",
        )
    return SmokeResult(ok=True, order_id=order_id, post_status=posted.status, post_latency_seconds=posted.latency_seconds, round_trip_seconds=clock() - started)


@dataclass(frozen=True, kw_only=True)
class LoadResult:
    """What a load run sent and how the API answered."""

    accepted_ids: tuple[str, ...]
    statuses: dict[str, int]
    errors: tuple[str, ...]
    latency: LatencySummary


def load(api: Any, *, count: int, concurrency: int, progress: Callable[[int], None] = lambda n: None, clock: Callable[[], float] = time.perf_counter, prefix: str = "load") -> LoadResult:
    """POST ``count`` orders from ``concurrency`` threads; collect statuses and latencies."""
    if count < 1:
        raise ValueError(f"count must be at least 1 (given {count})")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY} (given {concurrency})")
    local = threading.local()
    lock = threading.Lock()
    accepted: list[str] = []
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: list[str] = []

    def one(_: int) -> None:
        if not hasattr(local, "session"):
            local.session = api.session()
        order = test_order(prefix)
        try:
            response = api.create_order(local.session, order)
        except Exception as error:  # noqa: BLE001 -- one failed request is counted, the run goes on
            with lock:
                statuses["error"] += 1
                if len(errors) < 20:
                    errors.append(str(error))
        else:
            with lock:
                statuses[str(response.status)] += 1
                latencies.append(response.latency_seconds)
                if response.status == ACCEPTED:
                    accepted.append(order["orderId"])
                elif len(errors) < 20:
                    errors.append(f"{response.status}: {response.body}")
        progress(1)

    started = clock()
    with ThreadPoolExecutor(max_workers=min(concurrency, count), thread_name_prefix="ordersctl-load") as pool:
        list(pool.map(one, range(count)))
    elapsed = clock() - started
    return LoadResult(accepted_ids=tuple(accepted), statuses=dict(statuses), errors=tuple(errors), latency=summarize(latencies, elapsed))


@dataclass(frozen=True, kw_only=True)
class Verification:
    """Which accepted orders were stored, missing, or found in the DLQ."""

    stored: int
    missing: tuple[str, ...] = ()
    in_dlq: tuple[str, ...] = ()
    rejected: int = 0

    @property
    def ok(self) -> bool:
        """Every accepted order stored, none dead-lettered, none rejected."""
        return not self.missing and not self.in_dlq and self.rejected == 0


def verify(
    order_ids: Iterable[str],
    *,
    is_stored: Callable[[str], bool],
    dlq_ids: Callable[[], set[str]],
    timeout_seconds: float,
    rejected: int = 0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Verification:
    """Wait (bounded) until every id is stored; then report the missing ones and any in the DLQ."""
    ids = set(order_ids)
    pending = set(ids)

    def drained() -> bool:
        for order_id in list(pending):
            if is_stored(order_id):
                pending.discard(order_id)
        return not pending

    wait_for(drained, timeout_seconds=timeout_seconds, interval_seconds=0.5, clock=clock, sleep=sleep)
    # Only this run's orders count: the DLQ may hold older failures.
    dead = dlq_ids() & ids
    return Verification(stored=len(ids) - len(pending), missing=tuple(sorted(pending)), in_dlq=tuple(sorted(dead)), rejected=rejected)
