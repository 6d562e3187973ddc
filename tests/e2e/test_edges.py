"""The edge, as AWS has it: a stalled dependency within the function timeout, Location, the payload limits.

No wall-clock assertion here: the local API enforces the function's timeout as Lambda does
(``local_pipeline.api_server.invoke_within_timeout``: past it, the client gets API Gateway's 502).
So "answers 503 inside the 10 s function" is a status check: a handler that overran its budget
would answer 502, not the designed 503.
"""

from __future__ import annotations

import json

import pytest
import requests

from local_pipeline.api_server import LocalApi
from local_pipeline.lambda_context import LocalLambdaContext
from tests.e2e.support import new_order, post_order, stored_item
from tests.stall import StallingServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: The API handler's default Lambda timeout (config.api_handler_timeout_seconds).
API_TIMEOUT_SECONDS = 10


@pytest.fixture
def stall():
    with StallingServer() as server:
        yield server


def api_with(pipeline, *, sqs, dynamodb):
    """A local API whose handler uses these clients; invoked with a fresh 10 s Lambda context per request."""
    from api_handler.app import ApiFunction
    from orders_core.aws import AwsClients
    from orders_core.budget import API_TIMEOUTS

    handler = ApiFunction.bound_to(pipeline.handler_settings(), AwsClients(sqs=sqs, dynamodb=dynamodb, sns=pipeline.api_clients.sns))
    assert API_TIMEOUTS.safety_margin_seconds < API_TIMEOUT_SECONDS
    return LocalApi(
        handler,
        context_factory=lambda: LocalLambdaContext(function_name=pipeline.names.api_handler_function, region=pipeline.region, timeout_seconds=API_TIMEOUT_SECONDS),
        stage=pipeline.options.stage_name,
    )


def stalled(pipeline, stall):
    from orders_core.aws import ClientTarget, build_clients
    from orders_core.budget import API_TIMEOUTS

    return build_clients(ClientTarget(endpoint_url=stall.url, region=pipeline.region, access_key_id="k", secret_access_key="s"), API_TIMEOUTS)


@pytest.mark.parametrize("dependency", ["sqs", "dynamodb"])
def test_a_stalled_dependency_answers_503_with_retry_after_inside_a_10_s_function(pipeline, stall, dependency):
    """Given SQS (or DynamoDB) accepting connections and never answering, POST answers 503 before the 10 s timeout."""
    hung = stalled(pipeline, stall)
    clients = {"sqs": pipeline.api_clients.sqs, "dynamodb": pipeline.api_clients.dynamodb, dependency: getattr(hung, dependency)}
    api = api_with(pipeline, **clients)
    api.start()
    try:
        order = new_order()
        answer = requests.post(f"{api.url}/orders", json=order, timeout=30)
    finally:
        api.stop()
    # Past the 10 s function timeout the local API answers 502, as API Gateway would: a 503 is in time.
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1" and answer.json()["error"] == "ServiceUnavailable"
    assert stall.accepted >= 1
    pipeline.wait_until_idle(timeout=30)
    if dependency == "dynamodb":
        assert stored_item(pipeline, order["orderId"]) is None  # the check failed: nothing was sent


def test_a_stalled_table_on_get_answers_503_inside_a_10_s_function(pipeline, stall):
    api = api_with(pipeline, sqs=pipeline.api_clients.sqs, dynamodb=stalled(pipeline, stall).dynamodb)
    api.start()
    try:
        answer = requests.get(f"{api.url}/orders/some-order", timeout=30)
    finally:
        api.stop()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"  # 502 past the timeout


def test_location_is_the_orders_get_url_on_the_stage(pipeline):
    """Given the stage in the URL (as on the default endpoint), Location resolved against it is the order's GET URL."""
    from urllib.parse import urljoin

    order = new_order()
    answer = post_order(pipeline, order)
    assert answer.status_code == 202
    target = urljoin(answer.url, answer.headers["Location"])
    assert target == f"{pipeline.api_url}/orders/{order['orderId']}"
    assert f"/{pipeline.options.stage_name}/orders/" in target
    pipeline.wait_until_idle(timeout=30)
    got = requests.get(target, timeout=10)
    assert got.status_code == 200 and got.json()["orderId"] == order["orderId"]


def test_the_6_mb_lambda_limit_and_the_10_mb_gateway_limit_at_the_edge(pipeline, hooks):
    """Bodies API Gateway accepts but Lambda refuses (event > 6 MB) are 413 without an invocation; > 10 MB is the gateway's 413."""
    sent = []
    hooks.register("sqs", "provide-client-params.sqs.SendMessage", lambda **kw: sent.append(1))
    order = json.dumps(new_order()).encode()
    seven_mb = order[:-1] + b" " * (7 * 1024 * 1024) + b"}"  # whitespace: a schema-valid order of 7 MB
    answer = requests.post(f"{pipeline.api_url}/orders", data=seven_mb, headers={"Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413 and answer.json() == {"message": "Request Too Long"}
    eleven_mb = order[:-1] + b" " * (11 * 1024 * 1024) + b"}"
    answer = requests.post(f"{pipeline.api_url}/orders", data=eleven_mb, headers={"Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413 and answer.text == "HTTP content length exceeded 10485760 bytes."
    # Under both limits but over the 256 KiB an SQS message holds: the handler's own 413, in its JSON shape.
    one_mb = order[:-1] + b" " * (1024 * 1024) + b"}"
    answer = requests.post(f"{pipeline.api_url}/orders", data=one_mb, headers={"Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413 and answer.json()["error"] == "PayloadTooLarge"
    assert sent == []
