"""A stored order whose event never got out is published once SNS recovers, without anyone redriving anything.

The shape: SNS fails for one order on every attempt. Before, the order stayed stored with
``eventPublished=false``, its message ended in the DLQ, and a client's re-POST answered 202
without sending anything: the event was never published.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.client_errors import client_error
from tests.e2e.conftest import EVENT_SWEEP_MIN_AGE_SECONDS, IDLE_TIMEOUT
from tests.e2e.support import dlq_bodies, events_per_order, new_order, post_order, stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def fail_publishing(order_id: str):
    """A ``provide-client-params`` hook: any PublishBatch carrying ``order_id``'s event fails, as SNS failing for it."""

    def hook(params, **_):
        ids = [json.loads(entry["Message"]).get("orderId") for entry in params.get("PublishBatchRequestEntries", [])]
        if order_id in ids:
            raise client_error("KMSThrottling", "PublishBatch", message="injected")

    return hook


def wait_for(probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    return None


def event_for(pipeline, order_id: str, timeout: float) -> list[dict]:
    """The events published for ``order_id`` within ``timeout`` (read from the tap, others dropped)."""
    seen: list[dict] = []

    def probe():
        seen.extend(e for e in pipeline.receive_events(wait_seconds=1) if e["body"].get("orderId") == order_id)
        return seen

    return wait_for(probe, timeout) or []


def stuck_in_the_dlq(pipeline, hooks, order: dict, functions: tuple[str, ...]) -> list[str]:
    """POST ``order`` while SNS fails for it (in ``functions``); wait until its message is in the DLQ; the hook ids."""
    ids = hooks.register("sns", "provide-client-params.sns.PublishBatch", fail_publishing(order["orderId"]), functions=functions)
    assert post_order(pipeline, order).status_code == 202
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)  # three receives, each failing its publish, then the DLQ
    dead = [m for m in dlq_bodies(pipeline) if json.loads(m["Body"])["orderId"] == order["orderId"]]
    assert dead, "the message should have reached the DLQ after maxReceiveCount failed publishes"
    item = stored_item(pipeline, order["orderId"])
    assert item is not None and item["eventPublished"] == {"BOOL": False} and "unpublishedShard" in item
    return ids


def test_an_order_whose_event_never_got_out_is_published_by_the_sweep_once_sns_recovers(pipeline, hooks):
    order = new_order()
    ids = stuck_in_the_dlq(pipeline, hooks, order, functions=("processor", "sweeper"))
    runs_before = len(pipeline.sweep_schedule.runs)
    time.sleep(EVENT_SWEEP_MIN_AGE_SECONDS + 2)  # old enough for the sweep, which still cannot publish it
    failing = [run.result for run in list(pipeline.sweep_schedule.runs)[runs_before:] if run.result and run.result["stillUnpublished"]]
    assert failing, "a sweep should have found the order and reported it still unpublished (the alarm's metric)"
    assert event_for(pipeline, order["orderId"], timeout=1) == []

    hooks.remove(ids)  # SNS recovers; nobody redrives, nobody re-POSTs
    events = event_for(pipeline, order["orderId"], timeout=30)
    assert events_per_order(events)[order["orderId"]] >= 1
    item = stored_item(pipeline, order["orderId"])
    assert item is not None, f"{order['orderId']} was never stored"
    assert item["eventPublished"] == {"BOOL": True} and "unpublishedShard" not in item  # out of the sparse index
    assert any(run.result["published"] for run in list(pipeline.sweep_schedule.runs)[runs_before:] if run.result)


def test_a_re_post_of_a_stored_order_whose_event_never_got_out_sends_it_again(pipeline, hooks):
    """The client's retry is the other way out: 202, and this time the processor publishes from the stored order."""
    order = new_order()
    ids = stuck_in_the_dlq(pipeline, hooks, order, functions=("processor", "sweeper"))
    hooks.remove([i for i in ids if i != ids[-1]])  # the processor recovers; the sweep (the last hook) still cannot publish
    answer = post_order(pipeline, order)
    assert answer.status_code == 202
    events = event_for(pipeline, order["orderId"], timeout=20)
    assert events_per_order(events)[order["orderId"]] >= 1
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    item = stored_item(pipeline, order["orderId"])
    assert item is not None and item["eventPublished"] == {"BOOL": True}, item
    hooks.remove(ids[-1:])
