"""Every IAM role of every stack, pinned: who may assume it, and exactly which actions on which resources it holds.

The e2e check (tests/e2e/test_least_privilege.py) derives each function's grants from the calls the
handlers make against the emulator; it runs with the end-to-end tier. This one runs in the fast
tier (``make test-fast``) on the synthesized JSON alone: any grant added, widened (an action, a
resource, a dropped ``kms:ViaService``) or removed fails here, naming the access, until the
expectation below is changed in the same commit. A new role fails too.
"""

from __future__ import annotations

import json

import pytest

from pipeline_config import ResourceNames
from tests.least_privilege import (
    ANY,
    API_HANDLER,
    EVENT_SWEEPER,
    FUNCTIONS,
    KEY,
    OWN_LOG_GROUP,
    OWN_LOG_GROUP_ITSELF,
    PROCESSOR,
    Access,
    granted_accesses,
    role_statements,
)
from tests.tfjson import policy, resources

LOGS_AND_TRACES = {
    Access("logs:CreateLogStream", OWN_LOG_GROUP),
    Access("logs:PutLogEvents", OWN_LOG_GROUP),
    Access("logs:CreateLogGroup", OWN_LOG_GROUP_ITSELF),
    Access("xray:PutTraceSegments", ANY),
    Access("xray:PutTelemetryRecords", ANY),
}
#: The one expectation: every access of each function's role (logical resources, tests/least_privilege.py).
PINNED: dict[str, set[Access]] = {
    API_HANDLER: LOGS_AND_TRACES
    | {
        Access("sqs:SendMessage", "order_queue"),
        Access("kms:GenerateDataKey", KEY),
        Access("kms:Decrypt", KEY),
        Access("dynamodb:GetItem", "orders_table"),
        Access("dynamodb:Query", "orders_table/index/CustomerIdIndex"),
        Access("kms:Decrypt", KEY, via="dynamodb"),
    },
    PROCESSOR: LOGS_AND_TRACES
    | {
        Access("sqs:ReceiveMessage", "order_queue"),
        Access("sqs:DeleteMessage", "order_queue"),
        Access("sqs:GetQueueAttributes", "order_queue"),
        Access("kms:Decrypt", KEY),
        Access("dynamodb:PutItem", "orders_table"),
        Access("dynamodb:UpdateItem", "orders_table"),
        Access("kms:Decrypt", KEY, via="dynamodb"),
        Access("sns:Publish", "order_events_topic"),
        Access("kms:GenerateDataKey", KEY),
    },
    EVENT_SWEEPER: LOGS_AND_TRACES
    | {
        Access("dynamodb:Query", "orders_table/index/UnpublishedIndex"),
        Access("dynamodb:UpdateItem", "orders_table"),
        Access("kms:Decrypt", KEY, via="dynamodb"),
        Access("sns:Publish", "order_events_topic"),
        Access("kms:GenerateDataKey", KEY),
        Access("kms:Decrypt", KEY),
    },
}
#: Trust policies, exactly as AWS documents them for each role (no condition: tests/security/test_conditions.py).
TRUSTED_SERVICE = {"function": "lambda.amazonaws.com", "apigw-cloudwatch": "apigateway.amazonaws.com"}
PUSH_TO_CLOUDWATCH = ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def access_set(doc: dict, function: str) -> set[Access]:
    """What a function's role allows, as logical accesses (with kms:ViaService)."""
    statements, log_group = role_statements(doc, function)
    return set(granted_accesses(statements, doc, ResourceNames(doc_suffix(doc)), log_group))


def doc_suffix(doc: dict) -> str:
    """The environment suffix of a synthesized environment stack (from its default tags)."""
    return doc["provider"]["aws"][0]["default_tags"][0]["tags"]["Environment"]


def describe(difference: set[Access]) -> str:
    return ", ".join(sorted(str(a) for a in difference)) or "nothing"


@pytest.fixture(params=["orders-dev", "orders-staging", "orders-prod", "orders-pr-1"])
def environment_stack(request, stacks, review_stacks):
    return request.param, {**stacks, **review_stacks}[request.param]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_role_holds_exactly_the_pinned_accesses(environment_stack, function):
    name, doc = environment_stack
    granted = access_set(doc, function)
    extra, missing = granted - PINNED[function], PINNED[function] - granted
    assert not extra and not missing, (
        f"{name} {function}: granted but not pinned: {describe(extra)}; pinned but not granted: {describe(missing)}. "
        "If the change is meant, change PINNED in tests/security/test_pinned_grants.py in the same commit "
        "(and the e2e least-privilege scenario that needs it)."
    )


def test_every_role_of_every_stack_is_one_pinned_here(all_stacks, review_stacks):
    """No role appears unnoticed: environment stacks hold the three function roles, the account stack its CloudWatch role."""
    for name, doc in {**all_stacks, **review_stacks}.items():
        roles = sorted(r["name"] for r in resources(doc, "aws_iam_role").values())
        if name.startswith("orders-account-"):
            region = name.removeprefix("orders-account-")
            assert roles == [f"orders-apigw-cloudwatch-{region}"], name
        else:
            names = ResourceNames(doc_suffix(doc))
            assert roles == sorted(f"{fn}-role" for fn in (names.api_handler_function, names.order_processor_function, names.event_sweeper_function)), name


def test_every_trust_policy_is_the_documented_one(all_stacks, review_stacks):
    for name, doc in {**all_stacks, **review_stacks}.items():
        for role in resources(doc, "aws_iam_role").values():
            kind = "apigw-cloudwatch" if "apigw-cloudwatch" in role["name"] else "function"
            (statement,) = policy(role["assume_role_policy"])["Statement"]
            assert {k: v for k, v in statement.items() if k != "Sid"} == {
                "Effect": "Allow",
                "Principal": {"Service": TRUSTED_SERVICE[kind]},
                "Action": "sts:AssumeRole",
            }, (name, role["name"])


def test_the_account_role_holds_only_the_managed_logging_policy(account_stack):
    assert not resources(account_stack, "aws_iam_role_policy")
    (attachment,) = resources(account_stack, "aws_iam_role_policy_attachment").values()
    assert attachment["policy_arn"].endswith(PUSH_TO_CLOUDWATCH)


# --------------------------------------------------------------------------- negative controls
def test_a_scan_on_the_whole_table_fails_the_pin(dev):
    """The widening that the old denylist let through (dynamodb:Scan on the table) is caught."""
    statements, log_group = role_statements(dev, API_HANDLER)
    table_arn = next(s["Resource"][0] for s in statements if s.get("Sid") == "ReadOrders")
    widened = [*statements, {"Sid": "Scan", "Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": [table_arn]}]
    granted = set(granted_accesses(widened, dev, ResourceNames("dev"), log_group))
    assert granted - PINNED[API_HANDLER] == {Access("dynamodb:Scan", "orders_table")}


def test_dropping_the_via_service_condition_fails_the_pin(dev):
    statements, log_group = role_statements(dev, PROCESSOR)
    loosened = [{k: v for k, v in s.items() if k != "Condition"} if s.get("Sid") == "UseKeyForOrdersTable" else s for s in statements]
    granted = set(granted_accesses(loosened, dev, ResourceNames("dev"), log_group))
    assert PINNED[PROCESSOR] - granted == {Access("kms:Decrypt", KEY, via="dynamodb")}


def test_the_table_grant_does_not_ride_on_the_queue_or_topic_grants(dev):
    """Item 3 of the false-greens issue: without the SQS and SNS key statements, table access keeps its own."""
    for function in FUNCTIONS:
        statements, log_group = role_statements(dev, function)
        table_only = [s for s in statements if not (s.get("Sid", "").startswith(("EncryptFor", "DecryptFrom")))]
        granted = set(granted_accesses(table_only, dev, ResourceNames("dev"), log_group))
        assert Access("kms:Decrypt", KEY, via="dynamodb") in granted, function
        (table_statement,) = [s for s in statements if s.get("Sid") == "UseKeyForOrdersTable"]
        assert json.dumps(table_statement["Condition"]) == json.dumps({"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}})
