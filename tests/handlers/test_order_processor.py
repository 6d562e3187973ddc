"""Order processor through SQS event fixtures, on fake adapters: exactly-once store, at-least-once publish."""

from __future__ import annotations

import copy
import json
from datetime import UTC
from decimal import Decimal

import pytest

from order_processor import app
from orders_core.errors import DownstreamError
from orders_core.service import OrderProcessingService

from .fakes import FakePublisher, FakeRepository

CLOCK = "2026-11-28T22:45:00.000000Z"


class Processor:
    """The handler wired to fakes."""

    def __init__(self, context):
        self.repository = FakeRepository()
        self.publisher = FakePublisher()
        self.context = context

    def __call__(self, event):
        return app.lambda_handler(event, self.context)

    def failed_ids(self, event):
        return {f["itemIdentifier"] for f in self(event)["batchItemFailures"]}

    def events(self):
        return [json.loads(e.message, parse_float=Decimal) for e in self.publisher.published]


@pytest.fixture
def processor(handler_env, lambda_context, monkeypatch):
    harness = Processor(lambda_context)
    service = OrderProcessingService(repository=harness.repository, publisher=harness.publisher, clock=lambda: CLOCK)
    monkeypatch.setattr(app, "service", lambda: service)
    return harness


def batch_of(load_event, n):
    """n distinct valid records built from the fixture's first record."""
    event = load_event("sqs_order_batch")
    template = event["Records"][0]
    records = []
    for i in range(n):
        record = copy.deepcopy(template)
        body = json.loads(record["body"])
        body["orderId"] = f"order-{i}"
        record["body"] = json.dumps(body)
        record["messageId"] = f"msg-{i}"
        records.append(record)
    return {"Records": records}


def test_batch_is_stored_and_published_with_one_call_per_batch(processor, load_event):
    # Given the fixture batch of two valid orders, When processed
    response = processor(load_event("sqs_order_batch"))
    # Then nothing failed, both are stored once, published in ONE PublishBatch, marked in ONE call
    assert response == {"batchItemFailures": []}
    item = processor.repository.items["order-1001"]
    assert item["totalAmount"] == Decimal("44.98") and item["itemCount"] == 3 and item["currency"] == "EUR"
    assert item["timestamp"] == "2026-11-28T22:44:40.123456Z" and item["status"] == "PROCESSED"
    assert item["eventPublished"] is True
    assert processor.repository.items["order-1002"]["currency"] == "USD"
    assert processor.repository.calls["put_new"] == 2 and processor.repository.calls["mark_published"] == 1
    assert len(processor.publisher.calls) == 1
    events = processor.events()
    assert {e["orderId"] for e in events} == {"order-1001", "order-1002"}
    assert all(e["eventType"] == "OrderProcessed" for e in events)
    assert all(entry.attributes == {"eventType": "OrderProcessed"} for entry in processor.publisher.published)


def test_message_without_timestamp_uses_the_sqs_sent_time(processor, load_event):
    event = load_event("sqs_order_batch")
    body = json.loads(event["Records"][0]["body"])
    del body["timestamp"]
    event["Records"][0]["body"] = json.dumps(body)
    processor(event)
    from datetime import datetime

    sent = datetime.fromtimestamp(int(event["Records"][0]["attributes"]["SentTimestamp"]) / 1000, tz=UTC)
    assert processor.repository.items["order-1001"]["timestamp"] == sent.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_duplicate_delivery_stores_once_and_publishes_once(processor, load_event):
    event = load_event("sqs_order_batch")
    processor(event)
    again = load_event("sqs_order_batch")
    for record in again["Records"]:
        record["messageId"] += "-redelivered"
    assert processor(again) == {"batchItemFailures": []}
    assert len(processor.repository.items) == 2
    assert len(processor.publisher.published) == 2  # no second event
    assert len(processor.publisher.calls) == 1  # nothing to publish, no SNS call at all


def test_same_order_twice_in_one_batch_is_published_once(processor, load_event):
    event = load_event("sqs_order_batch")
    twin = copy.deepcopy(event["Records"][0])
    twin["messageId"] = "twin"
    event["Records"].append(twin)
    assert processor(event) == {"batchItemFailures": []}
    assert [e["orderId"] for e in processor.events()].count("order-1001") == 1


def test_poison_record_fails_alone_every_time(processor, load_event):
    event = load_event("sqs_order_batch")
    poison = copy.deepcopy(event["Records"][0])
    poison.update(messageId="poison", body='{"orderId": "x"}')
    garbage = copy.deepcopy(event["Records"][0])
    garbage.update(messageId="garbage", body="not json")
    event["Records"] += [poison, garbage]
    for _ in range(3):
        assert processor.failed_ids(event) == {"poison", "garbage"}
    assert set(processor.repository.items) == {"order-1001", "order-1002"}


def test_minimal_hand_built_records_are_processed_and_a_null_body_is_poison(processor):
    # An event without the system "attributes" (hand-built, replayed) must not fail valid orders;
    # the timestamp then comes from the clock.
    body = {"orderId": "bare-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}]}
    event = {
        "Records": [
            {"messageId": "bare", "body": json.dumps(body)},
            {"messageId": "no-body", "body": None, "attributes": {}},
        ]
    }
    assert processor.failed_ids(event) == {"no-body"}
    assert processor.repository.items["bare-1"]["timestamp"] == CLOCK
    assert [e["orderId"] for e in processor.events()] == ["bare-1"]


def test_all_records_failing_is_reported_not_raised(processor, load_event):
    event = load_event("sqs_order_batch")
    for record in event["Records"]:
        record["body"] = "[]"
    assert processor.failed_ids(event) == {r["messageId"] for r in event["Records"]}


def test_storage_failure_fails_only_that_record_and_it_succeeds_on_retry(processor, load_event):
    event = load_event("sqs_order_batch")
    processor.repository.put_fails_with = DownstreamError("DynamoDB PutItem", "ProvisionedThroughputExceededException", retryable=True)
    assert processor.failed_ids(event) == {r["messageId"] for r in event["Records"]}
    assert not processor.publisher.calls
    processor.repository.put_fails_with = None
    assert processor.failed_ids(event) == set()
    assert len(processor.events()) == 2


def test_publish_failure_after_write_is_republished_on_retry(processor, load_event):
    # Given the events of the batch fail to publish after the items were written
    event = load_event("sqs_order_batch")
    processor.publisher.fail_call = True
    assert processor.failed_ids(event) == {r["messageId"] for r in event["Records"]}
    assert all(item["eventPublished"] is False for item in processor.repository.items.values())
    # When SQS redelivers the records
    processor.publisher.fail_call = False
    assert processor.failed_ids(event) == set()
    # Then the stored items were not written twice, and the events went out from the stored items
    assert processor.repository.calls["put_new"] == 4 and len(processor.repository.items) == 2
    assert {e["orderId"] for e in processor.events()} == {"order-1001", "order-1002"}
    assert all(item["eventPublished"] is True for item in processor.repository.items.values())


def test_failed_publish_entries_fail_only_their_records(processor, load_event):
    event = batch_of(load_event, 10)
    processor.publisher.fail_ids = {"e3"}
    assert processor.failed_ids(event) == {"msg-3"}
    assert processor.repository.items["order-3"]["eventPublished"] is False
    assert processor.repository.marked == [[f"order-{i}" for i in range(10) if i != 3]]


def test_mark_failure_is_tolerated(processor, load_event):
    processor.repository.mark_fails_with = DownstreamError("DynamoDB TransactWriteItems", "TransactionCanceledException", retryable=False)
    assert processor(load_event("sqs_order_batch")) == {"batchItemFailures": []}
    assert len(processor.events()) == 2


def test_aws_calls_per_batch_are_bounded(processor, load_event):
    # 10 records -> 10 PutItem, 1 PublishBatch, 1 bookkeeping call
    processor(batch_of(load_event, 10))
    assert (processor.repository.calls["put_new"], len(processor.publisher.calls), processor.repository.calls["mark_published"]) == (10, 1, 1)


def test_more_than_ten_events_are_handed_over_together_and_marked_in_one_call():
    # The SNS adapter splits them into PublishBatch calls of 10 (see test_adapters).
    from orders_core.service import StoredOrder

    repository, publisher = FakeRepository(), FakePublisher()
    service = OrderProcessingService(repository=repository, publisher=publisher)
    for i in range(25):
        repository.items[f"o{i}"] = {"orderId": f"o{i}", "eventPublished": False}
    outcome = service.publish([StoredOrder(f"o{i}", {"orderId": f"o{i}"}, True) for i in range(25)])
    [entries] = publisher.calls
    assert len({e.entry_id for e in entries}) == 25
    assert len(outcome.published) == 25 and repository.calls["mark_published"] == 1


# ---------------------------------------------------------------- conflicting orders in flight


def conflicting_twin(record: dict, message_id: str) -> dict:
    """The same orderId with different content (another customer, another line)."""
    twin = copy.deepcopy(record)
    body = json.loads(twin["body"])
    body["customerId"] = "someone-else"
    body["items"] = [{"productId": "sku-other", "quantity": 7, "unitPrice": 3}]
    twin.update(messageId=message_id, body=json.dumps(body))
    return twin


def emitted_metrics(capsys) -> dict[str, float]:
    """Sum of every EMF metric printed since the last call."""
    totals: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for definition in doc["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                values = doc[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values if isinstance(values, list) else [values])
    return totals


def test_a_different_order_with_a_stored_order_id_fails_every_time_and_is_counted(processor, load_event, capsys):
    """Given order-1001 stored, when a different order-1001 arrives, then that record fails (to the DLQ) on each receive."""
    event = load_event("sqs_order_batch")
    processor(event)
    stored = copy.deepcopy(processor.repository.items["order-1001"])
    capsys.readouterr()
    conflict = {"Records": [conflicting_twin(event["Records"][0], "conflict-1")]}
    for _ in range(3):  # maxReceiveCount receives, then SQS moves it to the DLQ
        assert processor.failed_ids(conflict) == {"conflict-1"}
    assert processor.repository.items["order-1001"] == stored  # never overwritten
    assert [e["customerId"] for e in processor.events()].count("someone-else") == 0  # never published
    assert emitted_metrics(capsys).get("OrderConflicts") == 3


def test_two_different_orders_with_one_id_in_one_batch_store_the_first_and_fail_the_second(processor, load_event, capsys):
    event = load_event("sqs_order_batch")
    event["Records"].append(conflicting_twin(event["Records"][0], "late-twin"))
    assert processor.failed_ids(event) == {"late-twin"}
    assert processor.repository.items["order-1001"]["customerId"] != "someone-else"
    assert sorted(e["orderId"] for e in processor.events()) == ["order-1001", "order-1002"]
    assert emitted_metrics(capsys).get("OrderConflicts") == 1


def test_a_redelivered_identical_order_is_not_a_conflict_even_for_a_legacy_item(processor, load_event, capsys):
    from orders_core.model import FINGERPRINT_ATTRIBUTE

    event = load_event("sqs_order_batch")
    processor(event)
    for item in processor.repository.items.values():  # as if written before fingerprints existed
        del item[FINGERPRINT_ATTRIBUTE]
    capsys.readouterr()
    again = load_event("sqs_order_batch")
    for record in again["Records"]:
        record["messageId"] += "-again"
    assert processor(again) == {"batchItemFailures": []}
    assert "OrderConflicts" not in emitted_metrics(capsys)
    legacy_conflict = {"Records": [conflicting_twin(event["Records"][1], "legacy-conflict")]}
    assert processor.failed_ids(legacy_conflict) == {"legacy-conflict"}


def test_a_failing_publish_call_fails_only_the_records_that_needed_it(processor, load_event):
    """The batch completion runs after Powertools' partial response: its failures are merged in, nothing is lost."""
    event = load_event("sqs_order_batch")
    poison = copy.deepcopy(event["Records"][0])
    poison.update(messageId="poison", body="not json")
    event["Records"].append(poison)

    def explode(entries):
        raise RuntimeError("SNS client blew up")

    processor.publisher.publish = explode
    assert processor.failed_ids(event) == {r["messageId"] for r in event["Records"]}
    response = processor(event)
    assert len(response["batchItemFailures"]) == len({f["itemIdentifier"] for f in response["batchItemFailures"]})
