"""Small helpers of the end-to-end tests: make orders, call the API, read the table and the events."""

from __future__ import annotations

import collections
import uuid
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
