"""Adapters: the ONLY code that talks to AWS (SQS, DynamoDB, SNS), through injected boto3 clients.

Each adapter translates botocore failures into ``DownstreamError`` so the logic never sees
botocore types, and each is small enough to replace with a fake in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orders_core.budget import BudgetError, is_retryable, is_throttle, outcome_unknown
from orders_core.errors import DownstreamError
from orders_core.model import CREATED_AT_ATTRIBUTE, UNPUBLISHED_SHARD_ATTRIBUTE

CUSTOMER_INDEX_NAME = "CustomerIdIndex"
#: The sparse index of orders whose event is not yet confirmed published (copies of
#: ``pipeline_config.naming.UNPUBLISHED_INDEX_NAME``; the package ships alone, a test ties them).
UNPUBLISHED_INDEX_NAME = "UnpublishedIndex"
#: DynamoDB TransactWriteItems accepts at most 100 actions.
MAX_TRANSACT_ITEMS = 100
#: SNS PublishBatch accepts at most 10 entries...
MAX_PUBLISH_BATCH = 10
#: ...and at most 256 KiB for all of them together (messages + attributes), else the whole call
#: fails with BatchRequestTooLong. Large orders (100 lines, non-ASCII productIds escaped to
#: \uXXXX) make events of ~80 KB, so 10 of them would fail the call on every redelivery.
MAX_PUBLISH_BATCH_BYTES = 262_144


def _translate(operation: str, exc: Exception) -> DownstreamError:
    """Map a botocore error (or the budget's own) to ``DownstreamError``; its class (``orders_core.aws_errors``) decides 503 vs 500."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
    else:  # timeouts, connection failures, DeadlineExceeded, AttemptTimedOut...
        code = type(exc).__name__
    return DownstreamError(operation, code, retryable=is_retryable(exc), throttled=is_throttle(exc), outcome_unknown=outcome_unknown(exc))


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (ClientError, BotoCoreError, ResponseParserError, BudgetError)


# ---------------------------------------------------------------- SQS


class OrderQueue(Protocol):
    """Where accepted orders go."""

    def send(self, body: str, attributes: Mapping[str, str]) -> str:
        """Enqueue one message; return its message id."""


class SqsOrderQueue:
    """``OrderQueue`` on an SQS queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, body: str, attributes: Mapping[str, str]) -> str:
        """SendMessage with String message attributes."""
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
            )
        except _aws_errors() as exc:
            raise _translate("SQS SendMessage", exc) from exc
        return str(response.get("MessageId", ""))


# ---------------------------------------------------------------- DynamoDB


@dataclass(frozen=True)
class PutOutcome:
    """Result of a conditional put: ``created`` or the ``existing`` item that blocked it."""

    created: bool
    existing: dict[str, Any] | None = None


class OrderRepository(Protocol):
    """Storage of orders."""

    def put_new(self, item: Mapping[str, Any]) -> PutOutcome:
        """Store ``item`` unless its orderId exists; then return the existing item."""

    def get(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """The stored order, or None."""

    def query_customer(self, customer_id: str, *, limit: int, start_key: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """A customer's orders, newest first, and the position after the last one (if any)."""

    def mark_published(self, order_ids: Sequence[str]) -> None:
        """Set ``eventPublished = true`` on the orders, and take them out of the unpublished index (one call per 100)."""

    def unpublished(self, shard: str, *, created_before: str, limit: int, start_key: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """Stored orders of one index partition whose event is not confirmed, stored before ``created_before``, oldest first."""


_serializer: Any = None
_deserializer: Any = None


def _codec() -> tuple[Any, Any]:
    global _serializer, _deserializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _serializer, _deserializer = TypeSerializer(), TypeDeserializer()
    return _serializer, _deserializer


def to_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python (str, int, Decimal, bool, list, dict) -> DynamoDB attribute values."""
    serializer, _ = _codec()
    return {key: serializer.serialize(value) for key, value in item.items()}


def from_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> plain Python (numbers as Decimal)."""
    _, deserializer = _codec()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class DynamoOrderRepository:
    """``OrderRepository`` on the orders table and its ``CustomerIdIndex`` GSI."""

    def __init__(self, client: Any, table_name: str, *, index_name: str = CUSTOMER_INDEX_NAME, unpublished_index_name: str = UNPUBLISHED_INDEX_NAME) -> None:
        self._client = client
        self._table = table_name
        self._index = index_name
        self._unpublished_index = unpublished_index_name

    def put_new(self, item: Mapping[str, Any]) -> PutOutcome:
        """Conditional PutItem; on a duplicate the existing item comes back with the failure (no extra read)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attribute_values(item),
                ConditionExpression="attribute_not_exists(orderId)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return PutOutcome(created=True)
        except _aws_errors() as exc:
            response = getattr(exc, "response", None) or {}
            if response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _translate("DynamoDB PutItem", exc) from exc
            old = response.get("Item")
        # An emulator without ReturnValuesOnConditionCheckFailure: read it, strongly consistent.
        existing = from_attribute_values(old) if old else self.get(str(item["orderId"]), consistent=True)
        return PutOutcome(created=False, existing=existing)

    def get(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """GetItem by orderId."""
        try:
            response = self._client.get_item(TableName=self._table, Key={"orderId": {"S": order_id}}, ConsistentRead=consistent)
        except _aws_errors() as exc:
            raise _translate("DynamoDB GetItem", exc) from exc
        item = response.get("Item")
        return from_attribute_values(item) if item else None

    def query_customer(self, customer_id: str, *, limit: int, start_key: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One Query page on the GSI, newest first (``ScanIndexForward=False``)."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "customerId = :customerId",
            "ExpressionAttributeValues": {":customerId": {"S": customer_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        return self._query_page(params, start_key)

    def _query_page(self, params: dict[str, Any], start_key: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One Query call from ``start_key`` (string key attributes): its items and the key after the last one, if any."""
        if start_key:
            params["ExclusiveStartKey"] = {name: {"S": value} for name, value in start_key.items()}
        try:
            response = self._client.query(**params)
        except _aws_errors() as exc:
            raise _translate("DynamoDB Query", exc) from exc
        items = [from_attribute_values(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, ({name: str(from_attribute_values({name: value})[name]) for name, value in last.items()} if last else None)

    def mark_published(self, order_ids: Sequence[str]) -> None:
        """One TransactWriteItems of conditional Updates per 100 orders (never creates a stub item).

        Removing the shard attribute takes the order out of the sparse ``UnpublishedIndex``.
        """
        for chunk in _chunks(list(order_ids), MAX_TRANSACT_ITEMS):
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self._table,
                                "Key": {"orderId": {"S": order_id}},
                                "UpdateExpression": "SET eventPublished = :published REMOVE #shard",
                                "ConditionExpression": "attribute_exists(orderId)",
                                "ExpressionAttributeNames": {"#shard": UNPUBLISHED_SHARD_ATTRIBUTE},
                                "ExpressionAttributeValues": {":published": {"BOOL": True}},
                            }
                        }
                        for order_id in chunk
                    ]
                )
            except _aws_errors() as exc:
                raise _translate("DynamoDB TransactWriteItems", exc) from exc

    def unpublished(self, shard: str, *, created_before: str, limit: int, start_key: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One Query page on ``UnpublishedIndex``: the partition ``shard``, ``createdAt < created_before``, oldest first."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._unpublished_index,
            "KeyConditionExpression": "#shard = :shard AND #created < :before",
            "ExpressionAttributeNames": {"#shard": UNPUBLISHED_SHARD_ATTRIBUTE, "#created": CREATED_AT_ATTRIBUTE},
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":before": {"S": created_before}},
            "Limit": limit,
        }
        if start_key:
            params["ExclusiveStartKey"] = {name: {"S": value} for name, value in start_key.items()}
        try:
            response = self._client.query(**params)
        except _aws_errors() as exc:
            raise _translate("DynamoDB Query", exc) from exc
        items = [from_attribute_values(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, ({name: str(from_attribute_values({name: value})[name]) for name, value in last.items()} if last else None)


# ---------------------------------------------------------------- SNS


@dataclass(frozen=True)
class EventEntry:
    """One event to publish: a batch-unique ``entry_id``, the JSON ``message``, String attributes."""

    entry_id: str
    message: str
    attributes: Mapping[str, str]


class EventPublisher(Protocol):
    """Where OrderProcessed events go."""

    def publish(self, entries: Sequence[EventEntry]) -> dict[str, str]:
        """Publish; return ``{entry_id: reason}`` for every entry that was NOT published."""


def _entry_bytes(entry: EventEntry) -> int:
    # What SNS counts against its size limit: the message and each attribute's name, type and value.
    size = len(entry.message.encode("utf-8"))
    for name, value in entry.attributes.items():
        size += len(name.encode("utf-8")) + len("String") + len(value.encode("utf-8"))
    return size


def publish_batches(entries: Sequence[EventEntry], *, max_entries: int = MAX_PUBLISH_BATCH, max_bytes: int = MAX_PUBLISH_BATCH_BYTES) -> list[list[EventEntry]]:
    """Split entries, in order, into PublishBatch calls of <= ``max_entries`` and <= ``max_bytes`` each.

    An entry larger than ``max_bytes`` on its own goes alone (SNS then rejects just that one).
    """
    batches: list[list[EventEntry]] = []
    current: list[EventEntry] = []
    current_bytes = 0
    for entry in entries:
        size = _entry_bytes(entry)
        if current and (len(current) >= max_entries or current_bytes + size > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(entry)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


class SnsEventPublisher:
    """``EventPublisher`` on an SNS topic: PublishBatch, 10 entries and <= 256 KiB per call."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, entries: Sequence[EventEntry]) -> dict[str, str]:
        """PublishBatch per ``publish_batches`` chunk; a failed call fails its whole chunk, never the others."""
        failed: dict[str, str] = {}
        for chunk in publish_batches(entries):
            try:
                response = self._client.publish_batch(
                    TopicArn=self._topic_arn,
                    PublishBatchRequestEntries=[
                        {
                            "Id": entry.entry_id,
                            "Message": entry.message,
                            "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in entry.attributes.items()},
                        }
                        for entry in chunk
                    ],
                )
            except Exception as exc:  # noqa: BLE001 -- any failure fails this chunk only, never the chunks already sent
                error = _translate("SNS PublishBatch", exc)
                failed.update({entry.entry_id: str(error) for entry in chunk})
                continue
            succeeded = {str(ok.get("Id")) for ok in response.get("Successful", [])}
            for failure in response.get("Failed", []):
                failed[str(failure.get("Id"))] = f"{failure.get('Code', 'Unknown')}: {failure.get('Message', '')}".strip()
            # An entry the response does not mention at all was not confirmed: retry it.
            for entry in chunk:
                if entry.entry_id not in succeeded and entry.entry_id not in failed:
                    failed[entry.entry_id] = "not confirmed by PublishBatch"
        return failed


__all__ = [
    "CUSTOMER_INDEX_NAME",
    "UNPUBLISHED_INDEX_NAME",
    "DynamoOrderRepository",
    "EventEntry",
    "EventPublisher",
    "OrderQueue",
    "OrderRepository",
    "PutOutcome",
    "SnsEventPublisher",
    "SqsOrderQueue",
    "from_attribute_values",
    "publish_batches",
    "to_attribute_values",
]
