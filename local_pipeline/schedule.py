"""``Schedule``: plays an EventBridge ``rate(...)`` rule locally: invokes a handler every interval, in a thread."""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], Any]


@dataclass(frozen=True)
class Run:
    """One scheduled invocation: when, what it returned, or the error it raised."""

    started_at: float
    result: Any = None
    error: str | None = None


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    """The event an EventBridge schedule sends its target (``Scheduled Event`` from ``aws.events``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule_name}"],
        "detail": {},
    }


class Schedule:
    """Invokes ``handler`` every ``interval_seconds`` (first run one interval after ``start``); ``run_now`` runs it at once.

    Runs never overlap (one thread, one lock). An interval of 0 starts no thread: the schedule runs
    only when asked (``run_now``), which is how tests drive it.
    """

    def __init__(self, handler: Handler, *, context_factory: Callable[[], Any], interval_seconds: float, rule_name: str, region: str) -> None:
        if isinstance(interval_seconds, bool) or not isinstance(interval_seconds, (int, float)) or interval_seconds < 0:
            raise ValueError(f"interval_seconds must be >= 0 (given {interval_seconds!r}); use e.g. 300, or 0 to run only on run_now()")
        self._handler = handler
        self._context_factory = context_factory
        self.interval_seconds = interval_seconds
        self._rule_name = rule_name
        self._region = region
        self._run_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: collections.deque[Run] = collections.deque(maxlen=1000)
        """The runs so far (the last 1,000), oldest first."""

    def run_now(self) -> Run:
        """Invoke the handler once, now (after a run in progress); its ``Run``."""
        with self._run_lock:
            started = time.time()
            try:
                run = Run(started, result=self._handler(scheduled_event(self._rule_name, self._region), self._context_factory()))
            except Exception as exc:  # noqa: BLE001 -- a failed run is recorded, as Lambda records a failed async invocation
                log.warning("scheduled %s failed: %s: %s", self._rule_name, type(exc).__name__, exc)
                run = Run(started, error=f"{type(exc).__name__}: {exc}")
            self.runs.append(run)
            return run

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.run_now()

    def start(self) -> None:
        """Start the timer thread (no-op when running, or when the interval is 0)."""
        if self.interval_seconds == 0 or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"schedule-{self._rule_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        """Stop the timer (after a run in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._thread = None
