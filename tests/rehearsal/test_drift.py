"""The drift check on real refresh-only plans of this stack (recorded by ``tests/rehearsal/plans/record.py``), its outcomes, and what people read.

``drift.json``: the stack right after a deploy, its event source mapping paused and resumed (as the
rehearsal's pipeline check does), then changed by the rehearsal's own out-of-band changes.
``drift-by-hand.json``: a fresh deploy changed the ways a person in the console might.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rehearsal.drift import CLEAN, DRIFTED, ERROR, ISSUE_BODY_LIMIT, DriftReport, check_drift, issue_marker, read_drift_report, render_issue
from rehearsal.drift_rehearsal import DRIFT_TAG
from rehearsal.plan_review import DELETED_PATH, Drift, prior_state_resources
from rehearsal.provider_schema import ProviderSchema
from tests.rehearsal.fake_terraform import calls, fake_terraform, runner

PLANS = Path(__file__).parent / "plans"
QUEUE = "aws_sqs_queue.order-queue_391EF9A8"
DLQ = "aws_sqs_queue.order-queue_dlq_BC9BCA82"
TABLE = "aws_dynamodb_table.orders-table_B86164D2"
#: The rehearsal changes the first of each kind in the state (sorted by address).
ALARM = "aws_cloudwatch_metric_alarm.alarms_api-5xx_3444BDC1"
LOG_GROUP = "aws_cloudwatch_log_group.api-handler_log-group_FE397E4E"
MAPPING = "aws_lambda_event_source_mapping.order-processor-source_mapping_DAF8C287"
PROCESSOR_ROLE = "aws_iam_role.order-processor_role_167CA2DB"


def plan(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def schema() -> ProviderSchema:
    return ProviderSchema.from_json(json.loads((PLANS / "aws-schema.json").read_text()))


# --------------------------------------------------------------------------- what counts
def test_the_rehearsals_out_of_band_changes_are_reported_exactly_and_nothing_else(schema):
    report = read_drift_report(plan("drift"), stack="orders-dev", schema=schema)
    assert report.status == DRIFTED and report.exit_code == 2
    assert report.keys() == {(QUEUE, "visibility_timeout_seconds"), (ALARM, "threshold"), (TABLE, f"tags.{DRIFT_TAG[0]}"), (LOG_GROUP, DELETED_PATH)}
    by_key = {(d.address, d.path): d for d in report.drifts}
    assert (by_key[(QUEUE, "visibility_timeout_seconds")].coded, by_key[(QUEUE, "visibility_timeout_seconds")].deployed) == (180, 187)
    assert by_key[(TABLE, f"tags.{DRIFT_TAG[0]}")].deployed == DRIFT_TAG[1] and by_key[(TABLE, f"tags.{DRIFT_TAG[0]}")].coded is None


def test_what_the_first_refresh_after_a_deploy_shows_is_set_aside_each_with_its_reason(schema):
    report = read_drift_report(plan("drift"), stack="orders-dev", schema=schema)
    aside = {(s.address, s.path): s.reason for s in report.set_aside}
    # Created before their separate policy resources: the queue's and the topics' policies, the redrive policies.
    assert (QUEUE, "policy") in aside and (QUEUE, "redrive_policy") in aside and (DLQ, "redrive_allow_policy") in aside
    assert all("checked itself" in reason for (address, _), reason in aside.items() if address.startswith(("aws_sqs_queue.", "aws_sns_topic.")))
    # Paused and resumed: only when the mapping was last touched moved.
    assert "timestamp" in aside[(MAPPING, "last_modified")]
    # The roles' inline policies are their aws_iam_role_policy resources: neither counted nor set aside.
    assert not [key for key in report.keys() if key[0].startswith("aws_iam_role.")]


def test_changes_made_by_hand_are_each_reported_once_and_nothing_else(schema):
    report = read_drift_report(plan("drift-by-hand"), stack="orders-dev", schema=schema)
    assert report.keys() == {
        (PROCESSOR_ROLE, "inline_policy.added-by-hand"),  # a security drift: a policy no code holds
        (MAPPING, "enabled"),
        ("aws_sns_topic.order-events-topic_3471F946", "display_name"),
        (LOG_GROUP, "retention_in_days"),
        ("aws_lambda_function.order-processor_function_1C3D27F1", "environment[0].variables.DEBUG_BY_HAND"),
        # New code shows only in what the provider computes (source_code_hash is what the code set, never read back): reported.
        ("aws_lambda_function.api-handler_function_7653A31C", "code_sha256"),
        ("aws_lambda_function.api-handler_function_7653A31C", "source_code_size"),
        # The widened DLQ policy: once, on the policy resource; the queue's mirror of it is set aside.
        ("aws_sqs_queue_policy.order-queue_dlq-policy_9E951AFB", "policy"),
    }
    # The mapping's state follows its enabled flag, its last_modified records when: set aside, not counted twice.
    assert {(s.address, s.path) for s in report.set_aside} == {(DLQ, "policy"), (MAPPING, "state"), (MAPPING, "last_modified")}


# --------------------------------------------------------------------------- negative controls: what must never be set aside
def test_without_the_schema_nothing_is_set_aside_as_computed():
    report = read_drift_report(plan("drift"), stack="orders-dev", schema=None)
    assert (MAPPING, "last_modified") in report.keys()


def test_a_mirror_that_differs_from_its_separate_resource_is_drift(schema):
    doctored = copy.deepcopy(plan("drift"))
    for resource in doctored["prior_state"]["values"]["root_module"]["resources"]:
        if resource["type"] == "aws_sqs_queue_policy" and "dlq" not in resource["address"]:
            resource["values"]["policy"] = '{"Statement":[]}'
    report = read_drift_report(doctored, stack="orders-dev", schema=schema)
    assert (QUEUE, "policy") in report.keys()


def test_inline_policies_are_drift_when_no_role_policy_resource_holds_them(schema):
    doctored = copy.deepcopy(plan("drift"))
    modules = doctored["prior_state"]["values"]["root_module"]
    modules["resources"] = [r for r in modules["resources"] if r["type"] != "aws_iam_role_policy"]
    report = read_drift_report(doctored, stack="orders-dev", schema=schema)
    assert {key for key in report.keys() if key[0].startswith("aws_iam_role.")}, "an inline policy no resource holds went unreported"


def test_a_computed_value_that_is_not_a_timestamp_is_reported_when_it_drifts_alone(schema):
    entry = {
        "address": "aws_lambda_function.f",
        "type": "aws_lambda_function",
        "mode": "managed",
        "change": {"actions": ["update"], "before": {"code_sha256": "aaa="}, "after": {"code_sha256": "bbb="}},
    }
    report = read_drift_report({"resource_drift": [entry]}, stack="s", schema=schema)
    assert report.keys() == {("aws_lambda_function.f", "code_sha256")}


def test_a_sensitive_value_never_reaches_the_report():
    change = {
        "actions": ["update"],
        "before": {"environment": [{"variables": {"TOKEN": "old-secret"}}]},
        "after": {"environment": [{"variables": {"TOKEN": "new-secret"}}]},
        "before_sensitive": {"environment": [{"variables": {"TOKEN": True}}]},
    }
    report = read_drift_report({"resource_drift": [{"address": "aws_lambda_function.f", "type": "aws_lambda_function", "mode": "managed", "change": change}]}, stack="s")
    assert report.status == DRIFTED and "secret" not in json.dumps(report.as_dict())


def test_a_plan_with_no_drift_is_clean():
    report = read_drift_report({"resource_drift": []}, stack="orders-dev")
    assert (report.status, report.exit_code, report.line()) == (CLEAN, 0, "orders-dev: no drift")


# --------------------------------------------------------------------------- outcomes of the check (terraform's exit codes)
def _clean_plan() -> dict:
    """A refresh-only plan of a deployed stack that found nothing: its state, no drift."""
    return {"resource_drift": [], "prior_state": plan("drift")["prior_state"]}


def test_exit_0_is_clean_2_is_drift_and_1_is_an_error_never_no_drift(tmp_path, schema):
    schema_json = schema.as_json()
    clean = fake_terraform(tmp_path / "clean", plan_exit=0, plan_json=_clean_plan(), schema_json=schema_json)
    assert check_drift(runner(clean, tmp_path / "clean" / "work"), stack="orders-dev").status == CLEAN
    drifted = fake_terraform(tmp_path / "drift", plan_exit=2, plan_json=plan("drift"), schema_json=schema_json)
    report = check_drift(runner(drifted, tmp_path / "drift" / "work"), stack="orders-dev")
    assert (report.status, report.exit_code, len(report.drifts)) == (DRIFTED, 2, 4)
    assert "-refresh-only -detailed-exitcode" in calls(tmp_path / "drift")[0]
    locked = fake_terraform(tmp_path / "locked", plan_exit=1, stderr="Error: Error acquiring the state lock")
    report = check_drift(runner(locked, tmp_path / "locked" / "work"), stack="orders-dev")
    assert (report.status, report.exit_code) == (ERROR, 1) and "state lock" in report.error and "could not be checked" in report.line()


def test_a_plan_that_cannot_be_read_or_a_schema_that_cannot_be_loaded_is_an_error(tmp_path):
    unreadable = fake_terraform(tmp_path / "a", plan_exit=2)  # show fails
    assert check_drift(runner(unreadable, tmp_path / "a" / "work"), stack="s").status == ERROR
    no_schema = fake_terraform(tmp_path / "b", plan_exit=2, plan_json=plan("drift"), schema_exit=1)
    report = check_drift(runner(no_schema, tmp_path / "b" / "work"), stack="s")
    assert report.status == ERROR and "providers schema" in report.error


def test_an_empty_state_is_an_error_never_no_drift(tmp_path, schema):
    """A wrong state key (or a stack never deployed) plans nothing against nothing: that must not pass for clean."""
    empty = fake_terraform(tmp_path, plan_exit=0, plan_json={"resource_drift": [], "prior_state": {"values": {"root_module": {}}}}, schema_json=schema.as_json())
    report = check_drift(runner(empty, tmp_path / "work"), stack="orders-prod")
    assert report.status == ERROR and "holds no resources" in report.error and "TF_STATE_KEY_PREFIX" in report.error


def test_terraform_saying_clean_while_its_plan_holds_drift_is_an_error_not_a_choice(tmp_path, schema):
    binary = fake_terraform(tmp_path, plan_exit=0, plan_json=plan("drift"), schema_json=schema.as_json())
    report = check_drift(runner(binary, tmp_path / "work"), stack="s")
    assert report.status == ERROR and "exit 0" in report.error


# --------------------------------------------------------------------------- what the issue says
def test_the_issue_names_each_resource_attribute_deployed_and_coded_value(schema):
    report = read_drift_report(plan("drift"), stack="orders-prod", schema=schema)
    title, body = render_issue(report, run_url="https://github.com/o/r/actions/runs/7", checked_at="2026-12-07 04:23 UTC")
    assert title == "Drift: orders-prod differs from the code"
    assert body.startswith(issue_marker("orders-prod"))
    assert f"| `{QUEUE}` | `visibility_timeout_seconds` | `187` | `180` |" in body
    assert f"| `{ALARM}` | `threshold` |" in body
    assert f"| `{TABLE}` | `tags.{DRIFT_TAG[0]}` | `{DRIFT_TAG[1]}` | `null` |" in body
    assert f"| `{LOG_GROUP}` | the resource | `(deleted outside Terraform)` | `exists` |" in body
    assert "**4 resource(s)**" in body and "deploy workflow" in body and "[run](https://github.com/o/r/actions/runs/7)" in body
    assert "<summary>Set aside (" in body  # what was not counted, and why, collapsed


def test_a_cell_cannot_break_the_table_and_a_huge_report_fits_githubs_limit():
    drifts = tuple(Drift(f"aws_x.r{i}", "policy", coded="a|b`c\nd", deployed="x" * 5000, type="aws_x") for i in range(400))
    _, body = render_issue(DriftReport(stack="orders-dev", status=DRIFTED, drifts=drifts))
    assert "`a\\|b'c d`" in body
    assert len(body) <= ISSUE_BODY_LIMIT and "more row(s): the job summary of the run lists them all" in body


def test_the_report_for_the_workflow_carries_status_exit_code_and_the_issue():
    report = read_drift_report(plan("drift"), stack="orders-dev")
    data = report.as_dict()
    assert (data["status"], data["exit_code"]) == ("drift", 2)
    assert data["issue"]["marker"] == issue_marker("orders-dev") and data["issue"]["body"].startswith(issue_marker("orders-dev"))
    assert {row["attribute"] for row in data["drifts"]} >= {"visibility_timeout_seconds", "threshold"}
    error = DriftReport(stack="orders-dev", status=ERROR, error="no credentials").as_dict()
    assert (error["status"], error["exit_code"], error["issue"]["body"]) == ("error", 1, "")


def test_prior_state_is_read_with_every_resource_of_the_plan():
    state = prior_state_resources(plan("drift"))
    assert state[QUEUE][0] == "aws_sqs_queue" and state[QUEUE][1]["visibility_timeout_seconds"] == 187
