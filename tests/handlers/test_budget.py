"""Every AWS call fits the invocation's remaining time: the ladder, the retries, and real stalled sockets."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ParamValidationError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from orders_core.budget import (
    API_TIMEOUTS,
    PROCESSOR_TIMEOUTS,
    AttemptTimedOut,
    BudgetedClient,
    Deadline,
    DeadlineExceeded,
    TimeoutPolicy,
    UnverifiedResponse,
    current_deadline,
    deadline_scope,
    is_retryable,
    is_throttle,
    outcome_unknown,
)
from tests.client_errors import client_error
from tests.stall import StallingServer

from .fakes import FakeRepository

POLICY = TimeoutPolicy(safety_margin_seconds=1.0, attempt_timeouts_seconds=(2.0, 1.0, 0.5), connect_timeout_seconds=0.5, max_attempts=3)


def throttled() -> ClientError:
    return client_error("ThrottlingException", "SendMessage", message="slow down")


def denied() -> ClientError:
    return client_error("AccessDeniedException", "SendMessage", status=403, message="no")


class FakeEvents:
    def __init__(self) -> None:
        self.handlers: dict[str, object] = {}

    def register(self, event_name, handler, unique_id):
        self.handlers[unique_id] = handler

    def unregister(self, event_name, handler, unique_id):
        self.handlers.pop(unique_id, None)


@dataclass
class FakeClient:
    """A boto3-like client whose ``send_message`` plays a script of outcomes."""

    read_timeout: float
    script: list
    calls: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.meta = type("Meta", (), {"events": FakeEvents()})()

    def send_message(self, **kwargs):
        self.calls.append(self.read_timeout)
        outcome = self.script.pop(0) if self.script else {"MessageId": "m"}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def budgeted(script: list, policy: TimeoutPolicy = POLICY, rng=lambda: 0.5, unsafe: frozenset[str] = frozenset()):
    made: dict[float, FakeClient] = {}

    def make(connect: float, read: float) -> FakeClient:
        made[read] = FakeClient(read, script)
        return made[read]

    pauses: list[float] = []
    return BudgetedClient(make, policy, sleep=pauses.append, rng=rng, unsafe_to_repeat=unsafe), made, pauses


def read_timeout() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="http://sqs")


def kms_throttled(query_code: bool) -> ClientError:
    if query_code:
        return client_error("KMS.ThrottlingException", "SendMessage", message="Rate exceeded", query_code="KmsThrottled")
    return client_error("KmsThrottled", "SendMessage", message="Rate exceeded")


# ---------------------------------------------------------------- the ladder (pure)


def test_the_longest_rung_that_fits_is_chosen():
    assert POLICY.rung_for(None) == 2.0  # outside an invocation
    assert POLICY.rung_for(10) == 2.0
    assert POLICY.rung_for(2.5) == 2.0  # 0.5 connect + 2.0 read
    assert POLICY.rung_for(2.4) == 1.0
    assert POLICY.rung_for(0.9) is None  # not even 0.5 connect... 0.5 + 0.5 read
    assert POLICY.rung_for(1.0) == 0.5


def test_backoff_is_jittered_and_capped():
    assert POLICY.backoff(1, rng=lambda: 1.0) == pytest.approx(0.05)
    assert POLICY.backoff(2, rng=lambda: 1.0) == pytest.approx(0.1)
    assert POLICY.backoff(30, rng=lambda: 1.0) == POLICY.backoff_max_seconds
    assert POLICY.backoff(3, rng=lambda: 0.0) == 0.0


def test_the_shipped_policies_leave_time_for_the_answer():
    # API handler: 3 stalled attempts on the longest rung end ~8 s into a 10 s function.
    api_worst = API_TIMEOUTS.max_attempts * API_TIMEOUTS.attempt_bound(API_TIMEOUTS.attempt_timeouts_seconds[0])
    assert api_worst + API_TIMEOUTS.safety_margin_seconds < 10
    for policy in (API_TIMEOUTS, PROCESSOR_TIMEOUTS):
        assert list(policy.attempt_timeouts_seconds) == sorted(policy.attempt_timeouts_seconds, reverse=True)


@pytest.mark.parametrize(
    "error, retryable",
    [
        (throttled(), True),
        (client_error("Whatever", "X", status=503), True),
        (denied(), False),
        (client_error("ConditionalCheckFailedException", "PutItem"), False),
        (ReadTimeoutError(endpoint_url="http://x"), True),
        (ParamValidationError(report="bad"), False),
        (DeadlineExceeded("SendMessage", 0.1), True),
        (AttemptTimedOut("SendMessage", 2.5), True),
        (UnverifiedResponse("GetItem", "no x-amz-crc32"), True),
        (ResponseParserError("no element found"), True),
        (kms_throttled(query_code=False), True),
        (kms_throttled(query_code=True), True),
        (client_error("KMSThrottling", "PublishBatch"), True),
        (client_error("KMSAccessDenied", "PublishBatch"), False),
        (ValueError("not AWS"), False),
    ],
)
def test_what_is_worth_retrying(error, retryable):
    assert is_retryable(error) is retryable


@pytest.mark.parametrize(
    "error, throttle, unknown",
    [
        (throttled(), True, False),
        (kms_throttled(query_code=True), True, False),
        (denied(), False, False),
        (client_error("InternalError", "X", status=500), False, True),
        (read_timeout(), False, True),
        (AttemptTimedOut("SendMessage", 2.5), False, True),
        (UnverifiedResponse("SendMessage", "no MessageId"), False, True),
        (EndpointConnectionError(endpoint_url="http://sqs"), False, False),
        (ConnectTimeoutError(endpoint_url="http://sqs"), False, False),
        (DeadlineExceeded("SendMessage", 0.1), False, False),
    ],
)
def test_throttles_and_unknown_outcomes_are_told_apart(error, throttle, unknown):
    """A refusal never took effect; a timeout, a cut answer or a 5xx may have."""
    assert is_throttle(error) is throttle
    assert outcome_unknown(error) is unknown


# ---------------------------------------------------------------- BudgetedClient


def test_retryable_failures_are_retried_up_to_max_attempts():
    client, made, pauses = budgeted([throttled(), throttled(), {"MessageId": "third"}])
    assert client.send_message(QueueUrl="q", MessageBody="b") == {"MessageId": "third"}
    assert made[2.0].calls == [2.0, 2.0, 2.0] and len(pauses) == 2
    client, made, _ = budgeted([throttled()] * 5)
    with pytest.raises(ClientError):
        client.send_message(QueueUrl="q", MessageBody="b")
    assert len(made[2.0].calls) == POLICY.max_attempts


def test_a_send_whose_outcome_is_unknown_is_resent_at_most_once():
    """SendMessage took effect but its answer was lost: a blind retry would queue it again and again."""
    client, made, _ = budgeted([read_timeout(), read_timeout(), read_timeout()], unsafe=frozenset({"send_message"}))
    with pytest.raises(ReadTimeoutError):
        client.send_message(QueueUrl="q", MessageBody="b")
    assert len(made[2.0].calls) == 1 + POLICY.resends_after_unknown_outcome == 2


def test_refusals_before_the_unknown_outcome_do_not_count_against_the_resend():
    client, made, _ = budgeted([throttled(), read_timeout(), {"MessageId": "third"}], unsafe=frozenset({"send_message"}))
    assert client.send_message(QueueUrl="q", MessageBody="b") == {"MessageId": "third"}
    assert len(made[2.0].calls) == 3


def test_operations_safe_to_repeat_use_every_attempt_after_an_unknown_outcome():
    client, made, _ = budgeted([read_timeout(), read_timeout(), {"MessageId": "third"}])
    assert client.send_message(QueueUrl="q", MessageBody="b") == {"MessageId": "third"}
    assert len(made[2.0].calls) == 3


@dataclass
class SlowClient:
    """A client whose call takes ``seconds`` of wall time whatever its timeouts say (a trickling peer)."""

    seconds: float
    calls: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.meta = type("Meta", (), {"events": FakeEvents()})()

    def get_item(self, **kwargs):
        self.calls.append(time.monotonic())
        time.sleep(self.seconds)
        return {"Item": {}}


def test_an_attempt_ends_at_its_wall_clock_bound_whatever_the_peer_does():
    policy = TimeoutPolicy(safety_margin_seconds=0.1, attempt_timeouts_seconds=(0.2,), connect_timeout_seconds=0.1, max_attempts=2, backoff_base_seconds=0.0)
    slow = SlowClient(seconds=3.0)
    client = BudgetedClient(lambda connect, read: slow, policy)
    started = time.monotonic()
    with pytest.raises(AttemptTimedOut, match="get_item"):
        client.get_item(TableName="t", Key={})
    elapsed = time.monotonic() - started
    assert len(slow.calls) == 2 and elapsed < 1.5, f"{len(slow.calls)} attempts in {elapsed:.2f} s"


def test_the_attempt_sees_the_callers_context():
    import contextvars

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")
    seen = []

    @dataclass
    class Peek:
        def __post_init__(self) -> None:
            self.meta = type("Meta", (), {"events": FakeEvents()})()

        def get_item(self, **_):
            seen.append((marker.get(), current_deadline()))
            return {}

    client = BudgetedClient(lambda connect, read: Peek(), POLICY)
    token = marker.set("caller")
    try:
        with deadline_scope(Deadline.after(5)) as mine:
            client.get_item(TableName="t", Key={})
    finally:
        marker.reset(token)
    assert seen == [("caller", mine)]


def test_other_failures_are_not_retried():
    client, made, pauses = budgeted([denied(), {"MessageId": "never"}])
    with pytest.raises(ClientError):
        client.send_message(QueueUrl="q", MessageBody="b")
    assert made[2.0].calls == [2.0] and pauses == []


def test_near_the_deadline_attempts_get_shorter_rungs_then_none():
    client, made, _ = budgeted([])
    with deadline_scope(Deadline.after(1.6)):
        client.send_message(QueueUrl="q", MessageBody="b")
    assert 1.0 in made and made[1.0].calls == [1.0]
    with deadline_scope(Deadline.after(0.2)), pytest.raises(DeadlineExceeded, match="send_message"):
        client.send_message(QueueUrl="q", MessageBody="b")
    assert sum(len(c.calls) for c in made.values()) == 1  # the refused call never reached a client


def test_no_pause_is_taken_that_would_leave_no_room_for_another_attempt():
    # A 1 s pause after the first failure would leave 0.5 s: less than the shortest attempt (1 s).
    slow_backoff = TimeoutPolicy(safety_margin_seconds=1.0, attempt_timeouts_seconds=(0.5,), connect_timeout_seconds=0.5, backoff_base_seconds=1.0)
    client, made, pauses = budgeted([throttled(), {"MessageId": "late"}], slow_backoff, rng=lambda: 1.0)
    with deadline_scope(Deadline.after(1.5)), pytest.raises(ClientError, match="ThrottlingException"):  # the real failure, at once
        client.send_message(QueueUrl="q", MessageBody="b")
    assert pauses == [] and made[0.5].calls == [0.5]


def test_hooks_reach_every_rung_including_later_ones():
    client, made, _ = budgeted([])
    _ = client.meta  # creates the main rung
    client.register("before-call.sqs.SendMessage", print, unique_id="h1")
    with deadline_scope(Deadline.after(1.6)):
        client.send_message(QueueUrl="q", MessageBody="b")  # creates the 1.0 s rung
    assert all("h1" in c.meta.events.handlers for c in made.values()) and len(made) == 2
    client.unregister("before-call.sqs.SendMessage", print, unique_id="h1")
    assert not any(c.meta.events.handlers for c in made.values())


def test_the_deadline_is_per_thread_and_restored():
    import threading

    seen = []
    with deadline_scope(Deadline.after(5)) as mine:
        thread = threading.Thread(target=lambda: seen.append(current_deadline()))
        thread.start()
        thread.join()
        assert current_deadline() is mine
    assert seen == [None] and current_deadline() is None


def test_a_context_without_remaining_time_gives_no_deadline():
    assert Deadline.from_context(object(), margin_seconds=1) is None
    deadline = Deadline.from_context(TickingContext(5), margin_seconds=1)
    assert deadline is not None
    assert 3.5 < deadline.remaining() <= 4


# ---------------------------------------------------------------- real stalled sockets


class TickingContext:
    """A LambdaContext whose remaining time runs down from ``timeout_seconds`` at creation."""

    function_name = "orders-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-test"
    aws_request_id = "stall-test"

    def __init__(self, timeout_seconds: float) -> None:
        self._ends = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def stalled_clients(url: str, policy: TimeoutPolicy):
    from orders_core.aws import ClientTarget, build_clients

    return build_clients(ClientTarget(endpoint_url=url, region="us-east-1", access_key_id="k", secret_access_key="s"), policy)


@pytest.fixture
def stall():
    with StallingServer() as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("stalled", ["sqs", "dynamodb"])
def test_a_stalled_dependency_on_post_is_a_503_before_the_function_times_out(stall, load_event, stalled):
    """Given SQS (or DynamoDB, read first) accepting connections and never answering, POST answers 503 + Retry-After in time."""
    from api_handler.app import ApiFunction
    from orders_core.adapters import DynamoOrderRepository, SqsOrderQueue
    from orders_core.service import OrderApiService

    clients = stalled_clients(stall.url, API_TIMEOUTS)
    queue = SqsOrderQueue(clients.sqs, f"{stall.url}/123456789012/q")
    repository = DynamoOrderRepository(clients.dynamodb, "t") if stalled == "dynamodb" else FakeRepository()
    handler = ApiFunction(lambda: OrderApiService(queue=queue, repository=repository))
    context = TickingContext(3)
    response = handler(load_event("api_post_order"), context)
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
    assert json.loads(response["body"])["error"] == "ServiceUnavailable"
    assert context.get_remaining_time_in_millis() > 0, "the 503 came after the function's timeout"
    assert stall.accepted >= 1  # it really called the stalled endpoint


@pytest.mark.slow
def test_a_stalled_table_on_get_is_a_503_before_the_function_times_out(stall, load_event):
    from api_handler.app import ApiFunction
    from orders_core.settings import Settings

    handler = ApiFunction.bound_to(
        Settings(orders_table_name="t", order_queue_url=f"{stall.url}/1/q", order_topic_arn="arn:aws:sns:us-east-1:1:t"),
        stalled_clients(stall.url, API_TIMEOUTS),
    )
    context = TickingContext(3)
    response = handler(load_event("api_get_order"), context)
    assert response["statusCode"] == 503 and context.get_remaining_time_in_millis() > 0


@pytest.mark.slow
def test_a_stalled_table_fails_the_processors_records_before_its_timeout(stall, load_event):
    """Given DynamoDB stalled, the processor returns every record as failed (retried by SQS) before its timeout."""
    from order_processor.app import ProcessorFunction
    from orders_core.settings import Settings

    handler = ProcessorFunction.bound_to(
        Settings(orders_table_name="t", order_queue_url=f"{stall.url}/1/q", order_topic_arn="arn:aws:sns:us-east-1:1:t"),
        stalled_clients(stall.url, PROCESSOR_TIMEOUTS),
    )
    event = load_event("sqs_order_batch")
    context = TickingContext(5)
    response = handler(event, context)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert context.get_remaining_time_in_millis() > 0, "the batch response came after the function's timeout"
