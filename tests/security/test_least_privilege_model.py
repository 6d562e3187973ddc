"""The pieces of the least-privilege check (tests/least_privilege.py), with plain objects and no emulator.

The check itself runs at the end of tests/e2e (test_least_privilege.py), over the calls the
whole scenario set recorded; these tests pin the mapping it relies on.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pipeline_config.naming import ResourceNames
from tests.least_privilege import (
    API_HANDLER,
    KEY,
    OWN_LOG_GROUP,
    PROCESSOR,
    Access,
    CallRecorder,
    RecordedCall,
    UnmappedCall,
    call_accesses,
    compare,
    granted_accesses,
    required_accesses,
    resolve_resource,
)

NAMES = ResourceNames("e2e")
QUEUE_URL = "http://127.0.0.1:5000/123456789012/order-queue-e2e"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:order-events-e2e"


def call(service, operation, function=PROCESSOR, **params):
    return RecordedCall(function, service, operation, params, "tests/e2e/test_x.py::test_y")


def test_batch_operations_need_their_single_item_action():
    assert call_accesses(call("sqs", "SendMessageBatch", QueueUrl=QUEUE_URL), NAMES) == {Access("sqs:SendMessage", "order_queue")}
    assert call_accesses(call("sns", "PublishBatch", TopicArn=TOPIC_ARN), NAMES) == {Access("sns:Publish", "order_events_topic")}


def test_a_transaction_needs_the_action_of_each_item_kind():
    items = [
        {"Update": {"TableName": "orders-table-e2e", "Key": {}}},
        {"ConditionCheck": {"TableName": "orders-table-e2e", "Key": {}}},
    ]
    assert call_accesses(call("dynamodb", "TransactWriteItems", TransactItems=items), NAMES) == {
        Access("dynamodb:UpdateItem", "orders_table"),
        Access("dynamodb:ConditionCheckItem", "orders_table"),
    }


def test_a_query_on_an_index_needs_the_index_not_the_table():
    got = call_accesses(call("dynamodb", "Query", TableName="orders-table-e2e", IndexName="CustomerIdIndex"), NAMES)
    assert got == {Access("dynamodb:Query", "orders_table/index/CustomerIdIndex")}
    assert call_accesses(call("dynamodb", "Query", TableName="orders-table-e2e"), NAMES) == {Access("dynamodb:Query", "orders_table")}


def test_an_operation_or_resource_it_does_not_know_fails_with_what_to_do():
    with pytest.raises(UnmappedCall, match="add it to OPERATION_ACTIONS"):
        call_accesses(call("sqs", "PurgeQueue", QueueUrl=QUEUE_URL), NAMES)
    with pytest.raises(UnmappedCall, match="'someone-elses-table' is none of this environment's resources"):
        call_accesses(call("dynamodb", "GetItem", TableName="someone-elses-table"), NAMES)


def test_platform_extras_and_kms_follow_from_what_is_encrypted():
    calls = [call("sqs", "SendMessage", API_HANDLER, QueueUrl=QUEUE_URL), call("sns", "PublishBatch", TopicArn=TOPIC_ARN)]
    needed = required_accesses(calls, NAMES, encrypted={"order_queue", "order_events_topic"})
    api = set(needed[API_HANDLER])
    assert {Access("kms:GenerateDataKey", KEY), Access("kms:Decrypt", KEY), Access("logs:PutLogEvents", OWN_LOG_GROUP)} <= api
    assert Access("sqs:ReceiveMessage", "order_queue") not in api  # the event source's actions are the processor's
    processor = set(needed[PROCESSOR])
    assert {Access("sqs:ReceiveMessage", "order_queue"), Access("sqs:DeleteMessage", "order_queue"), Access("sqs:GetQueueAttributes", "order_queue")} <= processor
    assert Access("kms:Decrypt", KEY) in processor  # both ReceiveMessage and Publish need it
    # not encrypted: no key permission needed
    plain = required_accesses(calls, NAMES, encrypted=set())
    assert not any(a.action.startswith("kms:") for accesses in plain.values() for a in accesses)


def test_an_encrypted_table_needs_decrypt_through_dynamodb_for_reads_and_writes():
    calls = [
        call("dynamodb", "GetItem", API_HANDLER, TableName="orders-table-e2e"),
        call("dynamodb", "Query", API_HANDLER, TableName="orders-table-e2e", IndexName="CustomerIdIndex"),
        call("dynamodb", "PutItem", PROCESSOR, TableName="orders-table-e2e"),
    ]
    needed = required_accesses(calls, NAMES, encrypted={"orders_table"})
    for function in (API_HANDLER, PROCESSOR):
        kms = {a for a in needed[function] if a.action.startswith("kms:")}
        assert kms == {Access("kms:Decrypt", KEY, via="dynamodb")}, function
    assert not any(a.action.startswith("kms:") for a in required_accesses(calls, NAMES, encrypted=set())[API_HANDLER])


def test_a_via_service_condition_is_part_of_what_is_granted():
    statements: list[dict[str, Any]] = [
        {"Sid": "Table", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["${aws_kms_key.k.arn}"], "Condition": {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}}},
        {"Sid": "Queue", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["${aws_kms_key.k.arn}"]},
    ]
    granted = granted_accesses(statements, {}, NAMES, "")
    assert granted == {Access("kms:Decrypt", KEY, via="dynamodb"): "Table", Access("kms:Decrypt", KEY): "Queue"}
    # Without its own statement, table access would ride on the queue's grant: reported as missing.
    needed = {Access("kms:Decrypt", KEY, via="dynamodb"): ["dynamodb GetItem in t"], Access("kms:Decrypt", KEY): ["sqs in t"]}
    problems = compare("api-handler", needed, granted_accesses(statements[1:], {}, NAMES, ""))
    assert problems and problems[0].startswith("api-handler: ADD kms:Decrypt on kms_key via dynamodb")
    with pytest.raises(UnmappedCall, match="cannot judge"):
        granted_accesses([{**statements[1], "Condition": {"StringLike": {"kms:ViaService": "*"}}}], {}, NAMES, "")


def test_role_policy_resources_resolve_to_logical_resources():
    doc = {
        "resource": {
            "aws_sqs_queue": {"q": {"name": "order-queue-dev"}},
            "aws_dynamodb_table": {"t": {"name": "orders-table-dev"}},
            "aws_cloudwatch_log_group": {"g": {"name": "/aws/lambda/fn-dev"}, "other": {"name": "/aws/lambda/other"}},
        }
    }
    dev = ResourceNames("dev")
    assert resolve_resource("${aws_sqs_queue.q.arn}", doc, dev, "/aws/lambda/fn-dev") == "order_queue"
    assert resolve_resource("${aws_dynamodb_table.t.arn}/index/CustomerIdIndex", doc, dev, "") == "orders_table/index/CustomerIdIndex"
    assert resolve_resource("${aws_kms_key.k.arn}", doc, dev, "") == KEY
    assert resolve_resource("${aws_cloudwatch_log_group.g.arn}:*", doc, dev, "/aws/lambda/fn-dev") == OWN_LOG_GROUP
    # another function's log group, a wildcard ARN or a literal never count as the function's own
    assert resolve_resource("${aws_cloudwatch_log_group.other.arn}:*", doc, dev, "/aws/lambda/fn-dev").startswith("unknown:")
    assert resolve_resource("${aws_dynamodb_table.t.arn}/*", doc, dev, "").startswith("unknown:")
    assert resolve_resource("arn:aws:sqs:*:*:*", doc, dev, "") == "literal:arn:aws:sqs:*:*:*"
    assert resolve_resource("*", doc, dev, "") == "*"


def test_compare_names_the_grant_to_add_and_the_statement_to_drop():
    needed = {Access("sqs:SendMessage", "order_queue"): ["sqs SendMessage in t1"]}
    granted = granted_accesses(
        [
            {"Sid": "Extra", "Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "${aws_dynamodb_table.t.arn}"},
            {"Sid": "Ignored", "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"},
        ],
        {"resource": {"aws_dynamodb_table": {"t": {"name": "orders-table-dev"}}}},
        ResourceNames("dev"),
        "",
    )
    problems = compare("api-handler", needed, granted)
    assert problems[0] == (
        "api-handler: ADD sqs:SendMessage on order_queue (needed by: sqs SendMessage in t1). Grant it in "
        "QueueWithDeadLetterQueue.grant_send_statements() / grant_consume_statements() in constructs_lib/queue_with_dlq.py."
    )
    assert problems[1].startswith("api-handler: DROP dynamodb:DeleteItem on orders_table (statement 'Extra')")
    assert compare("api-handler", needed, {Access("sqs:SendMessage", "order_queue"): "Send"}) == []


def test_the_recorder_sees_a_call_before_anything_else_can_fail_it():
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    recorder = CallRecorder()
    recorder.current_test = "this-test"
    others = {name: boto3.client(name, region_name="us-east-1", endpoint_url="http://127.0.0.1:9") for name in ("dynamodb", "sns")}
    recorder.attach(API_HANDLER, type("Clients", (), {"sqs": client, **others})())
    with Stubber(client) as stub:
        stub.add_client_error("send_message", service_error_code="AccessDenied")
        with pytest.raises(client.exceptions.ClientError):
            client.send_message(QueueUrl=QUEUE_URL, MessageBody="x")
    recorder.detach()
    (recorded,) = recorder.snapshot()
    assert (recorded.function, recorded.service, recorded.operation, recorded.test) == (API_HANDLER, "sqs", "SendMessage", "this-test")
    assert recorded.params["QueueUrl"] == QUEUE_URL
    client.meta.events.emit("provide-client-params.sqs.SendMessage", params={}, model=None)  # detached: not recorded
    assert len(recorder.snapshot()) == 1
