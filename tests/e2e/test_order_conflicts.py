"""The orderId is an idempotency key: a reused one is a 409, or — while in flight — a DLQ entry with a reason. Never lost.

The invariant, counted order by order over the whole pipeline: every POST answered 202 ends up
either stored with the content it was accepted with, or in the DLQ with a reason (the processor's
"order conflict" log line for that messageId). Any other outcome fails the test.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import threading

import pytest

from tests.client_errors import client_error
from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import ConflictLog, Ledger, dlq_bodies, fingerprint_of, new_order, post_order, stored_item, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def conflict_log(pipeline):
    """The processor's conflict reasons, read from its logger as CloudWatch Logs would hold them."""
    from order_processor import app as processor_app

    handler = ConflictLog()
    target = logging.getLogger(processor_app.logger.name)
    target.addHandler(handler)
    yield handler
    target.removeHandler(handler)


@pytest.fixture
def sends(hooks):
    """SendMessage calls of the API handler, counted."""
    counter = {"calls": 0}
    lock = threading.Lock()

    def count(**_):
        with lock:
            counter["calls"] += 1

    hooks.register("sqs", "provide-client-params.sqs.SendMessage", count)
    return counter


def variant(order: dict, quantity: int) -> dict:
    """The same orderId and customer with a different first line: a different order."""
    other = {**order, "items": [dict(order["items"][0], quantity=quantity), *order["items"][1:]]}
    return other


def test_a_different_order_under_a_stored_order_id_is_409_and_changes_nothing(pipeline, sends):
    original = new_order()
    assert post_order(pipeline, original).status_code == 202
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    stored = stored_item(pipeline, original["orderId"])
    assert len(pipeline.receive_events(wait_seconds=2)) == 1
    sent_before = sends["calls"]

    other = {"orderId": original["orderId"], "customerId": unique("cust-b"), "items": [{"productId": "sku-B", "quantity": 7, "unitPrice": 1.5}]}
    answer = post_order(pipeline, other)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "OrderConflict" and body["details"][0]["path"] == "orderId" and original["orderId"] in body["details"][0]["problem"]
    assert isinstance(body["message"], str) and body["requestId"]

    # the same order again, in another form (lines reversed): a safe retry, nothing sent
    retry = {**original, "items": list(reversed(original["items"]))}
    again = post_order(pipeline, retry)
    assert again.status_code == 202 and again.headers["Location"].endswith(f"/orders/{original['orderId']}")
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert sends["calls"] == sent_before
    assert stored_item(pipeline, original["orderId"]) == stored
    assert pipeline.receive_events(wait_seconds=1) == []  # no second event either


def test_a_different_order_in_flight_goes_to_the_dlq_with_a_reason(pipeline, conflict_log):
    """Given two different orders with one orderId accepted before either is stored, one is stored, the other dead-lettered."""
    first = new_order()
    second = variant(first, quantity=99)
    ledger = Ledger()
    pipeline.pause_processing()
    try:
        assert ledger.post(pipeline, first).status_code == 202
        assert ledger.post(pipeline, second).status_code == 202  # the API cannot see an order in flight
    finally:
        pipeline.resume_processing()
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    dead = dlq_bodies(pipeline)
    outcome = ledger.account(pipeline, dead, conflict_log)
    assert outcome["unaccounted"] == [] and outcome["stored"] == 1 and outcome["dlq_with_reason"] == 1, outcome
    [message] = dead
    reason = conflict_log.reasons[message["MessageId"]]
    assert first["orderId"] in reason and "different content" in reason
    stored = stored_item(pipeline, first["orderId"])
    assert stored is not None, f"{first['orderId']} was never stored"
    assert stored["orderFingerprint"]["S"] in {fingerprint_of(first), fingerprint_of(second)}
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= pipeline.config.max_receive_count


def test_fifty_concurrent_bodies_for_one_order_id_store_one_and_lose_none(pipeline, conflict_log):
    """50 concurrent POSTs of one orderId with 50 different bodies: exactly one stored, every other a 409 or in the DLQ with a reason."""
    base = new_order()
    bodies = [variant(base, quantity=q) for q in range(1, 51)]
    assert len({fingerprint_of(b) for b in bodies}) == 50
    ledger = Ledger()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda body: ledger.post(pipeline, body).status_code, bodies))
    assert set(statuses) <= {202, 409} and ledger.other == []
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT * 2)

    outcome = ledger.account(pipeline, dlq_bodies(pipeline), conflict_log)
    assert outcome["unaccounted"] == [], outcome
    assert outcome["stored"] == 1
    assert outcome["stored"] + outcome["dlq_with_reason"] + outcome["rejected_409"] == 50, outcome


def test_every_accepted_order_is_stored_as_accepted_or_dead_lettered_with_a_reason(pipeline, conflict_log, hooks):
    """The invariant over a mixed workload: new orders, retries, reused ids (stored and in flight), transient faults."""
    rng = random.Random(9)
    lock = threading.Lock()
    faults = {"injected": 0}

    def flaky_put(**_):
        # Transient throttling on ~15 % of writes: absorbed by the retries, never a lost order.
        with lock:
            fail = rng.random() < 0.15
            faults["injected"] += fail
        if fail:
            raise client_error("ProvisionedThroughputExceededException", "PutItem", message="injected")

    hooks.register("dynamodb", "before-call.dynamodb.PutItem", flaky_put)
    ledger = Ledger()
    fresh = [new_order() for _ in range(30)]
    for order in fresh:
        ledger.post(pipeline, order)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    # retries of stored orders, reuses of stored ids, and reuses while in flight
    in_flight = [new_order() for _ in range(10)]
    pipeline.pause_processing()
    try:
        for order in fresh[:10]:
            ledger.post(pipeline, {**order, "items": list(reversed(order["items"]))})  # retry: 202, nothing sent
        for order in fresh[10:20]:
            ledger.post(pipeline, variant(order, quantity=500))  # stored id reused: 409
        for order in in_flight:
            ledger.post(pipeline, order)
            ledger.post(pipeline, variant(order, quantity=77))  # both 202: one will be dead-lettered
    finally:
        pipeline.resume_processing()
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    outcome = ledger.account(pipeline, dlq_bodies(pipeline), conflict_log)
    assert ledger.other == [], ledger.other
    assert outcome["unaccounted"] == [], outcome
    assert outcome["accepted"] == 30 + 10 + 20 and outcome["rejected_409"] == 10
    assert outcome["stored"] == 30 + 10 + 10 and outcome["dlq_with_reason"] == 10, outcome
    assert faults["injected"] > 0, "the seed injected no fault: the invariant was not tested under failures"
