"""POST -> 202 -> queued -> stored -> OrderProcessed published -> readable by id and by customer, newest first."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
import requests

from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import HTTP_TIMEOUT, events_per_order, expected_total, new_order, post_order, stored_items, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def test_orders_flow_from_api_to_table_and_topic(pipeline):
    # given three orders of one customer, posted in order
    customer = unique("cust")
    orders = [new_order(customer, items=n + 1) for n in range(3)]

    # when
    for order in orders:
        response = post_order(pipeline, order)
        assert response.status_code == 202, response.text
        assert response.json() == {"orderId": order["orderId"], "status": "ACCEPTED"}
        assert response.headers["Location"].endswith(f"/orders/{order['orderId']}")
        time.sleep(0.01)  # distinct accept timestamps, so "newest first" is well defined
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    # then: stored once each, with the documented attributes
    items = {i["orderId"]["S"]: i for i in stored_items(pipeline, customer)}
    assert set(items) == {o["orderId"] for o in orders}
    for order in orders:
        item = items[order["orderId"]]
        assert item["customerId"]["S"] == customer
        assert ISO_UTC.match(item["timestamp"]["S"]), item["timestamp"]
        assert Decimal(item["totalAmount"]["N"]) == expected_total(order)
        assert len(item["items"]["L"]) == len(order["items"])
        assert item["status"]["S"]
        assert item["eventPublished"] == {"BOOL": True}

    # and one OrderProcessed event per order
    events = pipeline.receive_events(wait_seconds=2)
    assert events_per_order(events) == {o["orderId"]: 1 for o in orders}

    # and GET returns each order
    for order in orders:
        got = requests.get(f"{pipeline.api_url}/orders/{order['orderId']}", timeout=HTTP_TIMEOUT)
        assert got.status_code == 200
        body = got.json()
        assert body["orderId"] == order["orderId"] and body["customerId"] == customer
        assert Decimal(str(body["totalAmount"])) == expected_total(order)

    # and the customer listing (GSI) shows them newest first
    listing = requests.get(f"{pipeline.api_url}/customers/{customer}/orders", timeout=HTTP_TIMEOUT)
    assert listing.status_code == 200
    listed = listing.json()["orders"]
    assert [o["orderId"] for o in listed] == [o["orderId"] for o in reversed(orders)]
    assert [o["timestamp"] for o in listed] == sorted((o["timestamp"] for o in listed), reverse=True)


def test_customer_listing_pages_with_next_token(pipeline):
    customer = unique("cust")
    orders = [new_order(customer) for _ in range(3)]
    for order in orders:
        assert post_order(pipeline, order).status_code == 202
        time.sleep(0.01)
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    first = requests.get(f"{pipeline.api_url}/customers/{customer}/orders", params={"limit": 2}, timeout=HTTP_TIMEOUT).json()
    assert len(first["orders"]) == 2 and first.get("nextToken")
    second = requests.get(f"{pipeline.api_url}/customers/{customer}/orders", params={"limit": 2, "nextToken": first["nextToken"]}, timeout=HTTP_TIMEOUT).json()
    assert "nextToken" not in second
    assert [o["orderId"] for o in first["orders"] + second["orders"]] == [o["orderId"] for o in reversed(orders)]


def test_unknown_order_is_404_with_the_error_shape(pipeline):
    got = requests.get(f"{pipeline.api_url}/orders/{unique('missing')}", timeout=HTTP_TIMEOUT)
    assert got.status_code == 404
    body = got.json()
    assert body["error"] and body["message"] and "details" in body
