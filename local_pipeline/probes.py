"""Observation of a running local pipeline, for tests and tools: queue depths, idleness, published events.

Read-only towards the pipeline (``receive_events`` consumes only the local events tap), and
separate from it so the pipeline itself stays what it runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

#: SQS attribute -> the short name of the count in ``queue_depths``.
_DEPTHS = {"ApproximateNumberOfMessages": "visible", "ApproximateNumberOfMessagesNotVisible": "in_flight", "ApproximateNumberOfMessagesDelayed": "delayed"}


def queue_depths(sqs: Any, queue_url: str, dlq_url: str) -> dict[str, int]:
    """Visible, in-flight and delayed message counts of the order queue and the DLQ (``queue_visible``, ``dlq_in_flight``, ...)."""
    out: dict[str, int] = {}
    for label, url in (("queue", queue_url), ("dlq", dlq_url)):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_DEPTHS))["Attributes"]
        for name, key in _DEPTHS.items():
            out[f"{label}_{key}"] = int(attrs.get(name, 0))
    return out


def wait_until_idle(depths: Callable[[], dict[str, int]], busy: Callable[[], bool], timeout: float = 30) -> None:
    """Block until the order queue is empty (visible, in flight, delayed) and ``busy()`` is false, twice in a row.

    Raises ``TimeoutError`` with the last counts when that does not happen within ``timeout`` s.
    Failed messages count as in flight until their visibility timeout ends, so this waits for retries.
    """
    deadline = time.monotonic() + timeout
    calm = 0
    last: dict[str, int] = {}
    while time.monotonic() < deadline:
        last = depths()
        idle = not busy() and last["queue_visible"] == last["queue_in_flight"] == last["queue_delayed"] == 0
        calm = calm + 1 if idle else 0
        if calm >= 2:  # twice in a row: a batch may be between receive and bookkeeping
            return
        time.sleep(0.1)
    raise TimeoutError(f"local pipeline not idle after {timeout} s: {last}, poller busy={busy()}")


def receive_events(sqs: Any, queue_url: str, *, wait_seconds: int = 1, max_messages: int = 100) -> list[dict[str, Any]]:
    """Read (and delete) messages from a raw-delivery tap queue: ``{"body": parsed JSON or str, "attributes": {...}}``."""
    events: list[dict[str, Any]] = []
    while len(events) < max_messages:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, max_messages - len(events)),
            WaitTimeSeconds=wait_seconds if not events else 0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            break
        for message in got:
            try:
                body: Any = json.loads(message["Body"])
            except ValueError:
                body = message["Body"]
            attributes = {k: v.get("StringValue", v.get("BinaryValue")) for k, v in message.get("MessageAttributes", {}).items()}
            events.append({"body": body, "attributes": attributes})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events
