"""The poller's pure parts: SQS event shape and partial-batch-response rules."""

from __future__ import annotations

import pytest

from local_pipeline.sqs_events import InvalidBatchResponse, failed_message_ids, sqs_event
from pipeline_config import ConfigError

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


# --------------------------------------------------------------------------- the poller's settings
def _poller(**settings):
    from local_pipeline.poller import QueuePoller

    return QueuePoller(sqs_client=None, queue_url="http://q", queue_arn="arn:q", region="eu-west-1", handler=lambda event, context: None, context_factory=lambda: None, **settings)


@pytest.mark.parametrize(
    "setting, value, fix",
    [("batch_size", 0, "e.g. 10"), ("batching_window_seconds", -1, "e.g. 0 or 5"), ("concurrency", True, "e.g. 1"), ("batch_size", 2.5, "e.g. 10")],
)
def test_a_bad_poller_setting_is_a_config_error_naming_setting_value_and_fix(setting, value, fix):
    with pytest.raises(ConfigError) as caught:
        _poller(**{setting: value})
    (problem,) = caught.value.problems
    assert (problem.setting, problem.value) == (setting, value) and fix in problem.fix
    assert str(caught.value).startswith("Invalid QueuePoller settings (1 problem(s)):")
    assert f"{setting}: " in str(caught.value) and f"(given {value!r}). Fix: " in str(caught.value)


def test_every_bad_poller_setting_is_reported_together():
    with pytest.raises(ConfigError) as caught:
        _poller(batch_size=0, concurrency=0)
    assert [(p.setting, p.value) for p in caught.value.problems] == [("batch_size", 0), ("concurrency", 0)]


def test_good_poller_settings_build_a_poller():
    poller = _poller(batch_size=10, batching_window_seconds=0.5, concurrency=4)
    assert (poller.batch_size, poller.batching_window_seconds, poller.concurrency) == (10, 0.5, 4)
