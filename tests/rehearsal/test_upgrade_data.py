"""The upgrade's data check has teeth: seeded orders that go missing or change, a drained queue, a lost DLQ message are each reported.

Runs ``seed`` and ``verify`` (rehearsal/upgrade_data.py) against a local pipeline's resources on
moto instead of a Terraform-applied stack, then damages the data between them the way a bad
upgrade would (shape: silent loss, found only by reading the data back).
"""

from __future__ import annotations

import pytest

from local_pipeline import AttachedResources, LocalPipeline
from local_pipeline.handler_loading import HANDLERS_DIR
from rehearsal.upgrade_data import seed, verify

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def deployed(tmp_path):
    """Resources in a moto server, named as a stack's outputs name them (the pipeline's own API and poller stopped)."""
    with LocalPipeline(suffix="upgrade-data") as provisioner:
        provisioner.pause_processing()
        outputs = provisioner.write_outputs(tmp_path / "outputs.json")
        existing = AttachedResources.from_outputs(provisioner.outputs(), provisioner.endpoint_url)
        yield existing, outputs, provisioner


def test_an_intact_upgrade_keeps_everything_and_a_damaged_one_names_each_loss(deployed):
    existing, outputs, provisioner = deployed
    # given orders stored, queued and dead-lettered through the handlers
    record = seed(existing, suffix="upgrade-data", package=HANDLERS_DIR, stored=5, queued=3)
    assert (len(record["stored"]), len(record["queued"]), len(record["dlq"])) == (5, 3, 1)
    # when an "upgrade" loses one stored order, changes another and drains the queue and the DLQ
    dynamodb, sqs = provisioner.client("dynamodb"), provisioner.client("sqs")
    lost, changed = sorted(record["stored"])[:2]
    dynamodb.delete_item(TableName=existing.orders_table_name, Key={"orderId": {"S": lost}})
    dynamodb.update_item(TableName=existing.orders_table_name, Key={"orderId": {"S": changed}}, UpdateExpression="SET currency = :c", ExpressionAttributeValues={":c": {"S": "EUR"}})
    sqs.purge_queue(QueueUrl=existing.order_queue_url)
    sqs.purge_queue(QueueUrl=existing.dlq_url)
    # (what never arrives is waited for 5 s, not a minute: the deadline is injected)
    result = verify(existing, suffix="upgrade-data", package=HANDLERS_DIR, record=record, outputs_file=outputs, wait_seconds=5)
    # then each loss is counted and named
    assert result["found"] == {"stored": 3, "queued": 0, "dlq": 0} and result["expected"] == {"stored": 5, "queued": 3, "dlq": 1}
    problems = {kind: [text for k, text in result["problems"] if k == kind] for kind in ("stored", "queued", "dlq", "events")}
    assert any(f"GET /orders/{lost} answered 404" in text for text in problems["stored"])
    assert any(f"GET /orders/{changed} answered 200 with different currency" in text for text in problems["stored"])
    assert problems["queued"] and problems["dlq"] and problems["events"]
