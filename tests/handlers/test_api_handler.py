"""API handler through API Gateway REST proxy event fixtures, on fake adapters."""

from __future__ import annotations

import base64
import copy
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from api_handler import app
from orders_core.service import OrderApiService

from .fakes import FakeQueue, FakeRepository, downstream

FIXED_TS = "2026-11-28T22:44:40.123456Z"


class Api:
    """The handler wired to fakes."""

    def __init__(self, context):
        self.queue = FakeQueue()
        self.repository = FakeRepository()
        self.context = context

    def __call__(self, event):
        response = app.lambda_handler(event, self.context)
        return response["statusCode"], json.loads(response["body"]), response["headers"]


@pytest.fixture
def api(handler_env, lambda_context, monkeypatch):
    harness = Api(lambda_context)
    service = OrderApiService(queue=harness.queue, repository=harness.repository, clock=lambda: FIXED_TS)
    monkeypatch.setattr(app, "service", lambda: service)
    return harness


def post(load_event, body, **overrides):
    event = load_event("api_post_order")
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    event.update(overrides)
    return event


def assert_error_shape(body, code):
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    assert "Traceback" not in json.dumps(body)


def test_post_order_enqueues_and_answers_202_with_location(api, load_event):
    status, body, headers = api(load_event("api_post_order"))
    assert status == 202
    assert body == {"orderId": "order-1001", "status": "ACCEPTED"}
    assert headers["Location"] == "/dev/orders/order-1001"  # the fixture's stage is 'dev'
    [(message, attributes)] = api.queue.sent
    assert attributes == {"orderId": "order-1001", "customerId": "cust-42", "eventType": "OrderSubmitted"}
    sent = json.loads(message, parse_float=Decimal)
    assert sent["timestamp"] == FIXED_TS
    assert sent["items"][0] == {"productId": "sku-1", "quantity": 2, "unitPrice": Decimal("19.99")}
    assert sent["currency"] == "EUR"


@pytest.mark.parametrize(
    "path, context_path, stage, location",
    [
        ("/orders", "/v1/orders", "v1", "/v1/orders/order-1001"),  # default endpoint: the stage is in the URL
        ("/shop/orders", "/shop/orders", "v1", "/shop/orders/order-1001"),  # custom domain, base path 'shop'
        ("/orders", "/orders", "v1", "/orders/order-1001"),  # custom domain, root mapping
        ("/orders", "/v1/orders/", "v1", "/v1/orders/order-1001"),  # trailing slash
        ("/orders", None, "v1", "/v1/orders/order-1001"),  # direct invocation without a path: the stage
        ("/orders", "https://evil.example/orders", "v1", "/v1/orders/order-1001"),  # never a foreign URL
    ],
)
def test_location_resolves_to_the_orders_get_url_as_the_client_called_the_api(api, load_event, path, context_path, stage, location):
    """Given how the client reached the API, when it POSTs, then Location resolved against its URL is GET /orders/{id}."""
    from urllib.parse import urljoin

    event = load_event("api_post_order")
    event["path"] = path
    event["requestContext"]["stage"] = stage
    if context_path is None:
        del event["requestContext"]["path"]
    else:
        event["requestContext"]["path"] = context_path
    status, _, headers = api(event)
    assert status == 202 and headers["Location"] == location
    base = "https://api.example.com" + (context_path if context_path and context_path.startswith("/") else f"/{stage}/orders")
    assert urljoin(base, headers["Location"]) == f"https://api.example.com{location}"


# ---------------------------------------------------------------- the orderId is an idempotency key


def store_as_processed(api, body: dict, *, legacy: bool = False, published: bool = True) -> None:
    """Put the item the processor would have written for ``body`` into the fake table (its event published, unless not)."""
    from orders_core.model import FINGERPRINT_ATTRIBUTE, UNPUBLISHED_SHARD_ATTRIBUTE
    from orders_core.validation import parse_order

    item = parse_order(body, timestamp=FIXED_TS).to_item(created_at=FIXED_TS)
    if legacy:  # written before items carried a fingerprint
        del item[FINGERPRINT_ATTRIBUTE]
    if published:
        item["eventPublished"] = True
        del item[UNPUBLISHED_SHARD_ATTRIBUTE]
    api.repository.items[item["orderId"]] = item


FIXTURE_ORDER = {
    "orderId": "order-1001",
    "customerId": "cust-42",
    "currency": "EUR",
    "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 19.99}, {"productId": "sku-2", "quantity": 1, "unitPrice": 5}],
}


@pytest.mark.parametrize("legacy", [False, True], ids=["fingerprinted", "legacy-item"])
def test_the_same_order_already_stored_is_accepted_again_and_nothing_is_sent(api, load_event, legacy):
    """Given order-1001 stored, when the same order is retried (in another form), then 202 and no message."""
    store_as_processed(api, FIXTURE_ORDER, legacy=legacy)
    retry = {"items": list(reversed(FIXTURE_ORDER["items"])), "currency": "EUR", "customerId": "cust-42", "orderId": "order-1001"}
    status, body, headers = api(post(load_event, retry))
    assert status == 202 and body == {"orderId": "order-1001", "status": "ACCEPTED"}
    assert headers["Location"] == "/dev/orders/order-1001"
    assert api.queue.sent == []
    assert api.repository.calls["put_new"] == 0


def test_the_same_order_stored_but_never_published_is_sent_again_for_its_event(api, load_event):
    """Given order-1001 stored with its event never confirmed (SNS failed on every receive), a re-POST re-queues it.

    The processor then finds it stored (nothing new is written) and publishes from the stored item.
    """
    store_as_processed(api, FIXTURE_ORDER, published=False)
    before = copy.deepcopy(api.repository.items)
    status, body, _ = api(load_event("api_post_order"))
    assert status == 202 and body == {"orderId": "order-1001", "status": "ACCEPTED"}
    assert len(api.queue.sent) == 1 and json.loads(api.queue.sent[0][0])["orderId"] == "order-1001"
    assert api.repository.items == before


@pytest.mark.parametrize("legacy", [False, True], ids=["fingerprinted", "legacy-item"])
def test_a_different_order_under_a_stored_order_id_is_409_and_nothing_is_sent(api, load_event, legacy):
    """Given order-1001 stored for cust-42, when another customer's order reuses the id, then 409 and the stored one is unchanged."""
    store_as_processed(api, FIXTURE_ORDER, legacy=legacy)
    before = copy.deepcopy(api.repository.items)
    other = {"orderId": "order-1001", "customerId": "cust-7", "items": [{"productId": "sku-9", "quantity": 7, "unitPrice": 1}]}
    status, body, headers = api(post(load_event, other))
    assert status == 409
    assert_error_shape(body, "OrderConflict")
    assert body["details"] == [{"path": "orderId", "problem": body["details"][0]["problem"]}] and "order-1001" in body["details"][0]["problem"]
    assert "Location" not in headers
    assert api.queue.sent == [] and api.repository.items == before


def test_the_stored_order_check_is_one_consistent_read(api, load_event, monkeypatch):
    reads: list[bool] = []
    original = api.repository.get

    def recording_get(order_id, consistent=False):
        reads.append(consistent)
        return original(order_id, consistent=consistent)

    monkeypatch.setattr(api.repository, "get", recording_get)
    assert api(load_event("api_post_order"))[0] == 202
    assert reads == [True] and len(api.queue.sent) == 1


def test_post_order_accepts_charset_and_base64_bodies(api, load_event):
    event = load_event("api_post_order")
    event["headers"]["Content-Type"] = "application/json; charset=UTF-8"
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert api(event)[0] == 202


@pytest.mark.parametrize("flag", [False, "false", "False", None])
def test_a_plain_body_with_is_base64_encoded_false_in_any_accepted_spelling_is_202(api, load_event, flag):
    """``isBase64Encoded: "false"`` (a string) made a valid order a 400: ``bool("false")`` is True."""
    event = load_event("api_post_order")
    event["isBase64Encoded"] = flag
    assert api(event)[0] == 202 and len(api.queue.sent) == 1


@pytest.mark.parametrize("flag", [True, "true", "TRUE"])
def test_a_base64_body_with_is_base64_encoded_true_in_any_accepted_spelling_is_202(api, load_event, flag):
    event = load_event("api_post_order")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = flag
    assert api(event)[0] == 202 and len(api.queue.sent) == 1


@pytest.mark.parametrize("flag", ["yes", "0", 1, 0, "", [], {"b": True}])
def test_any_other_is_base64_encoded_is_a_clear_400(api, load_event, flag):
    event = load_event("api_post_order")
    event["isBase64Encoded"] = flag
    status, body, _ = api(event)
    assert status == 400
    assert_error_shape(body, "InvalidRequest")
    assert "isBase64Encoded" in body["message"] and repr(flag)[:10] in body["message"]
    assert body["details"] == [{"path": "isBase64Encoded", "problem": f"must be true or false, got {repr(flag)[:40]}"}]
    assert not api.queue.sent


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=latin-1", "application/jsonx", "multipart/form-data"])
def test_post_without_json_content_type_is_415(api, load_event, content_type):
    event = load_event("api_post_order")
    event["multiValueHeaders"] = None
    event["headers"] = {"Content-Type": content_type} if content_type else {}
    status, body, _ = api(event)
    assert status == 415
    assert_error_shape(body, "UnsupportedMediaType")
    assert not api.queue.sent


@pytest.mark.parametrize(
    "raw, base64_encoded",
    [(None, False), ("", False), ("{", False), ("NaN", False), ('{"a": Infinity}', False), ("not base64!", True), (base64.b64encode(b"\xff\xfe{}").decode(), True), ("[" * 50_000, False)],
)
def test_unparseable_bodies_are_400_invalid_json(api, load_event, raw, base64_encoded):
    status, body, _ = api(post(load_event, raw, isBase64Encoded=base64_encoded))
    assert status == 400
    assert_error_shape(body, "InvalidJson")
    assert not api.queue.sent


def test_schema_and_rule_violations_are_400_with_details(api, load_event):
    bad = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 0.001}, {"productId": "p", "quantity": 1, "unitPrice": 1}]}
    status, body, _ = api(post(load_event, bad))
    assert status == 400
    assert_error_shape(body, "ValidationError")
    assert {d["path"] for d in body["details"]} == {"items[0].unitPrice", "items[1].productId"}
    assert body["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert not api.queue.sent


def test_oversized_body_is_413(api, load_event):
    big = json.dumps({"orderId": "o", "customerId": "c", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}]}) + " " * 262_144
    status, body, _ = api(post(load_event, big))
    assert status == 413
    assert_error_shape(body, "PayloadTooLarge")
    assert not api.queue.sent


@pytest.mark.parametrize("retryable, status, code", [(True, 503, "ServiceUnavailable"), (False, 500, "InternalError")])
def test_queue_failure_is_a_json_5xx_with_request_id_and_no_internals(api, load_event, retryable, status, code):
    api.queue.fail_with = downstream(retryable)
    got_status, body, _ = api(load_event("api_post_order"))
    assert got_status == status
    assert_error_shape(body, code)
    assert body["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert "SendMessage" not in body["message"] and "AccessDenied" not in json.dumps(body)


def test_unexpected_exception_is_a_json_500(api, load_event):
    api.queue.fail_with = RuntimeError("secret internals")
    status, body, _ = api(load_event("api_post_order"))
    assert status == 500
    assert_error_shape(body, "InternalError")
    assert "secret" not in json.dumps(body)


def stored(order_id, customer_id, ts):
    return {
        "orderId": order_id,
        "customerId": customer_id,
        "timestamp": ts,
        "currency": "USD",
        "items": [{"productId": "p", "quantity": Decimal(2), "unitPrice": Decimal("0.10")}],
        "itemCount": Decimal(2),
        "totalAmount": Decimal("0.20"),
        "status": "PROCESSED",
        "eventPublished": True,
        "createdAt": ts,
    }


def test_get_order_returns_the_stored_order_with_exact_numbers(api, load_event):
    api.repository.items["order-1001"] = stored("order-1001", "cust-42", FIXED_TS)
    event = load_event("api_get_order")
    response = app.lambda_handler(event, api.context)
    assert response["statusCode"] == 200
    assert '"totalAmount":0.20' in response["body"]
    body = json.loads(response["body"])
    assert body["orderId"] == "order-1001" and "eventPublished" not in body


def test_get_unknown_order_is_404(api, load_event):
    status, body, _ = api(load_event("api_get_order"))
    assert status == 404
    assert_error_shape(body, "NotFound")


def test_get_malformed_order_id_is_400(api, load_event):
    event = load_event("api_get_order")
    event["path"] = "/orders/bad%20id"
    event["pathParameters"] = {"orderId": "bad id"}
    status, body, _ = api(event)
    assert status == 400 and body["details"][0]["path"] == "orderId"
    assert api.repository.calls["get"] == 0


def test_customer_listing_pages_newest_first_with_next_token_only_when_more(api, load_event):
    for i in range(5):
        api.repository.items[f"o{i}"] = stored(f"o{i}", "cust-42", f"2026-11-28T22:44:4{i}.000000Z")
    api.repository.items["other"] = stored("other", "cust-7", FIXED_TS)
    seen, token, pages = [], None, 0
    while True:
        event = load_event("api_list_customer_orders")  # limit=2
        if token:
            event["queryStringParameters"]["nextToken"] = token
        status, body, _ = api(event)
        assert status == 200
        pages += 1
        seen += [o["orderId"] for o in body["orders"]]
        token = body.get("nextToken")
        if not token:
            break
    assert seen == ["o4", "o3", "o2", "o1", "o0"] and pages == 3


def test_exactly_full_last_page_has_no_next_token(api, load_event):
    for i in range(2):
        api.repository.items[f"o{i}"] = stored(f"o{i}", "cust-42", f"2026-11-28T22:44:4{i}.000000Z")
    status, body, _ = api(load_event("api_list_customer_orders"))
    assert status == 200 and len(body["orders"]) == 2 and "nextToken" not in body


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"nextToken": "garbage"}])
def test_bad_listing_parameters_are_400(api, load_event, query):
    event = load_event("api_list_customer_orders")
    event["queryStringParameters"] = query
    status, body, _ = api(event)
    assert status == 400
    assert_error_shape(body, "InvalidParameter")


def test_another_customers_token_is_400(api, load_event):
    for i in range(3):
        api.repository.items[f"o{i}"] = stored(f"o{i}", "cust-42", f"2026-11-28T22:44:4{i}.000000Z")
    token = api(load_event("api_list_customer_orders"))[1]["nextToken"]
    event = load_event("api_list_customer_orders")
    event["path"] = "/customers/cust-7/orders"
    event["pathParameters"] = {"customerId": "cust-7"}
    event["queryStringParameters"] = {"nextToken": token}
    status, body, _ = api(event)
    assert status == 400 and "another customer" in body["details"][0]["problem"]


@pytest.mark.parametrize(
    "method, path, status, code, allow",
    [
        ("GET", "/nope", 404, "NotFound", None),
        ("GET", "/orders", 405, "MethodNotAllowed", "POST"),
        ("DELETE", "/orders/o-1", 405, "MethodNotAllowed", "GET"),
        ("POST", "/customers/c/orders", 405, "MethodNotAllowed", "GET"),
    ],
)
def test_unknown_routes_and_methods(api, load_event, method, path, status, code, allow):
    event = load_event("api_get_order")
    event.update(httpMethod=method, path=path, pathParameters=None)
    got, body, headers = api(event)
    assert got == status
    assert_error_shape(body, code)
    # RFC 9110 15.5.6: a 405 lists exactly the methods the resource supports (the route table's).
    assert (headers or {}).get("Allow") == allow


def test_routes_follow_the_resource_behind_a_custom_domain_base_path(api, load_event):
    # Behind a custom domain with base path mapping "v1", "path" carries the base path; the
    # resource template and path parameters do not.
    api.repository.items["order-1001"] = {"orderId": "order-1001", "customerId": "c", "timestamp": FIXED_TS}
    event = load_event("api_get_order")
    event["path"] = "/v1/orders/order-1001"
    status, body, _ = api(event)
    assert status == 200 and body["orderId"] == "order-1001"
    post_event = load_event("api_post_order")
    post_event["path"] = "/v1/orders"
    post_event["body"] = post_event["body"].replace("order-1001", "order-2002")  # order-1001 is stored above
    assert api(post_event)[0] == 202
    listing = load_event("api_list_customer_orders")
    listing["path"] = "/v1/customers/cust-7/orders"
    assert api(listing)[0] == 200


def test_garbage_event_does_not_crash(api):
    response = app.lambda_handler({}, api.context)
    assert response["statusCode"] == 404


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
almost_orders = st.fixed_dictionaries(
    {
        "orderId": st.one_of(st.just("o-1"), st.text(max_size=70), st.integers()),
        "customerId": st.one_of(st.just("c-1"), st.text(max_size=70), st.none()),
        "items": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "productId": st.one_of(st.just("p"), st.text(max_size=70)),
                        "quantity": st.one_of(st.integers(max_value=0), st.integers(min_value=10**6 + 1), st.floats(), st.text(max_size=3)),
                        "unitPrice": st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False).map(str), st.just("1.001")),
                    }
                ),
                max_size=3,
            ),
            json_values,
        ),
    },
    optional={"currency": st.text(max_size=4), "extra": json_values},
)
raw_bodies = st.one_of(
    json_values.map(json.dumps),
    almost_orders.map(json.dumps),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["NaN", "[Infinity]", '{"orderId": -Infinity}', "1" * 5000, "[" * 3000, "\ud800", "null", '""']),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=raw_bodies, base64_encoded=st.booleans())
def test_random_bad_bodies_never_give_5xx_and_never_reach_the_queue(api, load_event, raw, base64_encoded):
    # Given a body that is not a valid order (some generated ones could be: those are skipped)
    event = post(load_event, raw, isBase64Encoded=base64_encoded)
    # When the handler runs
    status, body, _ = api(event)
    # Then it is a 4xx with the error shape and nothing was queued -- or a genuinely valid order
    if status == 202:
        assert len(api.queue.sent) == 1
        api.queue.sent.clear()
        return
    assert 400 <= status < 500, body
    assert set(body) >= {"error", "message", "details"}
    assert not api.queue.sent
