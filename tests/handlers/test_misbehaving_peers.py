"""The handlers against dependencies that misbehave on the wire: trickling, throttling through KMS, answers cut short.

Each test names its failure shape and runs the real handler on real botocore clients against a
small server that misbehaves on purpose (tests/stall.py); no emulator is needed for these shapes.
The shapes that need the call to take effect first (a late answer) are in tests/e2e/test_unknown_outcomes.py.
The whole module is in the slow tier (sockets, real clients and backoff pauses: about 25 s); the
classification and the budget logic they rest on are unit-tested in the fast tier
(tests/handlers/test_budget.py, tests/handlers/test_error_codes.py).
"""

from __future__ import annotations

import json
import time
import zlib

import pytest

from orders_core.budget import API_TIMEOUTS, PROCESSOR_TIMEOUTS
from tests.stall import CannedServer, TricklingServer, http_answer

from .fakes import FakeQueue, FakeRepository
from .test_budget import TickingContext, stalled_clients

pytestmark = pytest.mark.slow

QUEUE_PATH = "/123456789012/q"


def api_on(url: str, *, real: tuple[str, ...], queue: FakeQueue | None = None, repository: FakeRepository | None = None):
    """The API handler whose ``real`` dependencies ("sqs", "dynamodb") call ``url``; the others are fakes."""
    from api_handler.app import ApiFunction
    from orders_core.adapters import DynamoOrderRepository, SqsOrderQueue
    from orders_core.service import OrderApiService

    clients = stalled_clients(url, API_TIMEOUTS)
    service = OrderApiService(
        queue=SqsOrderQueue(clients.sqs, f"{url}{QUEUE_PATH}") if "sqs" in real else (queue or FakeQueue()),
        repository=DynamoOrderRepository(clients.dynamodb, "t") if "dynamodb" in real else (repository or FakeRepository()),
    )
    return ApiFunction(lambda: service)


def processor_on(url: str, *, real: tuple[str, ...]):
    """The processor whose ``real`` dependencies ("dynamodb", "sns") call ``url``; the others are fakes."""
    from order_processor.app import ProcessorFunction
    from orders_core.adapters import DynamoOrderRepository, SnsEventPublisher
    from orders_core.service import OrderProcessingService

    from .fakes import FakePublisher

    clients = stalled_clients(url, PROCESSOR_TIMEOUTS)
    service = OrderProcessingService(
        repository=DynamoOrderRepository(clients.dynamodb, "t") if "dynamodb" in real else FakeRepository(),
        publisher=SnsEventPublisher(clients.sns, "arn:aws:sns:us-east-1:123456789012:t") if "sns" in real else FakePublisher(),
    )
    return ProcessorFunction(lambda: service)


def timed(handler, event, seconds_left: float):
    context = TickingContext(seconds_left)
    started = time.monotonic()
    response = handler(event, context)
    return response, time.monotonic() - started, context


# ---------------------------------------------------------------- trickling: the socket is never silent


@pytest.mark.parametrize("seconds_left", [10, 3])
def test_a_trickling_queue_is_a_503_before_the_api_function_times_out(load_event, seconds_left):
    """Given SQS sending the status line and then one header byte every 0.2 s, POST answers 503 in time.

    botocore's read timeout never fires (no read waits 0.2 s); before the attempts had a
    wall-clock bound this took 20 s with 10 s (and with 3 s) left.
    """
    with TricklingServer(interval=0.2) as trickle:
        response, elapsed, context = timed(api_on(trickle.url, real=("sqs",)), load_event("api_post_order"), seconds_left)
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
    assert elapsed < seconds_left and context.get_remaining_time_in_millis() > 0, f"answered after {elapsed:.1f} s with {seconds_left} s left"
    assert 1 <= trickle.requests <= 1 + API_TIMEOUTS.resends_after_unknown_outcome  # an unknown outcome is resent once at most


def test_a_trickling_table_is_a_503_on_get_before_the_function_times_out(load_event):
    with TricklingServer(interval=0.2) as trickle:
        response, elapsed, _ = timed(api_on(trickle.url, real=("dynamodb",)), load_event("api_get_order"), 3)
    assert response["statusCode"] == 503 and elapsed < 3
    assert trickle.requests >= 1


def test_a_trickling_table_fails_the_processors_records_before_its_timeout(load_event):
    """Given DynamoDB trickling, the processor returns its batch response before its 10 s (took 15 s before)."""
    event = load_event("sqs_order_batch")
    with TricklingServer(interval=0.2) as trickle:
        response, elapsed, _ = timed(processor_on(trickle.url, real=("dynamodb",)), event, 10)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert elapsed < 10, f"batch response after {elapsed:.1f} s"
    assert trickle.requests >= 1


# ---------------------------------------------------------------- KMS throttling, as the services spell it


def sqs_error(type_name: str, status: int, query_error: str | None) -> bytes:
    body = json.dumps({"__type": f"com.amazonaws.sqs#{type_name}", "message": "Rate exceeded"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if query_error:
        headers["x-amzn-query-error"] = query_error
    return http_answer(status, headers, body)


def sns_error(code: str, status: int = 400) -> bytes:
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ).encode()
    return http_answer(status, {"Content-Type": "text/xml"}, body)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(sqs_error("KmsThrottled", 400, None), id="KmsThrottled"),
        pytest.param(sqs_error("KmsThrottled", 400, "KMS.ThrottlingException;Sender"), id="KMS.ThrottlingException-via-x-amzn-query-error"),
        pytest.param(sqs_error("RequestThrottled", 403, "RequestThrottled;Sender"), id="RequestThrottled"),
    ],
)
def test_kms_throttling_of_the_queue_is_retried_then_a_503_with_retry_after(load_event, answer):
    """SQS answering KMS throttling (either spelling) is a throttle: retried, then 503 + Retry-After (it was a 500 after 1 attempt)."""
    with CannedServer(answer) as sqs:
        response, _, _ = timed(api_on(sqs.url, real=("sqs",)), load_event("api_post_order"), 10)
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
    assert json.loads(response["body"])["error"] == "ServiceUnavailable"
    assert sqs.requests == API_TIMEOUTS.max_attempts  # refused for rate: nothing was queued, so every attempt is made


def test_kms_throttling_of_the_topic_is_retried_and_the_records_are_retried(load_event):
    """SNS answering KMSThrottling is retried within the invocation (it got no retry), then the records fail, to be redelivered."""
    event = load_event("sqs_order_batch")
    with CannedServer(sns_error("KMSThrottling")) as sns:
        response, _, _ = timed(processor_on(sns.url, real=("sns",)), event, 10)
    assert sns.requests == PROCESSOR_TIMEOUTS.max_attempts
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}


# ---------------------------------------------------------------- DynamoDB answers botocore cannot vouch for

CUT_INSIDE_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
EMPTY_WITHOUT_CRC = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 0\r\n\r\n"


class CutShortServer(CannedServer):
    """Answers with ``answer`` and closes the connection (an answer cut short)."""

    def serve(self, connection) -> bool:
        connection.sendall(self.answer)
        return False


@pytest.mark.parametrize("answer", [CUT_INSIDE_HEADERS, EMPTY_WITHOUT_CRC], ids=["cut-inside-headers", "empty-body-no-crc32"])
def test_an_unvouched_table_answer_is_a_503_not_a_404(load_event, answer):
    with CutShortServer(answer) as table:
        response, _, _ = timed(api_on(table.url, real=("dynamodb",)), load_event("api_get_order"), 10)
    assert response["statusCode"] == 503, response
    assert table.requests >= 2  # retried, not taken for "no such order" (a reused connection the server closed may fail before reaching it)


@pytest.mark.parametrize("answer", [CUT_INSIDE_HEADERS, EMPTY_WITHOUT_CRC], ids=["cut-inside-headers", "empty-body-no-crc32"])
def test_an_unvouched_table_answer_never_skips_the_conflict_check(load_event, answer):
    """POST reads the table before sending: an answer that only looks like "not stored" must not send the order."""
    queue = FakeQueue()
    with CutShortServer(answer) as table:
        response, _, _ = timed(api_on(table.url, real=("dynamodb",), queue=queue), load_event("api_post_order"), 10)
    assert response["statusCode"] == 503
    assert queue.sent == []


def test_a_vouched_empty_answer_is_still_absent(load_event):
    """DynamoDB's own "no item" answer ({} with its CRC32) stays a 404: the check is not a blanket refusal."""
    body = b"{}"
    answer = http_answer(200, {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(body))}, body)
    with CannedServer(answer) as table:
        response, _, _ = timed(api_on(table.url, real=("dynamodb",)), load_event("api_get_order"), 10)
    assert response["statusCode"] == 404 and table.requests == 1


def test_a_table_answer_failing_its_checksum_is_retried(load_event):
    body = b'{"Item": {"orderId": {"S": "x"}}}'
    answer = http_answer(200, {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(body) ^ 1)}, body)
    with CannedServer(answer) as table:
        response, _, _ = timed(api_on(table.url, real=("dynamodb",)), load_event("api_get_order"), 10)
    assert response["statusCode"] == 503 and table.requests == API_TIMEOUTS.max_attempts


def test_a_send_answer_without_a_message_id_is_not_a_202(load_event):
    """An SQS answer emptied in transit parses as a success without MessageId: the order may or may not be queued."""
    with CannedServer(http_answer(200, {"Content-Type": "application/x-amz-json-1.0"}, b"{}")) as sqs:
        response, _, _ = timed(api_on(sqs.url, real=("sqs",)), load_event("api_post_order"), 10)
    assert response["statusCode"] == 503
    assert "not known to be accepted" in json.loads(response["body"])["message"]
    assert sqs.requests == 1 + API_TIMEOUTS.resends_after_unknown_outcome
