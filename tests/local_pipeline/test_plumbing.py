"""LocalPipeline plumbing against the real moto server, with stand-in handlers (no order logic involved)."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import requests

from local_pipeline import LocalPipeline
from pipeline_config import ConfigError, output_keys
from pipeline_config.environments import config_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


class Recorder:
    """Stand-in handlers: the API echoes its event (raises for order 'crash'); the processor fails records whose body is 'fail' or raises on 'raise'."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[list[dict]] = []

    def api(self, event, context):
        if event["pathParameters"] == {"orderId": "crash"}:
            raise RuntimeError("boom")
        return {"statusCode": 200, "headers": {"X-Fn": context.function_name}, "body": json.dumps(event)}

    def processor(self, event, context):
        with self.lock:
            self.batches.append(event["Records"])
        bodies = {r["body"] for r in event["Records"]}
        if "raise" in bodies:
            raise RuntimeError("whole batch fails")
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]}

    def deliveries(self, body: str) -> list[str]:
        with self.lock:
            return [r["attributes"]["ApproximateReceiveCount"] for batch in self.batches for r in batch if r["body"] == body]


@pytest.fixture(scope="module")
def recorder():
    return Recorder()


@pytest.fixture(scope="module")
def pipeline(recorder):
    # The config drives names and sizes; only the window is shortened (a real config field) and the
    # visibility timeout overridden (the documented local-only deviation) so retries take 2 s.
    with LocalPipeline(
        suffix="plumbing",
        config_overrides={"batching_window_seconds": 1, "max_receive_count": 2},
        visibility_timeout_seconds=2,
        api_handler=recorder.api,
        processor_handler=recorder.processor,
    ) as p:
        yield p


def send(p: LocalPipeline, *bodies: str) -> None:
    sqs = p.client("sqs")
    sqs.send_message_batch(QueueUrl=p.queue_url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])


def test_resources_are_provisioned_from_the_config(pipeline):
    config = pipeline.config
    assert pipeline.queue_url.endswith("/" + config.names.order_queue)
    assert pipeline.dlq_url.endswith("/" + config.names.order_dlq)
    sqs = pipeline.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "2"
    assert attrs["MessageRetentionPeriod"] == str(config.queue_message_retention_seconds)
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": pipeline.dlq_arn, "maxReceiveCount": 2}
    dlq = sqs.get_queue_attributes(QueueUrl=pipeline.dlq_url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(config.dlq_message_retention_seconds)
    table = pipeline.client("dynamodb").describe_table(TableName=config.names.orders_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "orderId", "KeyType": "HASH"}]
    customer, unpublished = sorted(table["GlobalSecondaryIndexes"], key=lambda index: index["IndexName"])
    assert customer["IndexName"] == "CustomerIdIndex" and customer["Projection"]["ProjectionType"] == "ALL"
    assert [k["AttributeName"] for k in customer["KeySchema"]] == ["customerId", "timestamp"]
    assert unpublished["IndexName"] == "UnpublishedIndex" and [k["AttributeName"] for k in unpublished["KeySchema"]] == ["unpublishedShard", "createdAt"]
    sns = pipeline.client("sns")
    topics = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert {pipeline.topic_arn, pipeline.alarm_topic_arn} <= topics
    assert pipeline.topic_arn.endswith(":" + config.names.order_events_topic)


def test_events_topic_is_tapped_with_raw_delivery(pipeline):
    pipeline.client("sns").publish(TopicArn=pipeline.topic_arn, Message='{"x": 1}', MessageAttributes={"eventType": {"DataType": "String", "StringValue": "T"}})
    events = pipeline.receive_events(wait_seconds=5)
    assert events == [{"body": {"x": 1}, "attributes": {"eventType": "T"}}]


def test_api_routes_requests_as_proxy_events(pipeline):
    got = requests.get(f"{pipeline.api_url}/customers/c-9/orders?limit=3", timeout=10)
    assert got.status_code == 200 and got.headers["X-Fn"] == pipeline.names.api_handler_function
    event = got.json()
    assert event["resource"] == "/customers/{customerId}/orders" and event["pathParameters"] == {"customerId": "c-9"}
    assert event["queryStringParameters"] == {"limit": "3"}


def test_api_edge_rejects_invalid_bodies_before_the_handler(pipeline):
    bad = requests.post(f"{pipeline.api_url}/orders", data='{"orderId": 1}', headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400 and bad.json() == {"message": "Invalid request body", "error": "BAD_REQUEST_BODY", "requestId": bad.headers["x-amzn-RequestId"]}
    good = requests.post(
        f"{pipeline.api_url}/orders",
        json={"orderId": "o", "customerId": "c", "items": [{"productId": "p", "quantity": 1, "unitPrice": 0}]},
        timeout=10,
    )
    assert good.status_code == 200 and good.json()["httpMethod"] == "POST"


def test_the_api_serves_only_the_stage_as_api_gateway_does(pipeline):
    """The routes live under /<stage> only: the root, unknown routes and wrong methods are API Gateway's 403."""
    assert pipeline.api_url.endswith(f"/{pipeline.options.stage_name}")
    root = pipeline.api.server_url
    for method, url in [("POST", f"{root}/orders"), ("GET", f"{root}/orders/x"), ("GET", f"{pipeline.api_url}/nope"), ("PUT", f"{pipeline.api_url}/orders/x")]:
        answer = requests.request(method, url, json={}, timeout=10)
        assert answer.status_code == 403, (method, url)
        assert answer.json()["message"] == "Missing Authentication Token" and answer.json()["error"] == "MISSING_AUTHENTICATION_TOKEN"


def test_successful_records_are_deleted_failed_ones_go_to_the_dlq_after_max_receives(pipeline, recorder):
    send(pipeline, "ok-1", "fail", "ok-2")
    pipeline.wait_until_idle(timeout=30)
    assert recorder.deliveries("ok-1") == ["1"] and recorder.deliveries("ok-2") == ["1"]
    assert recorder.deliveries("fail") == ["1", "2"]  # maxReceiveCount=2 in this config
    dlq = pipeline.client("sqs").receive_message(QueueUrl=pipeline.dlq_url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dlq] == ["fail"]


def test_a_raising_handler_deletes_nothing(pipeline, recorder):
    send(pipeline, "keep-me", "raise")
    pipeline.wait_until_idle(timeout=30)
    # Both records were retried together until the redrive policy moved both to the DLQ.
    assert recorder.deliveries("keep-me") == ["1", "2"]
    bodies = set()
    sqs = pipeline.client("sqs")
    for _ in range(3):
        for m in sqs.receive_message(QueueUrl=pipeline.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.add(m["Body"])
            sqs.delete_message(QueueUrl=pipeline.dlq_url, ReceiptHandle=m["ReceiptHandle"])
    assert bodies == {"keep-me", "raise"}


def test_batching_window_gathers_messages_into_one_invocation(pipeline, recorder):
    before = len(pipeline.poller.invocations)
    sqs = pipeline.client("sqs")
    for i in range(4):  # trickled in, each within the 1 s window
        sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=f"w-{i}")
        time.sleep(0.1)
    pipeline.wait_until_idle(timeout=30)
    new = pipeline.poller.invocations[before:]
    assert sum(i.size for i in new) == 4 and len(new) <= 2


def test_outputs_have_the_stack_shape(pipeline, tmp_path):
    outputs = pipeline.outputs()
    for key in ("ApiEndpoint", "OrdersTableName", "OrderQueueUrl", "OrderTopicArn", "DLQUrl", "AlarmTopicArn", "Region"):
        assert outputs[key], key
    # Every output the stack writes (pipeline_config.output_keys), plus the two local-only ones.
    assert set(outputs) == {*output_keys.ENVIRONMENT_OUTPUTS, output_keys.AWS_ENDPOINT_URL, output_keys.EVENTS_QUEUE_URL}
    assert outputs["ApiAuthorization"] == "NONE" and outputs["ApiEndpoint"] == pipeline.api_url
    written = json.loads(pipeline.write_outputs(tmp_path / "out.json").read_text())
    assert written == {pipeline.names.stack: outputs}


def test_api_handler_crash_is_a_502(pipeline):
    crashed = requests.get(f"{pipeline.api_url}/orders/crash", timeout=10)
    assert crashed.status_code == 502 and crashed.json()["message"] == "Internal server error"


def test_visibility_must_outlast_the_batching_window():
    with pytest.raises(ConfigError, match="batching_window_seconds"):
        LocalPipeline(visibility_timeout_seconds=5)  # the default window is 5 s


def test_invalid_options_are_reported_together():
    with pytest.raises(ConfigError) as err:
        LocalPipeline(visibility_timeout_seconds=-1, api_port=70000, config_overrides={"batch_size": 0})
    text = str(err.value)
    assert "visibility_timeout_seconds" in text and "api_port" in text and "batch_size" in text


def test_the_process_environment_is_never_touched():
    """Settings are injected into the handlers: no variable is set, changed or removed, even for a moment."""
    before = dict(os.environ)
    config = config_for("envcheck")
    with LocalPipeline(config=config, moto_separate_process=False) as p:
        assert dict(os.environ) == before
        assert p.api_clients.sqs.meta.endpoint_url == p.endpoint_url
    assert dict(os.environ) == before


def test_moto_in_a_child_process_starts_serves_and_stops():
    """The default emulator runs in its own process, answers over HTTP, and leaves nothing behind."""
    from local_pipeline.emulator import MotoEmulator

    emulator = MotoEmulator(separate_process=True)
    emulator.start()
    try:
        process = emulator._process
        assert process is not None and process.poll() is None
        sqs = emulator.client("sqs", "us-east-1")
        url = sqs.create_queue(QueueName="probe")["QueueUrl"]
        assert sqs.get_queue_url(QueueName="probe")["QueueUrl"] == url
    finally:
        emulator.stop()
    assert process.poll() is not None, "the moto child process outlived stop()"


def test_a_moto_child_that_cannot_bind_fails_with_the_reason():
    import socket

    from local_pipeline.emulator import MotoEmulator

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        emulator = MotoEmulator(port=taken.getsockname()[1], separate_process=True)
        with pytest.raises(RuntimeError, match="moto server"):
            emulator.start()
