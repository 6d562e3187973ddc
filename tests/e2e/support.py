"""Small helpers of the end-to-end tests: make orders, call the API, read the table and the events."""

from __future__ import annotations

import collections
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from local_pipeline import LocalPipeline

HTTP_TIMEOUT = 10


def unique(prefix: str) -> str:
    """An id no other test uses (the session shares one table)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_order(customer_id: str | None = None, *, items: int = 2) -> dict[str, Any]:
    """A valid POST /orders body."""
    return {
        "orderId": unique("ord"),
        "customerId": customer_id or unique("cust"),
        "items": [{"productId": f"sku-{i}", "quantity": i + 1, "unitPrice": 2.5 + i} for i in range(items)],
    }


def post_order(pipeline: LocalPipeline, order: Any) -> requests.Response:
    """POST /orders through the local API (edge validation included)."""
    return requests.post(f"{pipeline.api_url}/orders", json=order, timeout=HTTP_TIMEOUT)


def stored_items(pipeline: LocalPipeline, customer_id: str) -> list[dict[str, Any]]:
    """Every item of a customer, read straight from the table's GSI (not through the API)."""
    dynamodb = pipeline.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": pipeline.table_name,
        "IndexName": "CustomerIdIndex",
        "KeyConditionExpression": "customerId = :c",
        "ExpressionAttributeValues": {":c": {"S": customer_id}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stored_item(pipeline: LocalPipeline, order_id: str) -> dict[str, Any] | None:
    """One item by key, in DynamoDB's attribute-value form."""
    return pipeline.client("dynamodb").get_item(TableName=pipeline.table_name, Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item")


def events_per_order(events: list[dict[str, Any]]) -> collections.Counter:
    """How many OrderProcessed events each orderId got."""
    counter: collections.Counter = collections.Counter()
    for event in events:
        assert event["attributes"].get("eventType") == "OrderProcessed", event
        counter[event["body"]["orderId"]] += 1
    return counter


def expected_total(order: dict[str, Any]) -> Decimal:
    """Sum of quantity x unit price, exact."""
    return sum((Decimal(str(i["quantity"])) * Decimal(str(i["unitPrice"])) for i in order["items"]), Decimal("0"))


def dlq_bodies(pipeline: LocalPipeline, *, delete: bool = True) -> list[dict[str, Any]]:
    """Messages in the DLQ (with attributes), optionally removed so later tests start clean."""
    sqs = pipeline.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=pipeline.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(message)
            if delete:
                sqs.delete_message(QueueUrl=pipeline.dlq_url, ReceiptHandle=message["ReceiptHandle"])


def fingerprint_of(body: dict[str, Any]) -> str:
    """The handlers' fingerprint of a POST body (or of a queued message: its timestamp is ignored)."""
    from orders_core.validation import parse_order

    payload = {k: v for k, v in body.items() if k != "timestamp"}
    return parse_order(jsonutil_loads(json.dumps(payload)), timestamp="2000-01-01T00:00:00.000000Z").fingerprint


def jsonutil_loads(text: str) -> Any:
    """Strict JSON with Decimal numbers, as the handlers parse it."""
    from orders_core import jsonutil

    return jsonutil.loads(text)


class ConflictLog(logging.Handler):
    """Collects the processor's "order conflict" log records: the reason each DLQ-bound message is given."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)  # the base class's own lock is ``self.lock``: not ours
        self.reasons: dict[str, str] = {}
        """messageId -> the logged reason (as the on-call finds it in CloudWatch Logs)."""

    def emit(self, record: logging.LogRecord) -> None:
        # handle() holds the handler's lock around emit(): records arrive one at a time.
        if str(record.msg).startswith("order conflict"):
            self.reasons[str(getattr(record, "messageId", ""))] = str(getattr(record, "reason", ""))


@dataclass
class Ledger:
    """Every POST and its answer, then where each accepted (202) order ended up."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    conflicts_409: list[dict[str, Any]] = field(default_factory=list)
    other: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, pipeline: LocalPipeline, body: dict[str, Any]) -> requests.Response:
        """POST through the local API and file the body under its answer."""
        response = post_order(pipeline, body)
        with self.lock:
            if response.status_code == 202:
                self.accepted.append(body)
            elif response.status_code == 409:
                self.conflicts_409.append(body)
            else:
                self.other.append((response.status_code, body))
        return response

    def account(self, pipeline: LocalPipeline, dead: list[dict[str, Any]], log: ConflictLog) -> dict[str, Any]:
        """Where each 202 went: stored with its content, or in the DLQ with a logged reason; and what is unaccounted for."""
        stored = {}
        for order_id in {body["orderId"] for body in self.accepted}:
            item = stored_item(pipeline, order_id)
            if item is not None:
                stored[order_id] = item["orderFingerprint"]["S"]
        in_dlq: dict[str, list[str]] = collections.defaultdict(list)  # fingerprint -> messageIds
        for message in dead:
            in_dlq[fingerprint_of(json.loads(message["Body"]))].append(message["MessageId"])
        counts: collections.Counter[str] = collections.Counter()
        unaccounted = []
        for body in self.accepted:
            fingerprint = fingerprint_of(body)
            if stored.get(body["orderId"]) == fingerprint:
                counts["stored"] += 1
            elif any(log.reasons.get(message_id) for message_id in in_dlq.get(fingerprint, [])):
                counts["dlq_with_reason"] += 1
            else:
                unaccounted.append(body)
        return {"accepted": len(self.accepted), **counts, "rejected_409": len(self.conflicts_409), "unaccounted": unaccounted}
