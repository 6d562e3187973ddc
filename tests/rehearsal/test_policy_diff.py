"""Policy widening: what a new policy document allows that the old one did not."""

from __future__ import annotations

import json

from rehearsal.policy_diff import grants, parse_policy, widening

ROLE = "arn:aws:iam::123456789012:role/orders-api-handler-dev"


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action, resource="arn:aws:sqs:us-east-1:123456789012:order-queue-dev", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_a_new_action_is_widening_and_named():
    before = _policy(_allow("sqs:SendMessage"))
    after = _policy(_allow(["sqs:SendMessage", "sqs:DeleteQueue"]))
    assert widening(before, after) == ["gains actions `sqs:deletequeue`"]


def test_a_new_principal_and_a_new_resource_are_each_named():
    before = _policy(_allow("sqs:SendMessage", Principal={"AWS": ROLE}))
    after = _policy(_allow("sqs:SendMessage", Principal="*"), _allow("sqs:SendMessage", resource="*", Principal={"AWS": ROLE}))
    assert widening(before, after) == ["gains principals `*`", "gains resources `*`"]


def test_removing_grants_is_not_widening():
    before = _policy(_allow(["sqs:SendMessage", "sqs:ReceiveMessage"]))
    after = _policy(_allow("sqs:SendMessage"))
    assert widening(before, after) == []


def test_same_grant_without_its_condition_is_flagged():
    condition = {"Bool": {"aws:SecureTransport": "true"}}
    before = _policy(_allow("sqs:SendMessage", Condition=condition))
    after = _policy(_allow("sqs:SendMessage"))
    assert widening(before, after) == ["changes the conditions on `sqs:sendmessage`"]


def test_dropping_a_deny_is_widening():
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert widening(_policy(deny), _policy()) == ["drops a deny of `sqs:*`"]


def test_json_formatting_and_key_order_are_not_a_change():
    before = _policy(_allow(["sqs:SendMessage"]))
    after = json.dumps(json.loads(before), indent=4, sort_keys=True)
    assert widening(before, after) == []


def test_a_created_policy_grants_everything_it_holds_and_an_unreadable_one_is_flagged():
    assert widening(None, _policy(_allow("sqs:SendMessage"))) == [
        "gains actions `sqs:sendmessage`",
        "gains principals `(the policy's owner)`",
        "gains resources `arn:aws:sqs:us-east-1:123456789012:order-queue-dev`",
    ]
    assert widening(_policy(), "not json") == ["the new policy is not a JSON policy document: review it in the plan"]


def test_not_action_and_single_statement_objects_are_read():
    document = parse_policy(json.dumps({"Statement": {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}}))
    assert document is not None, "a JSON policy document must parse"
    assert grants(document) == {grants(document).pop()._replace(action="NOT iam:*")}
