"""Idempotency (API retries, SQS redelivery) and poison messages (DLQ after exactly maxReceiveCount receives)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import dlq_bodies, events_per_order, new_order, post_order, stored_item, stored_items, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_same_order_posted_twice_is_stored_and_published_once(pipeline):
    order = new_order()
    assert post_order(pipeline, order).status_code == 202
    assert post_order(pipeline, order).status_code == 202  # a client retry must not fail
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    assert [i["orderId"]["S"] for i in stored_items(pipeline, order["customerId"])] == [order["orderId"]]
    assert events_per_order(pipeline.receive_events(wait_seconds=2)) == {order["orderId"]: 1}


def test_sqs_duplicate_delivery_is_stored_and_published_once(pipeline, hooks):
    # given the exact SendMessage the API handler made
    sent: list[dict] = []
    hooks.register("sqs", "provide-client-params.sqs.SendMessage", lambda params, **_: sent.append(copy.deepcopy(params)))
    order = new_order()
    assert post_order(pipeline, order).status_code == 202
    assert len(sent) == 1
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    first_events = pipeline.receive_events(wait_seconds=2)

    # when SQS delivers the same message body twice more (at-least-once delivery)
    sqs = pipeline.client("sqs")
    duplicate_ids = {sqs.send_message(**sent[0])["MessageId"] for _ in range(2)}
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    # then the processor handled both duplicates successfully, yet one item and one event exist
    handled = {mid for inv in pipeline.poller.invocations for mid in inv.receive_counts if mid not in inv.failed_ids}
    assert duplicate_ids <= handled
    assert [i["orderId"]["S"] for i in stored_items(pipeline, order["customerId"])] == [order["orderId"]]
    assert events_per_order(first_events + pipeline.receive_events(wait_seconds=2)) == {order["orderId"]: 1}


def test_poison_message_reaches_the_dlq_after_exactly_max_receive_count_receives(pipeline):
    # given a backlog of nine valid orders and one poison message, gathered into ONE batch of 10
    config = pipeline.config
    assert config.batch_size == 10 and config.max_receive_count == 3  # the stack's defaults, not test values
    customer = unique("cust")
    orders = [new_order(customer) for _ in range(9)]
    poison = json.dumps({"orderId": unique("poison"), "customerId": customer, "items": "not a list"})
    pipeline.pause_processing()
    try:
        for order in orders:
            assert post_order(pipeline, order).status_code == 202
        poison_id = pipeline.client("sqs").send_message(QueueUrl=pipeline.queue_url, MessageBody=poison)["MessageId"]
        before = len(pipeline.poller.invocations)
    finally:
        pipeline.resume_processing()

    # when the pipeline drains the queue
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    # then the first invocation had all ten records, and the nine valid orders are stored
    invocations = pipeline.poller.invocations[before:]
    assert invocations[0].size == 10 and poison_id in invocations[0].failed_ids
    assert len(invocations[0].failed_ids) == 1
    assert {i["orderId"]["S"] for i in stored_items(pipeline, customer)} == {o["orderId"] for o in orders}
    assert events_per_order(pipeline.receive_events(wait_seconds=2)) == {o["orderId"]: 1 for o in orders}

    # and the poison message was received exactly maxReceiveCount times, then moved to the DLQ
    receives = [inv.receive_counts[poison_id] for inv in invocations if poison_id in inv.receive_counts]
    assert receives == list(range(1, config.max_receive_count + 1))
    dead = dlq_bodies(pipeline)
    assert [m["Body"] for m in dead] == [poison]
    assert stored_item(pipeline, json.loads(poison)["orderId"]) is None
