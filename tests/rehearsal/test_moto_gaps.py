"""Each moto workaround of the rehearsal is still needed (stock moto) and works (the rehearsal's server).

When a moto upgrade fixes a gap, its "stock" test fails: remove that patch from
rehearsal/moto_server.py, and this test with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rehearsal.emulator import RehearsalEmulator

pytestmark = pytest.mark.e2e

APIGW_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _queues(sqs: Any) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName="gap-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="gap-queue", Attributes={"Policy": POLICY})["QueueUrl"]
    return queue, dlq, dlq_arn


def _exercise(sqs: Any, iam: Any) -> dict[str, Any]:
    """What Terraform's separate SQS policy resources and the API Gateway account role do."""
    queue, dlq, dlq_arn = _queues(sqs)
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:123456789012:gap-queue"]})
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": allow})
    queue_attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]).get("Attributes", {})
    dlq_attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"]).get("Attributes", {})
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": ""})  # what destroy does
    cleared = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"]).get("Attributes", {})
    try:
        iam.get_policy(PolicyArn=APIGW_LOGS_POLICY)
        managed_policy = True
    except ClientError:
        managed_policy = False
    return {
        "policy_kept": "Policy" in queue_attributes,
        "redrive_compact": queue_attributes.get("RedrivePolicy") == json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}, separators=(",", ":")),
        "redrive_allow_returned": dlq_attributes.get("RedriveAllowPolicy") == allow,
        "cleared_redrive_allow_absent": "RedriveAllowPolicy" not in cleared,
        "managed_policy": managed_policy,
    }


@pytest.fixture
def stock_moto(monkeypatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1"), boto3.client("iam", region_name="us-east-1")


def test_stock_moto_still_has_every_gap_the_rehearsal_patches(stock_moto):
    found = _exercise(*stock_moto)
    assert found["policy_kept"] is False, "moto now keeps Policy on SetQueueAttributes: drop the Policy patch"
    assert found["redrive_allow_returned"] is False, "moto now returns RedriveAllowPolicy: drop that patch"
    assert found["redrive_compact"] is False, "moto now returns RedrivePolicy compact, as SQS does: drop that patch"
    assert found["managed_policy"] is False, "moto now loads managed policies by default: drop MOTO_IAM_LOAD_MANAGED_POLICIES"


def test_the_rehearsal_server_closes_every_gap():
    emulator = RehearsalEmulator()
    emulator.start()
    try:
        found = _exercise(emulator.client("sqs", "us-east-1"), emulator.client("iam", "us-east-1"))
    finally:
        emulator.stop()
    assert found == {"policy_kept": True, "redrive_compact": True, "redrive_allow_returned": True, "cleared_redrive_allow_absent": True, "managed_policy": True}
    assert not emulator.running


def test_the_patches_never_leak_into_this_process():
    from moto.sqs.models import Queue

    # The e2e tests and the local pipeline must see stock moto: the patches live in the server process only.
    assert not getattr(Queue, "_rehearsal_patched", False)
    assert "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES
