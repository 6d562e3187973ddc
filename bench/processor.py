"""Section 3, processor: time and AWS calls per 10-record batch against a local moto server.

The orders reach the queue through the real API handler (local API, poller paused), then
each batch is received from SQS, shaped into the Lambda SQS event, and handed to
``order_processor.app.lambda_handler`` directly, timed, with every call of the handlers'
clients counted by a botocore ``before-call`` hook.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter

from bench.local_env import CallCounter, body, new_pipeline, order, quiet_logs, run_id
from bench.measure import BenchError, summary

BATCH = 10
EXPECTED = "expected per batch: 10 conditional DynamoDB.PutItem, <= 1 other DynamoDB call (bookkeeping), 1 SNS.PublishBatch"


def bench_processor(runs: int, quick: bool, log) -> dict:
    """Run the processor section; returns its JSON-ready result."""
    quiet_logs()
    batches = 3 if quick else max(5, 2 * runs)
    rid = run_id()
    with new_pipeline() as pipeline:
        pipeline.pause_processing()
        from local_pipeline.lambda_context import LocalLambdaContext
        from local_pipeline.sqs_events import failed_message_ids, sqs_event
        from order_processor.app import ProcessorFunction

        # The pipeline's processor clients, on a handler of our own (its poller is paused).
        clients = pipeline.processor_clients
        lambda_handler = ProcessorFunction.bound_to(pipeline.handler_settings(), clients)
        counter = CallCounter().attach(clients.sqs, clients.dynamodb, clients.sns)
        for i in range(batches * BATCH):
            request = urllib.request.Request(f"{pipeline.api_url}/orders", data=body(order(rid, i)), method="POST", headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status != 202:
                    raise BenchError(f"POST /orders returned {response.status}")
        counter.take()  # the API handler's SendMessage calls are not the processor's
        sqs = pipeline.client("sqs")
        times, per_batch, failures = [], [], 0
        for b in range(batches):
            messages: list = []
            deadline = time.monotonic() + 10
            while len(messages) < BATCH and time.monotonic() < deadline:
                got = sqs.receive_message(QueueUrl=pipeline.queue_url, MaxNumberOfMessages=BATCH - len(messages), AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=1)
                messages += got.get("Messages", [])
            if len(messages) < BATCH:
                raise BenchError(f"batch {b}: only {len(messages)} messages on the queue")
            event = sqs_event(messages, queue_arn=pipeline.queue_arn, region=pipeline.config.region)
            context = LocalLambdaContext(function_name=pipeline.names.order_processor_function, region=pipeline.config.region)
            start = time.perf_counter()
            response = lambda_handler(event, context)
            times.append(time.perf_counter() - start)
            per_batch.append(counter.take())
            failures += len(failed_message_ids(response, [m["MessageId"] for m in messages]))
            # Lambda's event source mapping deletes the successful records; do that outside the timing.
            sqs.delete_message_batch(QueueUrl=pipeline.queue_url, Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)])
        stored = pipeline.client("dynamodb").scan(TableName=pipeline.table_name, Select="COUNT")["Count"]
    # The first batch also builds the processor's service and pays for first-use imports: report it apart.
    steady = per_batch[1:] or per_batch
    calls: Counter[str] = Counter()
    for c in steady:
        calls.update(c)
    mean_calls = {k: round(v / len(steady), 2) for k, v in sorted(calls.items())}
    put = "DynamoDB.PutItem (conditional)"
    other_dynamo = sum(v for k, v in mean_calls.items() if k.startswith("DynamoDB.") and k != put)
    expected_met = mean_calls.get(put) == BATCH and other_dynamo <= 1 and mean_calls.get("SNS.PublishBatch") == 1 and failures == 0
    log(f"processor: {batches} batches, median {summary(times[1:] or times)['median'] * 1000:.0f} ms, calls {mean_calls}")
    return {
        "batch_size": BATCH,
        "batches": batches,
        "batch_s": summary(times[1:] or times),
        "first_batch_s": round(times[0], 4),
        "first_batch_calls": dict(per_batch[0]),
        "calls_per_batch": mean_calls,
        "failed_records": failures,
        "orders_stored": stored,
        "expected": EXPECTED,
        "expected_met": expected_met,
    }
