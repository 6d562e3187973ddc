"""Calls that took effect although they failed: a 503 means "not known to be accepted", and a retry is safe.

The shape: SQS SendMessage takes effect, but its answer comes 3 s late while the API handler
reads for 2 s (``FaultProxy``, fault ``late``, in front of the pipeline's emulator). Before, the
handler re-sent twice and answered 503 with three messages queued.
"""

from __future__ import annotations

import contextlib
import time

import pytest
import requests

from local_pipeline.api_server import LocalApi
from local_pipeline.fault_proxy import Fault, FaultProxy
from local_pipeline.lambda_context import LocalLambdaContext
from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import events_per_order, fingerprint_of, new_order, post_order, stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: The API handler's default Lambda timeout (config.api_handler_timeout_seconds).
API_TIMEOUT_SECONDS = 10


@contextlib.contextmanager
def api_through(pipeline, proxy: FaultProxy, *, services: tuple[str, ...]):
    """A local API whose handler calls ``services`` through ``proxy`` (the rest directly); a fresh 10 s context per request."""
    from api_handler.app import ApiFunction
    from local_pipeline.handler_loading import handler_clients
    from orders_core.aws import AwsClients
    from orders_core.budget import API_TIMEOUTS

    proxy.start(pipeline.endpoint_url)
    proxied = handler_clients(proxy.url, pipeline.region, API_TIMEOUTS)
    direct = pipeline.api_clients
    clients = AwsClients(**{name: getattr(proxied if name in services else direct, name) for name in ("sqs", "dynamodb", "sns")})
    api = LocalApi(
        ApiFunction.bound_to(pipeline.handler_settings(), clients),
        context_factory=lambda: LocalLambdaContext(function_name=pipeline.names.api_handler_function, region=pipeline.region, timeout_seconds=API_TIMEOUT_SECONDS),
        stage=pipeline.options.stage_name,
    )
    api.start()
    try:
        yield api
    finally:
        api.stop()
        proxy.stop()


def test_a_send_answered_late_is_resent_once_then_a_503_and_a_client_retry_stores_one_order(pipeline):
    """Given SendMessage taking effect but answering 3 s late: at most 2 messages, a 503 saying so, and after the client's retry one order, one event."""
    proxy = FaultProxy(lambda call: Fault.LATE if call.operation == "SendMessage" else None, late_seconds=3)
    order = new_order()
    with api_through(pipeline, proxy, services=("sqs",)) as api:
        started = time.monotonic()
        answer = requests.post(f"{api.url}/orders", json=order, timeout=30)
        elapsed = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert "not known to be accepted" in answer.json()["message"] and "same orderId" in answer.json()["message"]
    assert elapsed < API_TIMEOUT_SECONDS
    sends = proxy.stats.calls["sqs.SendMessage"]
    assert sends == 2, f"{sends} SendMessage calls reached the queue: an unknown outcome may be resent once, never more"

    retry = post_order(pipeline, order)  # the client does what the 503 says
    assert retry.status_code == 202, retry.text
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    item = stored_item(pipeline, order["orderId"])
    assert item is not None and item["orderFingerprint"]["S"] == fingerprint_of(order)
    assert item["eventPublished"] == {"BOOL": True}
    events = [e for e in pipeline.receive_events(wait_seconds=2, max_messages=1000) if e["body"].get("orderId") == order["orderId"]]
    assert events_per_order(events)[order["orderId"]] == 1
