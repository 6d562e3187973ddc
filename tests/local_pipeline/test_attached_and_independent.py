"""Pipelines in one process are independent, and a pipeline can attach to resources that already exist.

The attach mode is what the deploy rehearsal uses after ``terraform apply`` against moto: here
the "existing" resources are provisioned by another LocalPipeline (the same code path creates
them), then a second pipeline attaches to that moto through its outputs.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid

import pytest
import requests

from local_pipeline import AttachedResources, LocalPipeline, LocalPipelineOptions
from pipeline_config import ConfigError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

FAST = {"batching_window_seconds": 0}


def order(order_id: str) -> dict:
    return {"orderId": order_id, "customerId": "c-1", "items": [{"productId": "p-1", "quantity": 2, "unitPrice": 1.25}]}


def post(pipeline: LocalPipeline, body: dict) -> requests.Response:
    return requests.post(f"{pipeline.api_url}/orders", json=body, timeout=30)


def stored(pipeline: LocalPipeline, order_id: str) -> dict | None:
    return pipeline.client("dynamodb").get_item(TableName=pipeline.table_name, Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item")


def terraform_style(outputs: dict) -> dict:
    """``terraform output -json``: every value wrapped with its type."""
    return {key: {"sensitive": False, "type": "string", "value": value} for key, value in outputs.items()}


@pytest.fixture(scope="module")
def provider():
    """The pipeline whose moto holds the 'existing' resources."""
    with LocalPipeline(suffix="attach-src", config_overrides=FAST, visibility_timeout_seconds=2) as running:
        yield running


def test_two_pipelines_in_one_process_do_not_cross_wire(provider):
    """Given pipelines A and B in one process, when each accepts an order, then each stores only its own."""
    with LocalPipeline(suffix="attach-other", config_overrides=FAST, visibility_timeout_seconds=2) as other:
        a_id, b_id = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
        assert post(provider, order(a_id)).status_code == 202
        assert post(other, order(b_id)).status_code == 202
        provider.wait_until_idle(timeout=30)
        other.wait_until_idle(timeout=30)
        assert stored(provider, a_id) and stored(other, b_id)
        assert stored(provider, b_id) is None and stored(other, a_id) is None
        assert provider.endpoint_url != other.endpoint_url
        # Each function has its own clients, bound to its own pipeline's emulator.
        assert other.api_clients.sqs.meta.endpoint_url == other.endpoint_url != provider.api_clients.sqs.meta.endpoint_url


def test_attach_runs_the_real_handlers_on_existing_resources(provider):
    """Given resources in a running moto, when a second pipeline attaches by outputs, then its API and poller use them."""
    outputs = terraform_style({k: v for k, v in provider.outputs().items() if k not in ("ApiEndpoint", "EventsQueueUrl", "AwsEndpointUrl")})
    existing = AttachedResources.from_outputs(outputs, provider.endpoint_url)
    environ_before = dict(os.environ)
    provider.pause_processing()  # only the attached pipeline's poller consumes now
    try:
        with LocalPipeline(LocalPipelineOptions(suffix="attach-src", existing=existing, config_overrides=FAST)) as attached:
            assert attached.attached and attached.emulator is None
            assert attached.table_name == provider.table_name and attached.queue_url == provider.queue_url
            order_id = f"att-{uuid.uuid4().hex[:8]}"
            answer = post(attached, order(order_id))
            assert answer.status_code == 202, answer.text
            attached.wait_until_idle(timeout=30)
            item = stored(provider, order_id)
            assert item is not None and item["customerId"] == {"S": "c-1"}
            assert attached.poller is not None, "a started pipeline, attached or not, runs a poller"
            invoked = [i for i in attached.poller.invocations if not i.failed_ids]
            assert invoked, "the attached pipeline's poller processed nothing"
            assert requests.get(f"{attached.api_url}/orders/{order_id}", timeout=30).json()["orderId"] == order_id
            assert attached.visibility_timeout_seconds == 2  # read from the existing queue
            assert "EventsQueueUrl" not in attached.outputs() and attached.outputs()["OrdersTableName"] == provider.table_name
            with pytest.raises(RuntimeError, match="events tap"):
                _ = attached.events_queue_url
            assert dict(os.environ) == environ_before
    finally:
        provider.resume_processing()
    # Stopping the attached pipeline neither stopped nor reset the emulator it used.
    with urllib.request.urlopen(f"{provider.endpoint_url}/moto-api/", timeout=5):
        pass
    assert stored(provider, order_id) is not None


@pytest.mark.parametrize(
    "outputs",
    [
        {"OrdersTableName": "t", "OrderQueueUrl": "http://q", "OrderQueueArn": "arn:q", "DLQUrl": "http://d", "DLQArn": "arn:d", "OrderTopicArn": "arn:t", "Region": "eu-west-1"},
        {"orders-dev": {"OrdersTableName": "t", "OrderQueueUrl": "http://q", "OrderQueueArn": "arn:q", "DLQUrl": "http://d", "DLQArn": "arn:d", "OrderTopicArn": "arn:t", "Region": "eu-west-1"}},
    ],
    ids=["flat", "cdktf-outputs-file"],
)
def test_outputs_are_read_in_every_shape(outputs):
    existing = AttachedResources.from_outputs(outputs, "http://127.0.0.1:5000")
    assert existing.orders_table_name == "t" and existing.region == "eu-west-1" and existing.alarm_topic_arn is None
    wrapped = AttachedResources.from_outputs(terraform_style(outputs if "Region" in outputs else outputs["orders-dev"]), "http://127.0.0.1:5000")
    assert wrapped == existing


def test_missing_outputs_and_a_bad_endpoint_are_reported_together():
    with pytest.raises(ConfigError) as error:
        AttachedResources.from_outputs({"OrdersTableName": "t", "DLQUrl": "", "ApiEndpoint": "https://x"}, "localhost:5000")
    text = str(error.value)
    for name in ("endpoint_url", "OrderQueueUrl", "OrderQueueArn", "DLQUrl", "DLQArn", "OrderTopicArn", "Region"):
        assert name in text, name
    assert "'OrdersTableName'" not in text.split("present:")[0]


def test_provisioning_options_are_refused_when_attaching():
    existing = AttachedResources.from_outputs(
        {"OrdersTableName": "t", "OrderQueueUrl": "http://q", "OrderQueueArn": "arn:q", "DLQUrl": "http://d", "DLQArn": "arn:d", "OrderTopicArn": "arn:t", "Region": "us-east-1"},
        "http://127.0.0.1:5000",
    )
    with pytest.raises(ConfigError) as error:
        LocalPipeline(existing=existing, visibility_timeout_seconds=2, moto_port=5001)
    assert "visibility_timeout_seconds" in str(error.value) and "moto_port" in str(error.value)


def test_outputs_file_of_a_provisioning_pipeline_attaches_as_is(provider, tmp_path):
    """``--outputs-file`` output (``{"<stack>": {...}}``) is accepted directly."""
    document = json.loads(provider.write_outputs(tmp_path / "outputs.json").read_text())
    existing = AttachedResources.from_outputs(document, provider.endpoint_url)
    assert existing.order_queue_arn == provider.queue_arn and existing.alarm_topic_arn == provider.alarm_topic_arn
