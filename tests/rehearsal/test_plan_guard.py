"""The plan guard on real plans of this stack (tests/rehearsal/plans/, recorded by record.py), one class of change each.

Every resource type of the stack must be classified; a plan that destroys or replaces what holds
data is blocked unless its exact address is allowed; security changes are flagged, not blocked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rehearsal import plan_classes as pc
from rehearsal.plan_guard import AllowEntry, allow_entries, allow_entries_from_text, main, render_markdown, review
from rehearsal.plan_review import read_changes, read_drift

PLANS = Path(__file__).parent / "plans"
ROOT = Path(__file__).resolve().parents[2]
TABLE = "aws_dynamodb_table.orders-table_B86164D2"
QUEUE = "aws_sqs_queue.order-queue_391EF9A8"


def plan(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text())


def by_address(result) -> dict:
    return {c.change.address: c for c in result.changes}


# --------------------------------------------------------------------------- the one list
def test_every_resource_type_the_stacks_create_is_classified(all_stacks):
    types = {rtype for doc in all_stacks.values() for rtype in doc["resource"]}
    assert types - set(pc.RESOURCE_CLASSES) == set(), "classify these in rehearsal/plan_classes.py RESOURCE_CLASSES"


def test_every_resource_type_the_project_can_create_is_classified():
    # Types only some settings create (API keys, e-mail subscriptions, the account role) too.
    from constructs_lib.support.provider import CLASSES_BY_SUBMODULE  # here, not at collection: it starts jsii

    types = {f"aws_{submodule}" for submodule in CLASSES_BY_SUBMODULE if submodule not in ("provider",) and not submodule.startswith("data_")}
    assert types - set(pc.RESOURCE_CLASSES) == set(), "classify these in rehearsal/plan_classes.py RESOURCE_CLASSES"


def test_the_issue_s_data_holders_are_data_loss_and_its_serving_resources_availability():
    data = {"aws_dynamodb_table", "aws_sqs_queue", "aws_kms_key", "aws_kms_alias", "aws_sns_topic", "aws_sns_topic_subscription", "aws_cloudwatch_log_group"}
    serving = {"aws_lambda_function", "aws_lambda_event_source_mapping", "aws_api_gateway_deployment", "aws_api_gateway_stage"}
    assert {t for t in data if pc.RESOURCE_CLASSES[t].kind == pc.DATA_LOSS} == data
    assert {t for t in serving if pc.RESOURCE_CLASSES[t].kind == pc.AVAILABILITY} == serving


def test_destroying_an_unclassified_type_is_treated_as_data_loss():
    change = {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "mode": "managed", "change": {"actions": ["delete"], "before": {"bucket": "b"}, "after": None}}
    result = review({"resource_changes": [change]})
    assert not result.ok and "unclassified resource type" in result.blocked[0].reasons[pc.DATA_LOSS][0]


# --------------------------------------------------------------------------- data loss
def test_a_renamed_table_is_blocked_naming_the_table_and_the_attribute_that_forces_it():
    result = review(plan("table-renamed"), stack="orders-dev")
    assert not result.ok and [c.change.address for c in result.blocked] == [TABLE]
    assert result.blocked[0].change.replace_paths == ("name",)
    text = render_markdown(result)
    assert f"⛔ blocked `{TABLE}` replace, forced by `name`: replacing it loses every stored order" in text
    assert f"allow-data-loss: {TABLE}" in text
    assert result.action_summary() == "5 updated in place, 1 replaced, 0 destroyed, 0 added"


@pytest.mark.parametrize(
    ("scenario", "lost"),
    [
        ("queue-renamed", {QUEUE}),
        ("key-replaced", {"aws_kms_key.encryption-key_B3391E8B"}),
        ("identities-renamed", {"aws_kms_alias.encryption-key_alias_EA42CC1F", "aws_sns_topic.order-events-topic_3471F946", "aws_cloudwatch_log_group.orders-api_access-logs_EED59639"}),
    ],
)
def test_every_data_holder_replacement_is_blocked(scenario, lost):
    result = review(plan(scenario), stack="orders-dev")
    assert {c.change.address for c in result.blocked} == lost
    assert all(c.change.replace_paths for c in result.blocked)


def test_an_allowed_address_passes_and_the_summary_says_who_allowed_it():
    description = f"Renames the table on purpose.\n\n- allow-data-loss: orders-dev/{TABLE}\n"
    result = review(plan("table-renamed"), stack="orders-dev", allows=allow_entries_from_text(description, "pull-request-description.md"))
    assert result.ok and [c.change.address for c, _ in result.allowed] == [TABLE]
    assert f"✅ allowed `{TABLE}` replace, forced by `name`" in render_markdown(result)
    assert "(from pull-request-description.md)" in render_markdown(result)


def test_an_allow_for_another_stack_or_address_does_not_pass_and_is_reported_unused():
    allows = [AllowEntry.parse(f"orders-prod/{TABLE}"), AllowEntry.parse("aws_dynamodb_table.other")]
    result = review(plan("table-renamed"), stack="orders-dev", allows=allows)
    assert not result.ok
    assert [e.address for e in result.unused_allows] == ["aws_dynamodb_table.other"]
    assert "Allowed but not in this plan" in render_markdown(result)


# --------------------------------------------------------------------------- availability, security, routine
def test_replacing_what_serves_requests_is_availability_not_blocked():
    result = review(plan("serving-replaced"))
    assert result.ok
    assert {c.change.address for c in result.of_class(pc.AVAILABILITY)} == {
        "aws_api_gateway_deployment.orders-api_deployment_9FECD241",
        "aws_api_gateway_stage.orders-api_stage_5B16042E",
        "aws_lambda_function.api-handler_function_7653A31C",
    }
    assert review(plan("queue-renamed")).of_class(pc.AVAILABILITY)[0].change.type == "aws_lambda_event_source_mapping"


def test_security_changes_are_each_flagged_with_what_widens_and_come_first():
    result = review(plan("security"))
    reasons = {address: " ".join(c.reasons[pc.SECURITY]) for address, c in by_address(result).items()}
    assert result.ok and result.counts()[pc.SECURITY] == 7
    assert "gains actions `dynamodb:deletetable`" in reasons["aws_iam_role_policy.api-handler_policy_21E31F2F"]
    assert "trust policy" in reasons["aws_iam_role.order-processor_role_167CA2DB"]
    assert "gains principals `*`" in reasons["aws_sqs_queue_policy.order-queue_queue-policy_F356724E"]
    assert "from `AWS_IAM` to `NONE`" in reasons["aws_api_gateway_method.orders-api_method-get-order_03810942"]
    assert "turns off deletion protection" in reasons[TABLE] and "turns off point-in-time recovery" in reasons[TABLE]
    assert "turns off key rotation" in reasons["aws_kms_key.encryption-key_B3391E8B"]
    assert "data_trace_enabled" in reasons["aws_api_gateway_method_settings.orders-api_method-settings_CA0E7B9F"]
    text = render_markdown(result)
    assert text.index("| data loss |") < text.index("**Security") and "Data loss" not in text


def test_in_place_configuration_changes_are_routine_only():
    result = review(plan("routine"))
    assert result.ok and result.counts() == {pc.DATA_LOSS: 0, pc.SECURITY: 0, pc.AVAILABILITY: 0, pc.ROUTINE: 7}
    assert {c.change.type for c in result.changes} == {"aws_lambda_function", "aws_cloudwatch_metric_alarm", "aws_cloudwatch_log_group"}


def test_a_replaced_queue_s_own_policy_mirror_is_not_flagged_but_its_policy_resource_is():
    reasons = by_address(review(plan("queue-renamed")))
    assert pc.SECURITY not in reasons[QUEUE].reasons
    assert pc.SECURITY in reasons["aws_sqs_queue_policy.order-queue_queue-policy_F356724E"].reasons


def test_forgotten_resources_removed_from_state_are_kept_not_lost():
    change = {"address": TABLE, "type": "aws_dynamodb_table", "mode": "managed", "change": {"actions": ["forget"], "before": {"name": "t"}, "after": None}}
    result = review({"resource_changes": [change]})
    assert result.ok and result.action_summary().endswith("1 removed from state (kept)")


def test_sensitive_values_never_reach_the_summary():
    change = {
        "address": "aws_lambda_function.f",
        "type": "aws_lambda_function",
        "mode": "managed",
        "change": {
            "actions": ["update"],
            "before": {"environment": [{"variables": {"TOKEN": "old-secret"}}]},
            "after": {"environment": [{"variables": {"TOKEN": "new-secret"}}]},
            "after_unknown": {},
            "after_sensitive": {"environment": [{"variables": {"TOKEN": True}}]},
        },
    }
    (read,) = read_changes({"resource_changes": [change]})
    assert "secret" not in read.describe() and "(sensitive)" in read.describe()


# --------------------------------------------------------------------------- drift, for the nightly check
def test_drift_reports_resource_attribute_deployed_and_coded_value_without_default_filling():
    drifts = read_drift(plan("drift"))
    visibility = [d for d in drifts if d.path == "visibility_timeout_seconds"]
    assert [(d.address, d.deployed, d.coded) for d in visibility] == [(QUEUE, 187, 180)]  # the rehearsal's out-of-band change: +7 s
    assert not [d for d in drifts if d.coded in (None, "", [], {}) and d.deployed in (None, "", [], {})]


# --------------------------------------------------------------------------- command line
def test_the_command_line_exits_1_when_blocked_0_when_allowed_and_2_on_bad_input(tmp_path, capsys):
    assert main([str(PLANS / "table-renamed.json"), "--stack", "orders-dev"]) == 1
    body = tmp_path / "pr.md"
    body.write_text(f"allow-data-loss: {TABLE}\n")
    summary = tmp_path / "review.md"
    assert main([str(PLANS / "table-renamed.json"), "--allow-data-loss-from", str(body), "--markdown", str(summary)]) == 0
    assert "allowed by" in summary.read_text()
    (tmp_path / "bad.json").write_text('{"resource_changes": "nope"}')
    assert main([str(tmp_path / "bad.json")]) == 2
    assert "not a plan" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"--allow-data-loss-from: cannot read .*missing\.md.*Fix"):
        allow_entries([], [tmp_path / "missing.md"])


def test_python_dash_m_reads_a_plan_from_stdin():
    done = subprocess.run([sys.executable, "-m", "rehearsal.plan_guard", "-"], input=(PLANS / "routine.json").read_text(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "7 updated in place" in done.stdout
