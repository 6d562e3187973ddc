"""Adapters against botocore's Stubber: exact requests, error translation, chunking."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from botocore.stub import ANY, Stubber

from orders_core.adapters import (
    MAX_PUBLISH_BATCH_BYTES,
    DynamoOrderRepository,
    EventEntry,
    SnsEventPublisher,
    SqsOrderQueue,
    publish_batches,
    to_attribute_values,
)
from orders_core.errors import DownstreamError

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
ITEM = {"orderId": "o-1", "customerId": "c-1", "timestamp": "2026-11-28T22:44:40.123456Z", "totalAmount": Decimal("1.10"), "eventPublished": False}


def client(service):
    return boto3.client(service, region_name="us-east-1")


def test_sqs_send_passes_body_and_string_attributes():
    sqs = client("sqs")
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message",
            {"MessageId": "m-1"},
            {"QueueUrl": QUEUE_URL, "MessageBody": "{}", "MessageAttributes": {"orderId": {"DataType": "String", "StringValue": "o-1"}}},
        )
        assert SqsOrderQueue(sqs, QUEUE_URL).send("{}", {"orderId": "o-1"}) == "m-1"


@pytest.mark.parametrize("code, status, retryable", [("ThrottlingException", 400, True), ("ServiceUnavailable", 503, True), ("AccessDenied", 403, False)])
def test_sqs_errors_become_downstream_errors(code, status, retryable):
    sqs = client("sqs")
    with Stubber(sqs) as stub:
        stub.add_client_error("send_message", service_error_code=code, http_status_code=status)
        with pytest.raises(DownstreamError) as info:
            SqsOrderQueue(sqs, QUEUE_URL).send("{}", {})
    assert info.value.retryable is retryable and info.value.error_code == code


def test_put_new_is_conditional_and_reports_created():
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_response(
            "put_item",
            {},
            {
                "TableName": "t",
                "Item": to_attribute_values(ITEM),
                "ConditionExpression": "attribute_not_exists(orderId)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        )
        assert DynamoOrderRepository(ddb, "t").put_new(ITEM).created


def test_put_new_duplicate_returns_the_existing_item_without_a_read():
    ddb = client("dynamodb")
    old = to_attribute_values({**ITEM, "eventPublished": True})
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400, response_meta={}, modeled_fields={"Item": old})
        outcome = DynamoOrderRepository(ddb, "t").put_new(ITEM)
        stub.assert_no_pending_responses()
    assert not outcome.created and outcome.existing is not None and outcome.existing["eventPublished"] is True


def test_put_new_duplicate_without_returned_item_reads_consistently():
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
        stub.add_response("get_item", {"Item": to_attribute_values(ITEM)}, {"TableName": "t", "Key": {"orderId": {"S": "o-1"}}, "ConsistentRead": True})
        outcome = DynamoOrderRepository(ddb, "t").put_new(ITEM)
    assert outcome.existing is not None and outcome.existing["totalAmount"] == Decimal("1.10")


def test_put_new_other_errors_raise():
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400)
        with pytest.raises(DownstreamError) as info:
            DynamoOrderRepository(ddb, "t").put_new(ITEM)
    assert info.value.retryable


def test_query_customer_uses_the_gsi_newest_first():
    ddb = client("dynamodb")
    last = {"orderId": {"S": "o-1"}, "customerId": {"S": "c-1"}, "timestamp": {"S": ITEM["timestamp"]}}
    with Stubber(ddb) as stub:
        stub.add_response(
            "query",
            {"Items": [to_attribute_values(ITEM)], "LastEvaluatedKey": last},
            {
                "TableName": "t",
                "IndexName": "CustomerIdIndex",
                "KeyConditionExpression": "customerId = :customerId",
                "ExpressionAttributeValues": {":customerId": {"S": "c-1"}},
                "ScanIndexForward": False,
                "Limit": 3,
                "ExclusiveStartKey": {"orderId": {"S": "o-9"}, "customerId": {"S": "c-1"}, "timestamp": {"S": "2026-11-28T22:44:41.000000Z"}},
            },
        )
        items, last_key = DynamoOrderRepository(ddb, "t").query_customer("c-1", limit=3, start_key={"orderId": "o-9", "customerId": "c-1", "timestamp": "2026-11-28T22:44:41.000000Z"})
    assert items[0]["orderId"] == "o-1"
    assert last_key == {"orderId": "o-1", "customerId": "c-1", "timestamp": ITEM["timestamp"]}


def test_mark_published_is_one_transaction_per_100_conditional_updates():
    ddb = client("dynamodb")
    ids = [f"o-{i}" for i in range(150)]
    seen = []
    # before-parameter-build: the Stubber answers in before-call and stops that chain.
    ddb.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", lambda params, **_: seen.append(params["TransactItems"]))
    with Stubber(ddb) as stub:
        for _ in range(2):
            stub.add_response("transact_write_items", {}, {"TransactItems": ANY})
        DynamoOrderRepository(ddb, "t").mark_published(ids)
        stub.assert_no_pending_responses()
    assert [len(batch) for batch in seen] == [100, 50]
    update = seen[0][0]["Update"]
    assert update["ConditionExpression"] == "attribute_exists(orderId)"
    assert update["ExpressionAttributeValues"] == {":published": {"BOOL": True}}
    # Marked published = out of the sparse index the event sweep reads.
    assert update["UpdateExpression"] == "SET eventPublished = :published REMOVE #shard"
    assert update["ExpressionAttributeNames"] == {"#shard": "unpublishedShard"}


def test_unpublished_is_one_page_of_the_sparse_index_oldest_first():
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_response(
            "query",
            {"Items": [to_attribute_values(ITEM)], "LastEvaluatedKey": {"orderId": {"S": "o-1"}, "unpublishedShard": {"S": "2"}, "createdAt": {"S": "2026-11-28T22:44:41.000000Z"}}},
            {
                "TableName": "t",
                "IndexName": "UnpublishedIndex",
                "KeyConditionExpression": "#shard = :shard AND #created < :before",
                "ExpressionAttributeNames": {"#shard": "unpublishedShard", "#created": "createdAt"},
                "ExpressionAttributeValues": {":shard": {"S": "2"}, ":before": {"S": "2026-11-28T23:00:00.000000Z"}},
                "Limit": 50,
                "ExclusiveStartKey": {"orderId": {"S": "o-0"}, "unpublishedShard": {"S": "2"}, "createdAt": {"S": "2026-11-28T22:44:40.000000Z"}},
            },
        )
        items, last = DynamoOrderRepository(ddb, "t").unpublished(
            "2", created_before="2026-11-28T23:00:00.000000Z", limit=50, start_key={"orderId": "o-0", "unpublishedShard": "2", "createdAt": "2026-11-28T22:44:40.000000Z"}
        )
    assert items[0]["orderId"] == "o-1"
    assert last == {"orderId": "o-1", "unpublishedShard": "2", "createdAt": "2026-11-28T22:44:41.000000Z"}


def entries(n):
    return [EventEntry(f"e{i}", f'{{"n":{i}}}', {"eventType": "OrderProcessed"}) for i in range(n)]


def test_publish_chunks_by_ten_and_reports_failed_entries():
    sns = client("sns")
    with Stubber(sns) as stub:
        stub.add_response(
            "publish_batch",
            {"Successful": [{"Id": f"e{i}", "MessageId": f"m{i}"} for i in range(9)], "Failed": [{"Id": "e9", "Code": "InternalError", "SenderFault": False}]},
            {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY},
        )
        stub.add_response("publish_batch", {"Successful": [{"Id": "e10", "MessageId": "m10"}], "Failed": []}, {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY})
        failed = SnsEventPublisher(sns, TOPIC).publish(entries(11))
        stub.assert_no_pending_responses()
    assert set(failed) == {"e9"} and "InternalError" in failed["e9"]


def test_publish_sends_the_event_type_attribute():
    sns = client("sns")
    captured = []
    sns.meta.events.register("before-parameter-build.sns.PublishBatch", lambda params, **_: captured.append(params))
    with Stubber(sns) as stub:
        stub.add_response("publish_batch", {"Successful": [{"Id": "e0", "MessageId": "m"}], "Failed": []}, {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY})
        assert SnsEventPublisher(sns, TOPIC).publish(entries(1)) == {}
    entry = captured[0]["PublishBatchRequestEntries"][0]
    assert entry["MessageAttributes"] == {"eventType": {"DataType": "String", "StringValue": "OrderProcessed"}}


def test_a_failed_publish_call_fails_only_its_chunk():
    sns = client("sns")
    with Stubber(sns) as stub:
        stub.add_client_error("publish_batch", service_error_code="Throttling", http_status_code=400)
        stub.add_response("publish_batch", {"Successful": [{"Id": "e10", "MessageId": "m"}], "Failed": []}, {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY})
        failed = SnsEventPublisher(sns, TOPIC).publish(entries(11))
    assert set(failed) == {f"e{i}" for i in range(10)}


def test_unconfirmed_entries_count_as_failed():
    sns = client("sns")
    with Stubber(sns) as stub:
        stub.add_response("publish_batch", {"Successful": [{"Id": "e0", "MessageId": "m"}], "Failed": []}, {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY})
        assert set(SnsEventPublisher(sns, TOPIC).publish(entries(2))) == {"e1"}


def test_publish_batches_respect_the_aggregate_size_limit_of_publish_batch():
    # Ten ~80 KB events (a 100-line order with non-ASCII productIds) exceed PublishBatch's 256 KiB
    # per call; sent together, SNS would reject the whole call on every redelivery.
    big = [EventEntry(f"e{i}", "x" * 80_000, {"eventType": "OrderProcessed"}) for i in range(10)]
    batches = publish_batches(big)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [e for b in batches for e in b] == big  # nothing lost, order kept
    for batch in batches:
        assert sum(len(e.message) + len("eventType") + len("String") + len("OrderProcessed") for e in batch) <= MAX_PUBLISH_BATCH_BYTES


def test_publish_batches_keep_ten_per_call_for_small_events_and_send_an_oversized_entry_alone():
    assert [len(b) for b in publish_batches(entries(25))] == [10, 10, 5]
    huge = EventEntry("h", "x" * (MAX_PUBLISH_BATCH_BYTES + 1), {})
    assert [[e.entry_id for e in b] for b in publish_batches([*entries(2), huge, *entries(1)])] == [["e0", "e1"], ["h"], ["e0"]]


def test_publisher_sends_large_events_in_calls_under_the_size_limit():
    sns = client("sns")
    sizes = []
    sns.meta.events.register(
        "before-parameter-build.sns.PublishBatch",
        lambda params, **_: sizes.append(sum(len(e["Message"]) for e in params["PublishBatchRequestEntries"])),
    )
    big = [EventEntry(f"e{i}", "x" * 100_000, {"eventType": "OrderProcessed"}) for i in range(4)]
    with Stubber(sns) as stub:
        for pair in (("e0", "e1"), ("e2", "e3")):
            stub.add_response(
                "publish_batch",
                {"Successful": [{"Id": i, "MessageId": "m"} for i in pair], "Failed": []},
                {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY},
            )
        assert SnsEventPublisher(sns, TOPIC).publish(big) == {}
        stub.assert_no_pending_responses()
    assert sizes == [200_000, 200_000]
