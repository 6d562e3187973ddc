"""Use what Terraform created: the real handlers (local API + poller) on the applied queue, DLQ, table and topic.

Names come from ``terraform output -json``, never from the config, so this proves that the outputs,
the table's key schema and GSI, the redrive to the DLQ and the topic are what the code expects:

1. POST an order through the local API -> 202 and a Location;
2. the poller runs the processor -> the order is stored in the applied table and an event reaches
   the applied topic;
3. GET the Location -> 200 with the same order; list the customer's orders through the GSI;
4. the event sweep: the applied EventBridge rule targets the applied sweeper function on its
   schedule; an order whose event the processor cannot publish (SNS made to fail for it, in the
   processor only) is stored pending in the applied ``UnpublishedIndex``, and one run of the real
   sweeper publishes its event to the applied topic and marks it;
5. a poison message on the applied queue reaches the applied DLQ after exactly maxReceiveCount
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
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from rehearsal.harness import WAIT_SECONDS, client, event_tap, http, paused_event_source_mappings, print_verdict, read_outputs, shortened_visibility, tap_order_ids, wait_for

#: Seconds a failed message stays invisible during the check (restored afterwards).
CHECK_VISIBILITY_TIMEOUT_SECONDS = 3


class PipelineCheckFailed(RuntimeError):
    """The handlers did not work against the applied resources; the message says which step."""


def run_pipeline_check(outputs: dict[str, Any], endpoint_url: str, *, stack: str, package: Path | None = None) -> str:
    """Run the scenario with the Lambda package in ``package`` (None: this checkout's handlers); a one-line summary, or PipelineCheckFailed naming the step."""
    from local_pipeline import AttachedResources, LocalPipeline, LocalPipelineOptions

    existing = AttachedResources.from_outputs(outputs, endpoint_url)
    suffix = stack.split("-", 1)[1] if "-" in stack else stack
    check = _Check(existing)
    with paused_event_source_mappings(existing), shortened_visibility(existing, CHECK_VISIBILITY_TIMEOUT_SECONDS), event_tap(existing) as tap:
        check.tap_url = tap
        # The batching window is an event-source-mapping setting the local poller emulates; 1 s keeps
        # the check short (Terraform's mapping is not exercised here: there is no Lambda runtime).
        # The sweep runs once, on demand, for orders of any age (the deployed one waits 300 s).
        options = LocalPipelineOptions(
            suffix=suffix,
            existing=existing,
            config_overrides={"batching_window_seconds": 1, "event_sweep_min_age_seconds": 0},
            event_sweep_interval_seconds=0,
            handlers_dir=package,
        )
        with LocalPipeline(options) as pipeline:
            order = check.post_and_read_back(pipeline)
            schedule = check.sweep_is_scheduled(outputs)
            swept = check.sweep_publishes_a_stuck_event(pipeline)
            receives = check.poison_reaches_the_dlq(pipeline)
    return (
        f"POST 202, stored, event published, GET 200, customer list via the GSI, {schedule}, "
        f"event of {swept} published by the sweep via the UnpublishedIndex, poison in the DLQ after {receives} receives (order {order})"
    )


class _Check:
    def __init__(self, existing: Any) -> None:
        self.existing = existing
        self.sqs = client(existing, "sqs")
        self.dynamodb = client(existing, "dynamodb")
        self.tap_url = ""

    def post_and_read_back(self, pipeline: Any) -> str:
        order_id, customer_id = f"rehearsal-{uuid.uuid4().hex[:10]}", f"cust-{uuid.uuid4().hex[:10]}"
        order = {"orderId": order_id, "customerId": customer_id, "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}]}
        post_url = f"{pipeline.api_url}/orders"
        status, headers, body = http("POST", post_url, order)
        if status != 202:
            raise PipelineCheckFailed(f"POST {post_url} answered {status}, expected 202: {body}")
        location = headers.get("Location")
        if not location:
            raise PipelineCheckFailed("POST answered 202 without a Location header")
        item = wait_for(lambda: self.dynamodb.get_item(TableName=self.existing.orders_table_name, Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item"))
        if item is None:
            raise PipelineCheckFailed(f"order {order_id} was not stored in {self.existing.orders_table_name} within {WAIT_SECONDS} s (queue -> poller -> processor -> table)")
        seen: set[str] = set()

        def event_arrived() -> bool:
            seen.update(tap_order_ids(self.existing, self.tap_url))
            return order_id in seen

        if not wait_for(event_arrived):
            raise PipelineCheckFailed(f"no event for order {order_id} reached the topic {self.existing.order_topic_arn} within {WAIT_SECONDS} s")
        get_url = urllib.parse.urljoin(post_url, location)
        status, _, got = http("GET", get_url)
        if status != 200 or got.get("orderId") != order_id or got.get("customerId") != customer_id:
            raise PipelineCheckFailed(f"GET {get_url} (the Location) answered {status}: {got}")
        list_url = f"{pipeline.api_url}/customers/{customer_id}/orders"
        status, _, listing = http("GET", list_url)
        listed = [o.get("orderId") for o in listing.get("orders", [])] if isinstance(listing, dict) else []
        if status != 200 or order_id not in listed:
            raise PipelineCheckFailed(f"GET {list_url} answered {status} without order {order_id}: {listing}")
        return order_id

    def sweep_is_scheduled(self, outputs: dict[str, Any]) -> str:
        """The applied rule is enabled, on a rate schedule, and targets the applied sweeper function."""
        from pipeline_config import output_keys

        rule_name, function_name = outputs.get(output_keys.EVENT_SWEEP_SCHEDULE_NAME), outputs.get(output_keys.EVENT_SWEEPER_FUNCTION_NAME)
        if not rule_name or not function_name:
            raise PipelineCheckFailed(f"the outputs lack {output_keys.EVENT_SWEEP_SCHEDULE_NAME} / {output_keys.EVENT_SWEEPER_FUNCTION_NAME}")
        events = client(self.existing, "events")
        rule = events.describe_rule(Name=rule_name)
        if rule.get("State") != "ENABLED" or not str(rule.get("ScheduleExpression", "")).startswith("rate("):
            raise PipelineCheckFailed(f"the rule {rule_name} is {rule.get('State')} with schedule {rule.get('ScheduleExpression')!r}; expected ENABLED on a rate(...)")
        function_arn = client(self.existing, "lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
        targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=rule_name).get("Targets", [])]
        if targets != [function_arn]:
            raise PipelineCheckFailed(f"the rule {rule_name} targets {targets}, expected exactly the sweeper {function_arn}")
        return f"sweeper on {rule['ScheduleExpression']}"

    def sweep_publishes_a_stuck_event(self, pipeline: Any) -> str:
        """SNS fails for one order in the processor only; the order stays pending; one sweep publishes it."""
        order_id = f"rehearsal-sweep-{uuid.uuid4().hex[:8]}"
        order = {"orderId": order_id, "customerId": f"cust-{uuid.uuid4().hex[:10]}", "items": [{"productId": "sku-1", "quantity": 1, "unitPrice": 3}]}

        def fail_this_order(params: Any, **_: Any) -> None:
            if any(order_id in entry.get("Message", "") for entry in params.get("PublishBatchRequestEntries", [])):
                from botocore.exceptions import ClientError

                raise ClientError(
                    {
                        "Error": {"Code": "KMSThrottling", "Message": "rehearsal"},
                        "ResponseMetadata": {"RequestId": "rehearsal", "HostId": "", "HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0},
                    },
                    "PublishBatch",
                )

        sns = pipeline.processor_clients.sns
        sns.register("provide-client-params.sns.PublishBatch", fail_this_order, unique_id="rehearsal-sweep")
        try:
            status, _, body = http("POST", f"{pipeline.api_url}/orders", order)
            if status != 202:
                raise PipelineCheckFailed(f"POST of the sweep's order answered {status}: {body}")
            key = {"orderId": {"S": order_id}}
            pending = wait_for(lambda: (self.dynamodb.get_item(TableName=self.existing.orders_table_name, Key=key, ConsistentRead=True).get("Item") or {}).get("unpublishedShard"))
            if not pending:
                raise PipelineCheckFailed(f"order {order_id} was not stored pending (eventPublished=false, unpublishedShard) in {self.existing.orders_table_name}")
            run = pipeline.sweep_now()
            if run.error or not run.result or not run.result.get("published"):
                raise PipelineCheckFailed(f"the sweep did not publish the pending order: {run.error or run.result}")
            if not wait_for(lambda: self._event_for(order_id)):
                raise PipelineCheckFailed(f"the sweep ran ({run.result}) but no event for {order_id} reached the topic {self.existing.order_topic_arn}")
            item = self.dynamodb.get_item(TableName=self.existing.orders_table_name, Key=key, ConsistentRead=True)["Item"]
            if item.get("eventPublished") != {"BOOL": True} or "unpublishedShard" in item:
                raise PipelineCheckFailed(f"the sweep published {order_id} but did not mark it: {item}")
        finally:
            sns.unregister("provide-client-params.sns.PublishBatch", fail_this_order, unique_id="rehearsal-sweep")
        pipeline.wait_until_idle(timeout=WAIT_SECONDS)  # its message, redelivered, finds it published
        return order_id

    def _event_for(self, order_id: str) -> bool:
        return order_id in tap_order_ids(self.existing, self.tap_url)

    def poison_reaches_the_dlq(self, pipeline: Any) -> int:
        redrive = json.loads(self.sqs.get_queue_attributes(QueueUrl=self.existing.order_queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
        if redrive.get("deadLetterTargetArn") != self.existing.dlq_arn:
            raise PipelineCheckFailed(f"the queue's redrive policy targets {redrive.get('deadLetterTargetArn')}, not the DLQ output {self.existing.dlq_arn}")
        max_receives = int(redrive["maxReceiveCount"])
        poison = json.dumps({"orderId": f"poison-{uuid.uuid4().hex[:10]}", "customerId": "c", "items": "not a list"})
        sent_at = time.time()
        message_id = self.sqs.send_message(QueueUrl=self.existing.order_queue_url, MessageBody=poison)["MessageId"]
        timeout = WAIT_SECONDS + max_receives * CHECK_VISIBILITY_TIMEOUT_SECONDS

        def dead() -> bool:
            got = self.sqs.receive_message(QueueUrl=self.existing.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0).get("Messages", [])
            return any(m["MessageId"] == message_id for m in got)

        if not wait_for(dead, timeout):
            raise PipelineCheckFailed(f"the poison message did not reach the DLQ {self.existing.dlq_url} within {timeout} s")
        receives = [inv.receive_counts[message_id] for inv in pipeline.poller.invocations if message_id in inv.receive_counts]
        if receives != list(range(1, max_receives + 1)):
            seen = [(round(inv.started_at - sent_at, 2), inv.receive_counts) for inv in pipeline.poller.invocations]
            raise PipelineCheckFailed(
                f"the poison message was received {receives} before the DLQ; expected exactly {max_receives} receives (maxReceiveCount). Invocations (seconds after the send, receive counts): {seen}"
            )
        return max_receives


RESULT_PREFIX = "pipeline-check: "


def main(argv: list[str] | None = None) -> int:
    """``python -m rehearsal.pipeline_check --outputs F --endpoint-url U --stack S``: run the check in its own process.

    The handlers log (and flush metrics) to stdout; the runner sends all of it to a log file and
    reads only the last line, which starts with RESULT_PREFIX.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rehearsal.pipeline_check", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", required=True, type=Path, help="terraform output -json of the applied stack")
    parser.add_argument("--endpoint-url", required=True, help="the emulator the stack was applied to")
    parser.add_argument("--stack", required=True, help="stack name, e.g. orders-dev")
    parser.add_argument("--package", type=Path, help="the unpacked Lambda package to run (default: this checkout's handlers/)")
    args = parser.parse_args(argv)
    return print_verdict(RESULT_PREFIX, lambda: run_pipeline_check(read_outputs(args.outputs), args.endpoint_url, stack=args.stack, package=args.package))


if __name__ == "__main__":
    raise SystemExit(main())
