"""Bad order bodies: 4xx with a clear message, never 5xx, and nothing enqueued — at the edge and past it."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from local_pipeline.api_events import build_proxy_event, load_edge_validator, match_route
from local_pipeline.lambda_context import LocalLambdaContext
from tests.e2e.support import HTTP_TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

VALID: dict[str, Any] = {"orderId": "ord-1", "customerId": "cust-1", "currency": "EUR", "items": [{"productId": "p-1", "quantity": 2, "unitPrice": 3.5}]}
IS_VALID = load_edge_validator()

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

#: Values that are never a valid string (or a list of items): type errors for every field.
non_string = junk.filter(lambda v: not isinstance(v, str))


@st.composite
def bad_bodies(draw) -> str:
    """A request body the order schema rejects: one or two mutations of a valid order, or not an order at all."""
    kind = draw(st.sampled_from(["drop", "retype", "item", "extra", "ids", "shape", "text"]))
    order = copy.deepcopy(VALID)
    if kind == "drop":
        del order[draw(st.sampled_from(["orderId", "customerId", "items"]))]
    elif kind == "retype":
        order[draw(st.sampled_from(["orderId", "customerId", "currency", "items"]))] = draw(non_string)
    elif kind == "item":
        item = order["items"][0]
        field = draw(st.sampled_from(["productId", "quantity", "unitPrice", "drop", "extra"]))
        if field == "quantity":
            item["quantity"] = draw(st.one_of(st.integers(max_value=0), st.floats(0.1, 9.9), st.text(max_size=3), st.booleans(), st.none()))
        elif field == "unitPrice":
            item["unitPrice"] = draw(st.one_of(st.floats(max_value=-0.01, allow_nan=False, allow_infinity=False), st.text(max_size=3), st.none(), st.booleans()))
        elif field == "productId":
            item["productId"] = draw(st.one_of(st.just(""), st.text(min_size=65, max_size=70), non_string))
        elif field == "drop":
            del item[draw(st.sampled_from(["productId", "quantity", "unitPrice"]))]
        else:
            item["x_" + draw(st.text(max_size=8))] = 1  # prefixed: never a known property
        if draw(st.booleans()):
            order["items"] = draw(st.sampled_from([[], "items", [1], [None]]))
    elif kind == "extra":
        order["x_" + draw(st.text(max_size=10))] = draw(junk)
    elif kind == "ids":
        order[draw(st.sampled_from(["orderId", "customerId"]))] = draw(st.sampled_from(["", " x", "-lead", "a" * 65, "ü", "a/b", "a b"]))
    elif kind == "shape":
        return json.dumps(draw(st.one_of(junk, st.lists(st.just(VALID), max_size=2))))
    else:
        return draw(st.sampled_from(["", "{", "not json", '{"orderId": "x",}', "[1,2", "\u0000"]))
    return json.dumps(order)


class SendCounter:
    """Counts SendMessage calls of the API handler's SQS client."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0

    def __call__(self, **_):
        with self.lock:
            self.calls += 1


@pytest.fixture
def sends(hooks) -> SendCounter:
    counter = SendCounter()
    hooks.register("sqs", "provide-client-params.sqs.SendMessage", counter)
    return counter


def assert_queue_empty(pipeline) -> None:
    depths = pipeline.queue_depths()
    assert depths["queue_visible"] == depths["queue_in_flight"] == depths["queue_delayed"] == 0, depths


def test_generator_makes_only_invalid_bodies():
    # Guards the tests below: a "bad" body that the schema accepts would test nothing.
    @given(bad_bodies())
    @settings(max_examples=200, deadline=None)
    def check(body: str) -> None:
        assume(body is not None)
        assert not IS_VALID(body), body

    check()


@given(body=bad_bodies())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_edge_rejects_bad_bodies_with_400_and_enqueues_nothing(pipeline, sends, body):
    before = sends.calls
    response = requests.post(f"{pipeline.api_url}/orders", data=body.encode("utf-8"), headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert response.status_code == 400, (body, response.text)
    assert response.json()["message"] == "Invalid request body" and response.json()["error"] == "BAD_REQUEST_BODY"
    assert sends.calls == before


@given(body=bad_bodies())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_handler_rejects_bad_bodies_past_the_edge_with_4xx_and_enqueues_nothing(pipeline, sends, body):
    # Straight into the handler, as if API Gateway's validator were misconfigured or bypassed.
    before = sends.calls
    event = build_proxy_event(
        method="POST",
        raw_path="/orders",
        query_string="",
        headers=[("Content-Type", "application/json")],
        body=body.encode("utf-8"),
        route=match_route("POST", f"/{pipeline.options.stage_name}/orders", pipeline.options.stage_name),
        stage=pipeline.options.stage_name,
    )
    result = pipeline.api_function(event, LocalLambdaContext(function_name=pipeline.names.api_handler_function, region=pipeline.config.region))
    assert 400 <= result["statusCode"] < 500, (body, result)
    payload = json.loads(result["body"])
    assert isinstance(payload.get("error"), str) and payload["error"]
    assert isinstance(payload.get("message"), str) and payload["message"].strip()
    assert isinstance(payload.get("details"), list)
    assert sends.calls == before


def test_nothing_was_enqueued_by_the_bad_bodies(pipeline):
    # Runs after the two property tests in this module (pytest keeps file order).
    pipeline.wait_until_idle(timeout=30)
    assert_queue_empty(pipeline)
    assert pipeline.client("sqs").get_queue_attributes(QueueUrl=pipeline.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"
