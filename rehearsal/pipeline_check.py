"""Use what Terraform created: the real handlers (local API + poller) on the applied queue, DLQ, table and topic.

Names come from ``terraform output -json``, never from the config, so this proves that the outputs,
the table's key schema and GSI, the redrive to the DLQ and the topic are what the code expects:

1. POST an order through the local API -> 202 and a Location;
2. the poller runs the processor -> the order is stored in the applied table and an event reaches
   the applied topic;
3. GET the Location -> 200 with the same order; list the customer's orders through the GSI;
4. a poison message on the applied queue reaches the applied DLQ after exactly maxReceiveCount
   receives (read from the queue's own redrive policy).

Three things are changed in the emulator for the check's duration and undone before the re-plan
(which proves they were undone): the local poller stands in for Lambda's event source mapping, so
the applied mapping is disabled (moto's own emulation of it would receive the messages and try to
run the function in Docker, which is not here); the queue's visibility timeout is shortened to
3 s, so three receives take seconds instead of 3 x 180 s; and a tap queue is subscribed to the
topic to read the published event.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable

#: Seconds a failed message stays invisible during the check (restored afterwards).
CHECK_VISIBILITY_TIMEOUT_SECONDS = 3
WAIT_SECONDS = 60


class PipelineCheckFailed(RuntimeError):
    """The handlers did not work against the applied resources; the message says which step."""


def run_pipeline_check(outputs: dict[str, Any], endpoint_url: str, *, stack: str) -> str:
    """Run the scenario; a one-line summary, or PipelineCheckFailed naming the step that failed."""
    from local_pipeline import AttachedResources, LocalPipeline, LocalPipelineOptions

    existing = AttachedResources.from_outputs(outputs, endpoint_url)
    suffix = stack.split("-", 1)[1] if "-" in stack else stack
    check = _Check(existing)
    with check.paused_event_source_mappings(), check.shortened_visibility(), check.event_tap():
        # The batching window is an event-source-mapping setting the local poller emulates; 1 s keeps
        # the check short (Terraform's mapping is not exercised here: there is no Lambda runtime).
        options = LocalPipelineOptions(suffix=suffix, existing=existing, config_overrides={"batching_window_seconds": 1})
        with LocalPipeline(options) as pipeline:
            order = check.post_and_read_back(pipeline)
            receives = check.poison_reaches_the_dlq(pipeline)
    return f"POST 202, stored, event published, GET 200, customer list via the GSI, poison in the DLQ after {receives} receives (order {order})"


class _Check:
    def __init__(self, existing: Any) -> None:
        self.existing = existing
        self.sqs = _client(existing, "sqs")
        self.sns = _client(existing, "sns")
        self.dynamodb = _client(existing, "dynamodb")
        self.tap_url = ""

    # ------------------------------------------------------------------ temporary changes
    def paused_event_source_mappings(self) -> "_Restore":
        lambda_client = _client(self.existing, "lambda")
        mappings = lambda_client.list_event_source_mappings(EventSourceArn=self.existing.order_queue_arn).get("EventSourceMappings", [])
        enabled = [m["UUID"] for m in mappings if m.get("State", "Enabled") in ("Enabled", "Enabling", "Creating", "Updating")]
        for uuid_ in enabled:
            lambda_client.update_event_source_mapping(UUID=uuid_, Enabled=False)

        def undo() -> None:
            for uuid_ in enabled:
                lambda_client.update_event_source_mapping(UUID=uuid_, Enabled=True)

        return _Restore(undo)

    def shortened_visibility(self) -> "_Restore":
        queue = self.existing.order_queue_url
        original = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
        self.sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": str(CHECK_VISIBILITY_TIMEOUT_SECONDS)})
        return _Restore(lambda: self.sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": original}))

    def event_tap(self) -> "_Restore":
        name = f"rehearsal-tap-{uuid.uuid4().hex[:8]}"
        self.tap_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        tap_arn = self.sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscription = self.sns.subscribe(TopicArn=self.existing.order_topic_arn, Protocol="sqs", Endpoint=tap_arn, Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]

        def undo() -> None:
            self.sns.unsubscribe(SubscriptionArn=subscription)
            self.sqs.delete_queue(QueueUrl=self.tap_url)

        return _Restore(undo)

    # ------------------------------------------------------------------ steps
    def post_and_read_back(self, pipeline: Any) -> str:
        order_id, customer_id = f"rehearsal-{uuid.uuid4().hex[:10]}", f"cust-{uuid.uuid4().hex[:10]}"
        order = {"orderId": order_id, "customerId": customer_id, "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}]}
        post_url = f"{pipeline.api_url}/orders"
        status, headers, body = _http("POST", post_url, order)
        if status != 202:
            raise PipelineCheckFailed(f"POST {post_url} answered {status}, expected 202: {body}")
        location = headers.get("Location")
        if not location:
            raise PipelineCheckFailed("POST answered 202 without a Location header")
        item = _wait(lambda: self.dynamodb.get_item(TableName=self.existing.orders_table_name, Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item"))
        if item is None:
            raise PipelineCheckFailed(f"order {order_id} was not stored in {self.existing.orders_table_name} within {WAIT_SECONDS} s (queue -> poller -> processor -> table)")
        if not _wait(lambda: self._event_for(order_id)):
            raise PipelineCheckFailed(f"no event for order {order_id} reached the topic {self.existing.order_topic_arn} within {WAIT_SECONDS} s")
        get_url = urllib.request.urljoin(post_url, location)
        status, _, got = _http("GET", get_url)
        if status != 200 or got.get("orderId") != order_id or got.get("customerId") != customer_id:
            raise PipelineCheckFailed(f"GET {get_url} (the Location) answered {status}: {got}")
        list_url = f"{pipeline.api_url}/customers/{customer_id}/orders"
        status, _, listing = _http("GET", list_url)
        listed = [o.get("orderId") for o in listing.get("orders", [])] if isinstance(listing, dict) else []
        if status != 200 or order_id not in listed:
            raise PipelineCheckFailed(f"GET {list_url} answered {status} without order {order_id}: {listing}")
        return order_id

    def _event_for(self, order_id: str) -> bool:
        messages = self.sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return any(order_id in message.get("Body", "") for message in messages)

    def poison_reaches_the_dlq(self, pipeline: Any) -> int:
        redrive = json.loads(self.sqs.get_queue_attributes(QueueUrl=self.existing.order_queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
        if redrive.get("deadLetterTargetArn") != self.existing.dlq_arn:
            raise PipelineCheckFailed(f"the queue's redrive policy targets {redrive.get('deadLetterTargetArn')}, not the DLQ output {self.existing.dlq_arn}")
        max_receives = int(redrive["maxReceiveCount"])
        poison = json.dumps({"orderId": f"poison-{uuid.uuid4().hex[:10]}", "customerId": "c", "items": "not a list"})
        sent_at = time.time()
        message_id = self.sqs.send_message(QueueUrl=self.existing.order_queue_url, MessageBody=poison)["MessageId"]
        deadline = time.monotonic() + WAIT_SECONDS + max_receives * CHECK_VISIBILITY_TIMEOUT_SECONDS
        dead: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not dead:
            got = self.sqs.receive_message(QueueUrl=self.existing.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            dead = [m for m in got if m["MessageId"] == message_id]
        if not dead:
            raise PipelineCheckFailed(f"the poison message did not reach the DLQ {self.existing.dlq_url} within {deadline:.0f} s")
        receives = [inv.receive_counts[message_id] for inv in pipeline.poller.invocations if message_id in inv.receive_counts]
        if receives != list(range(1, max_receives + 1)):
            seen = [(round(inv.started_at - sent_at, 2), inv.receive_counts) for inv in pipeline.poller.invocations]
            raise PipelineCheckFailed(
                f"the poison message was received {receives} before the DLQ; expected exactly {max_receives} receives (maxReceiveCount). "
                f"Invocations (seconds after the send, receive counts): {seen}"
            )
        return max_receives


class _Restore:
    """A context manager that runs ``undo`` on exit, whatever happened."""

    def __init__(self, undo: Callable[[], Any]) -> None:
        self.undo = undo

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        self.undo()


def _client(existing: Any, service: str) -> Any:
    from local_pipeline.emulator import emulator_client

    return emulator_client(existing.endpoint_url, service, existing.region)


def _wait(probe: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    return None


def _http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, headers, json.loads(raw or b"null")
    except ValueError:
        return status, headers, raw.decode(errors="replace")


RESULT_PREFIX = "pipeline-check: "


def main(argv: list[str] | None = None) -> int:
    """``python -m rehearsal.pipeline_check --outputs F --endpoint-url U --stack S``: run the check in its own process.

    The handlers log (and flush metrics) to stdout; the runner sends all of it to a log file and
    reads only the last line, which starts with RESULT_PREFIX.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m rehearsal.pipeline_check", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", required=True, type=Path, help="terraform output -json of the applied stack")
    parser.add_argument("--endpoint-url", required=True, help="the emulator the stack was applied to")
    parser.add_argument("--stack", required=True, help="stack name, e.g. orders-dev")
    args = parser.parse_args(argv)
    try:
        outputs = {name: entry.get("value") if isinstance(entry, dict) else entry for name, entry in json.loads(args.outputs.read_text()).items()}
        summary = run_pipeline_check(outputs, args.endpoint_url, stack=args.stack)
    except Exception as error:  # noqa: BLE001 - reported on the last line, whatever it is
        sys.stdout.flush()
        print(f"{RESULT_PREFIX}FAILED {type(error).__name__}: {' '.join(str(error).split())}", flush=True)
        return 1
    sys.stdout.flush()
    print(f"{RESULT_PREFIX}{summary}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
