"""The poller's pure parts: SQS event shape and partial-batch-response rules."""

from __future__ import annotations

import pytest

from local_pipeline.sqs_events import InvalidBatchResponse, failed_message_ids, sqs_event

MESSAGE = {
    "MessageId": "m-1",
    "ReceiptHandle": "rh",
    "MD5OfBody": "md5",
    "Body": '{"orderId": "o"}',
    "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SenderId": "s", "ApproximateFirstReceiveTimestamp": "2", "Other": "x"},
    "MessageAttributes": {"eventType": {"DataType": "String", "StringValue": "OrderAccepted"}},
}


def test_record_has_lambdas_sqs_shape():
    (record,) = sqs_event([MESSAGE], queue_arn="arn:q", region="eu-west-1")["Records"]
    assert record["messageId"] == "m-1" and record["receiptHandle"] == "rh" and record["body"] == MESSAGE["Body"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == "arn:q" and record["awsRegion"] == "eu-west-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "2" and "Other" not in record["attributes"]
    assert record["messageAttributes"]["eventType"] == {"stringValue": "OrderAccepted", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    assert record["md5OfBody"] == "md5"


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}])
def test_empty_responses_mean_every_record_succeeded(response):
    assert failed_message_ids(response, ["a", "b"]) == set()


def test_reported_failures_are_kept():
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["a", "b"]) == {"b"}


@pytest.mark.parametrize(
    "response",
    ["x", {"batchItemFailures": "a"}, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"batchItemFailures": [{"itemIdentifier": None}]}, {"batchItemFailures": ["a"]}],
)
def test_malformed_responses_fail_the_whole_batch(response):
    with pytest.raises(InvalidBatchResponse):
        failed_message_ids(response, ["a", "b"])
