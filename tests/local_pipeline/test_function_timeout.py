"""The local API gives the API handler exactly the time Lambda would: past its timeout, API Gateway's 502."""

from __future__ import annotations

import json
import threading

import pytest

from local_pipeline.api_server import FunctionTimedOut, LocalApi, invoke_within_timeout

pytestmark = pytest.mark.timeout(30)


class Context:
    """A Lambda context whose clock the test sets: ``left_ms`` is what remains at the call."""

    timeout_seconds = 3

    def __init__(self, left_ms: int) -> None:
        self.left_ms = left_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.left_ms


def blocked_handler(release: threading.Event):
    def handler(event, context):
        release.wait(20)  # holds until the test lets it go: it never returns in time by itself
        return {"statusCode": 200, "body": "{}"}

    return handler


def test_a_handler_past_its_timeout_gets_the_gateways_502_and_its_late_result_is_dropped():
    release = threading.Event()
    api = LocalApi(blocked_handler(release), context_factory=lambda: Context(left_ms=50), validate_body=lambda _: True)
    try:
        response = api.handle(method="GET", target="/local/orders/o-1", headers=[], body=None)
    finally:
        release.set()
    assert response.status == 502
    assert json.loads(response.body)["error"] == "INTEGRATION_FAILURE"


def test_a_handler_in_time_answers_and_its_errors_propagate_as_in_lambda():
    assert invoke_within_timeout(lambda e, c: {"statusCode": 202}, {}, Context(left_ms=5_000)) == {"statusCode": 202}

    def crash(event, context):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        invoke_within_timeout(crash, {}, Context(left_ms=5_000))
    release = threading.Event()
    try:
        with pytest.raises(FunctionTimedOut, match="task timed out after 3 s"):
            invoke_within_timeout(blocked_handler(release), {}, Context(left_ms=20))
    finally:
        release.set()
