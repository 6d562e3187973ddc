"""Injected DynamoDB/SNS faults: every accepted order is stored exactly once, published at least once, none lost."""

from __future__ import annotations

import collections
import json
import random
import threading
import types
from typing import Any

import pytest

from orders_core.budget import PROCESSOR_TIMEOUTS
from tests.client_errors import client_error
from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import dlq_bodies, events_per_order, new_order, post_order, stored_items, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


class Faults:
    """Fails chosen calls of one operation; thread-safe (the poller and the API run in other threads)."""

    def __init__(self, operation: str, code: str, should_fail) -> None:
        self.operation, self.code, self.should_fail = operation, code, should_fail
        self.lock = threading.Lock()
        self.calls = 0
        self.failed = 0

    def __call__(self, **_kwargs):
        with self.lock:
            self.calls += 1
            fail = self.should_fail(self.calls)
            if fail:
                self.failed += 1
        if fail:
            raise client_error(self.code, self.operation, message="injected by the e2e test")


def send_orders(pipeline, count: int) -> tuple[str, list[dict]]:
    customer = unique("cust")
    orders = [new_order(customer) for _ in range(count)]
    for order in orders:
        assert post_order(pipeline, order).status_code == 202
    return customer, orders


def assert_nothing_lost(pipeline, customer: str, orders: list[dict], events: list[dict]) -> None:
    """Each accepted order: one item, eventPublished, >= 1 event; no message left in queue or DLQ."""
    items = stored_items(pipeline, customer)
    ids = [i["orderId"]["S"] for i in items]
    assert sorted(ids) == sorted(o["orderId"] for o in orders)  # exactly once each
    assert all(i["eventPublished"] == {"BOOL": True} for i in items)
    counts = events_per_order(events)
    assert set(counts) == {o["orderId"] for o in orders} and all(n >= 1 for n in counts.values())
    assert dlq_bodies(pipeline) == []
    depths = pipeline.queue_depths()
    assert depths["queue_visible"] == depths["queue_in_flight"] == 0


def test_put_item_failures_are_retried_until_every_order_is_stored(pipeline, hooks):
    # the first three writes are throttled
    faults = Faults("PutItem", "ProvisionedThroughputExceededException", lambda n: n <= 3)
    hooks.register("dynamodb", "before-call.dynamodb.PutItem", faults)
    customer, orders = send_orders(pipeline, 5)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert faults.failed == 3
    assert_nothing_lost(pipeline, customer, orders, pipeline.receive_events(wait_seconds=2))


def test_random_put_item_and_publish_failures_lose_nothing(pipeline, hooks):
    # Random faults with a fixed seed, at most twice per order and operation, so no order fails
    # maxReceiveCount (3) times: that would rightly send it to the DLQ, which is the poison test's
    # business. (The clients retry within the invocation too, so most faults are absorbed there.)
    rng = random.Random(20240611)
    lock = threading.Lock()
    failures_per_order: collections.Counter = collections.Counter()
    injected: collections.Counter[str] = collections.Counter()

    def maybe_fail(operation: str, order_ids: list[str], code: str) -> None:
        with lock:
            if not order_ids or any(failures_per_order[(operation, o)] >= 2 for o in order_ids) or rng.random() >= 0.3:
                return
            failures_per_order.update((operation, o) for o in order_ids)
            injected[operation] += 1
        raise client_error(code, operation, status=500, message="injected by the e2e test")

    def put_item(params, **_):
        maybe_fail("PutItem", [params["Item"]["orderId"]["S"]], "InternalServerError")

    def publish_batch(params, **_):
        ids = [json.loads(e["Message"])["orderId"] for e in params["PublishBatchRequestEntries"]]
        maybe_fail("PublishBatch", ids, "ThrottledException")

    # provide-client-params sees the API-level parameters (the orderIds); raising there fails the call.
    hooks.register("dynamodb", "provide-client-params.dynamodb.PutItem", put_item)
    hooks.register("sns", "provide-client-params.sns.PublishBatch", publish_batch)
    customer, orders = send_orders(pipeline, 12)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert injected["PutItem"] > 0 and injected["PublishBatch"] > 0, f"the seed injected too little to prove anything: {injected}"
    assert_nothing_lost(pipeline, customer, orders, pipeline.receive_events(wait_seconds=2))


def test_publish_failing_after_the_write_succeeded_publishes_on_redelivery(pipeline, hooks):
    # every write succeeds; every attempt of the first PublishBatch call fails outright (the
    # client retries a 5xx within the invocation's budget), so its records are redelivered
    attempts = PROCESSOR_TIMEOUTS.max_attempts
    faults = Faults("PublishBatch", "InternalError", lambda n: n <= attempts)
    writes = Faults("PutItem", "unused", lambda n: False)  # counts writes only
    hooks.register("sns", "before-call.sns.PublishBatch", faults)
    hooks.register("dynamodb", "before-call.dynamodb.PutItem", writes)
    customer, orders = send_orders(pipeline, 3)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert faults.failed == attempts
    # redeliveries hit the conditional write (the item exists) and publish from the stored item
    assert writes.calls > len(orders)
    assert_nothing_lost(pipeline, customer, orders, pipeline.receive_events(wait_seconds=2))


def test_publish_batch_partial_failure_retries_only_the_failed_entries(pipeline, hooks):
    # SNS answers 200 with every entry in "Failed" once (nothing published): the partial-failure path.
    state: dict[str, Any] = {"ids": [], "short_circuited": 0}
    lock = threading.Lock()

    def remember_ids(params, **_):
        state["ids"] = [e["Id"] for e in params.get("PublishBatchRequestEntries", [])]

    def fail_entries_once(**_):
        with lock:
            if state["short_circuited"]:
                return None
            state["short_circuited"] += 1
        failed = [{"Id": i, "Code": "InternalError", "Message": "injected", "SenderFault": False} for i in state["ids"]]
        return types.SimpleNamespace(status_code=200, headers={}), {"Successful": [], "Failed": failed, "ResponseMetadata": {"HTTPStatusCode": 200}}

    hooks.register("sns", "provide-client-params.sns.PublishBatch", remember_ids)
    hooks.register("sns", "before-call.sns.PublishBatch", fail_entries_once)
    customer, orders = send_orders(pipeline, 2)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert state["short_circuited"] == 1
    assert_nothing_lost(pipeline, customer, orders, pipeline.receive_events(wait_seconds=2))
