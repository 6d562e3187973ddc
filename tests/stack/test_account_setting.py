"""API Gateway's account setting has exactly one owner per account and region (synthesized JSON)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REVIEW_SUFFIXES, synth_with
from tests.tfjson import find, only, ref, resources


def legacy_addresses() -> tuple[str, ...]:
    """The stack's ``LEGACY_ACCOUNT_SETTING_ADDRESSES`` (imported here: the stack module starts jsii, collection must not)."""
    from stacks.order_pipeline_stack import LEGACY_ACCOUNT_SETTING_ADDRESSES

    return LEGACY_ACCOUNT_SETTING_ADDRESSES


PUSH_POLICY_SUFFIX = ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def owners(docs: dict[str, dict]) -> dict[str, list[str]]:
    """Region -> stacks holding an aws_api_gateway_account resource."""
    found: dict[str, list[str]] = {}
    for name, doc in docs.items():
        if resources(doc, "aws_api_gateway_account"):
            region = doc["provider"]["aws"][0]["region"]
            found.setdefault(region, []).append(name)
    return found


def test_one_owner_across_the_default_environments_and_review_stacks(all_stacks, review_stacks):
    assert set(review_stacks) == {f"orders-{s}" for s in REVIEW_SUFFIXES}
    assert owners({**all_stacks, **review_stacks}) == {"us-east-1": ["orders-account-us-east-1"]}
    # Nothing else holds a piece of it either: no CloudWatch role outside the account stack.
    for name, doc in {**all_stacks, **review_stacks}.items():
        if name != "orders-account-us-east-1":
            assert not any(r["name"].endswith("apigw-cloudwatch") for r in resources(doc, "aws_iam_role").values()), name


def test_the_account_stack_attaches_the_policy_before_setting_the_role(account_stack):
    role_name, role = find(account_stack, "aws_iam_role", name="orders-apigw-cloudwatch-us-east-1")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    # AWS's documented trust for this role, with no condition (tests/security/test_conditions.py).
    assert set(trust) == {"Sid", "Effect", "Principal", "Action"}

    attachment_name, attachment = find(account_stack, "aws_iam_role_policy_attachment", role=ref("aws_iam_role", role_name, "name"))
    assert attachment["policy_arn"].endswith(PUSH_POLICY_SUFFIX)
    _, account = only(account_stack, "aws_api_gateway_account")
    assert account["cloudwatch_role_arn"] == ref("aws_iam_role", role_name, "arn")
    assert account["depends_on"] == [f"aws_iam_role_policy_attachment.{attachment_name}"]
    assert account_stack["output"]["ApiGatewayCloudWatchRoleArn"]["value"] == ref("aws_iam_role", role_name, "arn")
    assert set(account_stack["terraform"]["backend"]["local"]["path"].rsplit("/", 1)[1:]) == {"terraform.orders-account-us-east-1.tfstate"}


def test_environment_stacks_hold_no_removed_block_unless_their_state_still_holds_the_setting(stacks, review_stacks):
    for name, doc in {**stacks, **review_stacks}.items():
        assert "removed" not in doc, name  # checkov can read the stack as make synth writes it
        # The stage no longer waits for an account resource in its own stack, only for its execution log group.
        (log_group_id,) = [n for n, g in resources(doc, "aws_cloudwatch_log_group").items() if g["name"].startswith("API-Gateway-Execution-Logs_")]
        assert only(doc, "aws_api_gateway_stage")[1]["depends_on"] == [f"aws_cloudwatch_log_group.{log_group_id}"], name


def test_an_environment_whose_state_holds_the_old_setting_forgets_it_without_destroying_it(tmp_path_factory, capsys):
    from pipeline_config.selection import select_stacks

    context = {"orderPipeline": {"staging": {"legacy_account_setting_in_state": True}, "prod": {"alarm_destination_check": "warn"}}}
    docs = synth_with(tmp_path_factory, {}, context)
    expected = [{"from": address, "lifecycle": {"destroy": False}} for address in legacy_addresses()]
    assert docs["orders-staging"]["removed"] == expected
    assert "removed" not in docs["orders-dev"] and "removed" not in docs["orders-prod"]
    (warning,) = [w for w in select_stacks({}, context).warnings if w.setting == "legacy_account_setting_in_state"]
    assert "checkov 3.2 cannot read" in str(warning) and "set legacy_account_setting_in_state back to false" in str(warning)


def test_the_migration_setting_and_ownership_exclude_each_other():
    from pipeline_config import ConfigError
    from pipeline_config.environments import config_for

    with pytest.raises(ConfigError, match="legacy_account_setting_in_state: cannot be true while manage_api_gateway_account is"):
        config_for("prod", manage_api_gateway_account=True, legacy_account_setting_in_state=True)


def test_a_designated_environment_owns_it_at_the_addresses_the_removed_blocks_name(tmp_path_factory):
    context = {"orderPipeline": {"prod": {"manage_api_gateway_account": True, "alarm_destination_check": "warn"}}}
    docs = synth_with(tmp_path_factory, {}, context)
    assert "orders-account-us-east-1" not in docs  # the designated environment replaces it
    assert owners(docs) == {"us-east-1": ["orders-prod"]}
    prod = docs["orders-prod"]
    held = {f"{rtype}.{name}" for rtype in ("aws_api_gateway_account", "aws_iam_role", "aws_iam_role_policy_attachment") for name in resources(prod, rtype)}
    assert set(legacy_addresses()) <= held
    assert "removed" not in prod  # Terraform rejects a removed block for a resource still declared
    stage = only(prod, "aws_api_gateway_stage")[1]
    assert stage["depends_on"][1:] == [legacy_addresses()[0]]
    assert stage["depends_on"][0].startswith("aws_cloudwatch_log_group.orders-api_execution-logs_")
