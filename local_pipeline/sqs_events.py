"""Pure functions that play the SQS event source mapping's part: ReceiveMessage output -> Lambda SQS event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# ReceiveMessage's attribute names -> the (same) names Lambda puts under "attributes".
_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda lower-camel-cases the SQS API's attribute value fields and always sends the list fields.
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = value["BinaryValue"]
    return out


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS record built from one ReceiveMessage ``Messages`` entry."""
    attrs = message.get("Attributes", {})
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: attrs[name] for name in _SYSTEM_ATTRIBUTES if name in attrs},
        "messageAttributes": {name: _message_attribute(v) for name, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda passes to a function subscribed to an SQS queue."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


class InvalidBatchResponse(ValueError):
    """The handler's partial-batch response is malformed; Lambda then treats the whole batch as failed."""


def failed_message_ids(response: Any, batch_ids: Iterable[str]) -> set[str]:
    """The message ids to keep on the queue, per Lambda's ReportBatchItemFailures rules.

    ``None``/``{}``/empty ``batchItemFailures`` mean all succeeded. A malformed
    response or an identifier not in the batch raises ``InvalidBatchResponse``
    (Lambda retries the whole batch then).
    """
    ids = set(batch_ids)
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        raise InvalidBatchResponse(f"response must be a dict, got {type(response).__name__}")
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures must be a list")
    failed: set[str] = set()
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, Mapping) else None
        if not isinstance(identifier, str) or identifier not in ids:
            raise InvalidBatchResponse(f"itemIdentifier {identifier!r} is not a messageId of this batch")
        failed.add(identifier)
    return failed
