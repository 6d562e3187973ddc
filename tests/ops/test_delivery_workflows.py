"""Delivery workflows (deploy.yml + deploy-stack.yml, drift.yml): the stack order, approvals, one apply at a time, the guard
before every apply, a smoke test after it, least-privilege permissions, and the drift job's handling of each exit code.

The github-script steps run under node with a stand-in GitHub (``tests.ops.workflows``): what they
would create, update, comment or close is recorded and checked.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ordersctl.outputs import load_outputs
from pipeline_config.context import read_context
from pipeline_config.environments import ENVIRONMENTS
from pipeline_config.selection import select_stacks
from rehearsal.drift import DRIFTED, DriftReport, issue_marker, read_drift_report
from rehearsal.plan_guard import allow_entries
from tests.ops.workflows import ROOT, WORKFLOWS, load, run_github_script, script_of
from tests.project_copy import clean_environ
from tests.rehearsal.fake_terraform import calls, fake_terraform

PLANS = ROOT / "tests" / "rehearsal" / "plans"
#: What each job of each workflow may do with GITHUB_TOKEN and OIDC; anything more is a finding.
PERMISSIONS = {
    ("ci.yml", "test-and-synth"): None,  # the workflow's contents: read
    ("plan.yml", "plan"): {"contents": "read", "id-token": "write", "pull-requests": "write"},
    ("plan.yml", "upgrade-rehearsal"): {"contents": "read"},
    ("deploy-stack.yml", "deploy"): {"contents": "read", "id-token": "write", "pull-requests": "read"},
    ("deploy.yml", "account"): {"contents": "read", "id-token": "write", "pull-requests": "read"},
    ("deploy.yml", "dev"): {"contents": "read", "id-token": "write", "pull-requests": "read"},
    ("deploy.yml", "staging"): {"contents": "read", "id-token": "write", "pull-requests": "read"},
    ("deploy.yml", "prod"): {"contents": "read", "id-token": "write", "pull-requests": "read"},
    ("drift.yml", "drift"): {"contents": "read", "id-token": "write", "issues": "write"},
}


@pytest.fixture(scope="module")
def context() -> dict:
    return read_context({})


# --------------------------------------------------------------------------- least privilege, everywhere
def test_every_job_has_exactly_the_permissions_it_needs_and_the_workflows_default_is_read_only():
    found = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = load(path.name)
        assert doc.get("permissions") == {"contents": "read"}, f"{path.name}: the workflow's default must be contents: read"
        for name, job in doc["jobs"].items():
            found[(path.name, name)] = job.get("permissions")
    assert found == PERMISSIONS


# --------------------------------------------------------------------------- deploy: order, environments, concurrency
def _callers() -> dict:
    return load("deploy.yml")["jobs"]


def _stack_job() -> dict:
    return load("deploy-stack.yml")["jobs"]["deploy"]


def test_deploy_runs_on_push_to_the_default_branch_and_on_demand_only_from_it():
    doc = load("deploy.yml")
    assert doc["on"]["push"] == {"branches": ["main"]} and "workflow_dispatch" in doc["on"]
    assert _callers()["account"]["if"] == "github.ref_name == github.event.repository.default_branch"
    assert "concurrency" not in doc  # a workflow-level group would cancel or queue whole runs; each stack has its own


def test_deploy_order_is_the_account_stacks_then_dev_then_staging_then_prod_and_covers_every_stack(context):
    jobs = _callers()
    assert list(jobs) == ["account", "dev", "staging", "prod"]
    assert "needs" not in jobs["account"] and jobs["dev"]["needs"] == "account" and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert [name for name in jobs if name != "account"] == list(ENVIRONMENTS)  # the environments, in their order
    accounts = jobs["account"]["strategy"]["matrix"]["stack"]
    assert accounts == select_stacks({"ENVIRONMENT_SUFFIX": "account"}, context).stack_names
    deployed = list(accounts)
    for name in ENVIRONMENTS:
        inputs = jobs[name]["with"]
        assert select_stacks({"ENVIRONMENT_SUFFIX": inputs["suffix"]}, context).stack_names == [inputs["stack"]] and inputs["suffix"] == name
        deployed.append(inputs["stack"])
    assert sorted(deployed) == sorted(select_stacks({}, context).stack_names)
    for job in jobs.values():
        assert job["uses"] == "./.github/workflows/deploy-stack.yml" and job["secrets"] == "inherit"
        assert "if" not in job or job is jobs["account"]  # no always(): a failure stops the promotion


def test_staging_and_prod_run_in_their_github_environments_and_every_job_in_one():
    jobs = _callers()
    assert {name: job["with"]["environment"] for name, job in jobs.items()} == {"account": "account", "dev": "dev", "staging": "staging", "prod": "prod"}
    stack_job = _stack_job()
    assert stack_job["environment"] == "${{ inputs.environment }}"
    # The approvals themselves are repository settings: the docs say which environments need a reviewer.
    text = (ROOT / "docs" / "deliver.md").read_text()
    for environment in ("staging", "prod"):
        assert re.search(rf"`{environment}`[^\n]*required reviewers", text, re.IGNORECASE), environment


def test_one_apply_at_a_time_per_stack_and_never_cancelled():
    concurrency = _stack_job()["concurrency"]
    assert concurrency == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}


# --------------------------------------------------------------------------- deploy: guard, summary, apply, smoke
def _step_index(steps: list[dict], predicate) -> list[int]:
    return [i for i, step in enumerate(steps) if predicate(step)]


def test_the_guard_reviews_before_every_apply_and_a_smoke_test_follows_it():
    steps = _stack_job()["steps"]
    runs = [step.get("run", "") for step in steps]
    assert not [run for run in runs if re.search(r"(^|\s)(terraform (plan|apply)|cdktf deploy)", run)], "apply only through the entry point"
    (plan,) = _step_index(steps, lambda s: "--until plan" in s.get("run", ""))
    (summary,) = _step_index(steps, lambda s: "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    applies = _step_index(steps, lambda s: "--apply-reviewed" in s.get("run", "") or " apply" in s.get("run", ""))
    (smoke,) = _step_index(steps, lambda s: "bin/ordersctl smoke" in s.get("run", ""))
    assert len(applies) == 1 and plan < summary < applies[0] < smoke, (plan, summary, applies, smoke)
    plan_run, apply_run, smoke_run = runs[plan], runs[applies[0]], runs[smoke]
    # The guard's review of that plan (its summary file) and the saved plan it leaves in the workdir the apply reads.
    assert "--target aws" in plan_run and "--review-file $RUNNER_TEMP/deploy/review.md" in plan_run and "--workdir $RUNNER_TEMP/deploy" in plan_run
    assert "--apply-reviewed $RUNNER_TEMP/deploy" in apply_run and "--outputs-file $RUNNER_TEMP/deploy/outputs.json" in apply_run
    assert '--outputs "$RUNNER_TEMP/deploy/outputs.json" --stack "$STACK"' in smoke_run
    # The account-level stack serves no API: its check is that API Gateway's role is set.
    assert "bin/ordersctl preflight --environment account" in smoke_run
    # The summary is written whatever happened; nothing else runs after a failure.
    assert steps[summary]["if"] == "always()"
    assert all("if" not in steps[i] and not steps[i].get("continue-on-error") for i in (plan, applies[0], smoke))
    for run in (plan_run, apply_run):
        assert "${{" not in run  # the stack and suffix reach the shell through the environment


def test_the_deploy_reads_allow_lines_from_the_merged_pull_request_and_the_commit_message(tmp_path):
    steps = _stack_job()["steps"]
    (plan,) = [s["run"] for s in steps if "--until plan" in s.get("run", "")]
    assert "--allow-data-loss-from $RUNNER_TEMP/merged-pull-request.md" in plan and "--allow-data-loss-from $RUNNER_TEMP/commit-message.txt" in plan
    table = "aws_dynamodb_table.orders-table_B86164D2"
    fixtures = {
        "listPullRequestsAssociatedWithCommit": [
            {"number": 12, "merged_at": "2026-12-06T10:00:00Z", "body": f"Rename the table.\n\nallow-data-loss: orders-dev/{table}\n"},
            {"number": 13, "merged_at": None, "body": "allow-data-loss: aws_sqs_queue.q"},  # open, not merged: not this change
        ],
        "getCommit": {"commit": {"message": "Merge pull request #12\n\nallow-data-loss: aws_kms_key.k"}},
    }
    files = {"PULL_REQUEST_FILE": str(tmp_path / "merged-pull-request.md"), "COMMIT_MESSAGE_FILE": str(tmp_path / "commit-message.txt")}
    result = run_github_script(script_of(_stack_job(), "Allow lines"), files, fixtures)
    assert result["failed"] is None
    entries = allow_entries([], [Path(files["PULL_REQUEST_FILE"]), Path(files["COMMIT_MESSAGE_FILE"])])
    assert {(e.stack, e.address, e.source) for e in entries} == {("orders-dev", table, "merged-pull-request.md"), ("", "aws_kms_key.k", "commit-message.txt")}


def test_the_apply_role_is_the_environments_and_plan_drift_and_deploy_use_one_terraform_version():
    by_action = {step["uses"].split("@")[0]: step for step in _stack_job()["steps"] if "uses" in step}
    assert by_action["aws-actions/configure-aws-credentials"]["with"]["role-to-assume"] == "${{ vars.AWS_APPLY_ROLE_ARN }}"
    drift = {step["uses"].split("@")[0]: step for step in load("drift.yml")["jobs"]["drift"]["steps"] if "uses" in step}
    assert drift["aws-actions/configure-aws-credentials"]["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    versions = set()
    for name, job in (("plan.yml", "plan"), ("deploy-stack.yml", "deploy"), ("drift.yml", "drift")):
        (setup,) = [s for s in load(name)["jobs"][job]["steps"] if s.get("uses", "").startswith("hashicorp/setup-terraform")]
        versions.add(setup["with"]["terraform_version"])
    assert len(versions) == 1, f"plan, deploy and drift read and write the same state: one Terraform version ({versions})"


# --------------------------------------------------------------------------- drift
def _drift_job() -> dict:
    return load("drift.yml")["jobs"]["drift"]


def test_drift_runs_nightly_and_on_demand_for_every_stack(context):
    doc = load("drift.yml")
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"} and doc["on"]["schedule"][0]["cron"]
    include = _drift_job()["strategy"]["matrix"]["include"]
    assert {entry["stack"] for entry in include} == set(select_stacks({}, context).stack_names)
    for entry in include:
        assert select_stacks({"ENVIRONMENT_SUFFIX": entry["suffix"]}, context).stack_names == [entry["stack"]]
    assert _drift_job()["strategy"]["fail-fast"] is False  # one stack that cannot be checked does not hide the others


def test_the_drift_check_keeps_its_exit_code_and_writes_a_report():
    (check,) = [s for s in _drift_job()["steps"] if s.get("id") == "check"]
    run = check["run"]
    assert "bin/rehearse" in run and "make " not in run  # make turns 1 and 2 into its own 2
    assert '--target aws --until drift --drift-report "$RUNNER_TEMP/drift.json"' in run and '--stack "$STACK"' in run
    assert run.strip().splitlines()[0] == "set +e" and 'echo "exit-code=$?" >> "$GITHUB_OUTPUT"' in run


def _issue(stack: str, number: int = 5) -> dict:
    return {"number": number, "title": f"Drift: {stack} differs from the code", "body": f"{issue_marker(stack)}\nold table"}


def _run_drift_script(tmp_path: Path, *, code: str, report: DriftReport | None, issues: list[dict], stack: str = "orders-dev") -> dict:
    report_file = tmp_path / "drift.json"
    if report is not None:
        report_file.write_text(json.dumps(report.as_dict(), default=str))
    env = {"STACK": stack, "EXIT_CODE": code, "REPORT_FILE": str(report_file)}
    return run_github_script(script_of(_drift_job(), "Open, update or close"), env, {"listForRepo": issues})


def _calls(result: dict) -> list[str]:
    return [name for name, _ in result["calls"] if not name.startswith("paginate:")]


@pytest.fixture(scope="module")
def drifted() -> DriftReport:
    report = read_drift_report(json.loads((PLANS / "drift.json").read_text()), stack="orders-dev")
    assert report.status == DRIFTED
    return report


def test_exit_2_opens_one_issue_per_stack_with_the_drift_table(tmp_path, drifted):
    result = _run_drift_script(tmp_path, code="2", report=drifted, issues=[_issue("orders-prod")])  # another stack's issue is not this one's
    assert _calls(result) == ["issues.create"] and result["failed"] is None
    ((_, created),) = [c for c in result["calls"] if c[0] == "issues.create"]
    assert created["title"] == "Drift: orders-dev differs from the code" and created["labels"] == ["drift"]
    assert created["body"].startswith(issue_marker("orders-dev")) and "| `aws_sqs_queue.order-queue_391EF9A8` | `visibility_timeout_seconds` |" in created["body"]
    assert "[run](https://github.com/o/r/actions/runs/7)" in created["body"]
    assert result["warnings"] == [drifted.line()] and "Drift check" in result["summaries"][0]


def test_exit_2_updates_the_open_issue_instead_of_opening_another(tmp_path, drifted):
    result = _run_drift_script(tmp_path, code="2", report=drifted, issues=[_issue("orders-dev", number=9)])
    assert _calls(result) == ["issues.update"]
    ((_, update),) = [c for c in result["calls"] if c[0] == "issues.update"]
    assert update["issue_number"] == 9 and "visibility_timeout_seconds" in update["body"] and "state" not in update


def test_exit_0_closes_the_open_issue_with_a_comment_and_otherwise_does_nothing(tmp_path):
    clean = DriftReport(stack="orders-dev", status="clean")
    result = _run_drift_script(tmp_path, code="0", report=clean, issues=[_issue("orders-dev", number=9)])
    assert _calls(result) == ["issues.createComment", "issues.update"]
    closed = next(args for name, args in result["calls"] if name == "issues.update")
    assert closed == {"owner": "o", "repo": "r", "issue_number": 9, "state": "closed", "state_reason": "completed"}
    nothing_open = _run_drift_script(tmp_path, code="0", report=clean, issues=[])
    assert _calls(nothing_open) == [] and nothing_open["failed"] is None


@pytest.mark.parametrize(
    ("code", "status", "why"),
    [
        ("1", "error", "terraform could not plan (credentials, a state lock)"),
        ("2", None, "exit 2 without a report: argparse's bad arguments, not drift"),
        ("0", "error", "the exit code and the report disagree"),
        ("4", None, "the environment could not be set up"),
        ("", None, "the step never ran"),
    ],
)
def test_anything_else_is_an_error_that_fails_the_job_and_never_closes_an_issue(tmp_path, code, status, why):
    report = DriftReport(stack="orders-dev", status=status, error="Error acquiring the state lock") if status else None
    result = _run_drift_script(tmp_path, code=code, report=report, issues=[_issue("orders-dev")])
    assert _calls(result) == [], why
    assert result["failed"] and 'Not checked is not "no drift"' in result["failed"], why


# --------------------------------------------------------------------------- the workflows' own commands, run as written
def _run_step(run: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A step's ``run`` in bash as GitHub runs it (``bash --noprofile --norc -eo pipefail``), from the checkout.

    ``PYTHON=python3.11`` is dropped: it picks the runner's interpreter, and here the project's
    environment is already built.
    """
    script = run.replace("PYTHON=python3.11 ", "")
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=ROOT, env=clean_environ(**env), capture_output=True, text=True, timeout=900)


def _deploy_env(tmp_path: Path, terraform: Path) -> dict[str, str]:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    (temp / "merged-pull-request.md").write_text("<!-- #12 -->\nA routine change.\n")
    (temp / "commit-message.txt").write_text("Merge pull request #12\n")
    return {"RUNNER_TEMP": str(temp), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "STACK": "orders-dev", "ENVIRONMENT_SUFFIX": "dev", "TERRAFORM": str(terraform)}


def _deploy_steps() -> dict[str, str]:
    steps = _stack_job()["steps"]
    by_kind = {}
    for step in steps:
        run = step.get("run", "")
        for kind, marker in (("plan", "--until plan"), ("summary", "GITHUB_STEP_SUMMARY"), ("apply", "--apply-reviewed")):
            if marker in run:
                by_kind[kind] = run
    return by_kind


@pytest.mark.slow
def test_the_deploy_steps_as_written_plan_review_and_apply_exactly_the_reviewed_plan(tmp_path):
    outputs = {"ApiEndpoint": {"value": "https://abc.execute-api.us-east-1.amazonaws.com/v1", "type": "string", "sensitive": False}}
    terraform = fake_terraform(tmp_path / "terraform", plan_json=json.loads((PLANS / "routine.json").read_text()), outputs=outputs)
    env = _deploy_env(tmp_path, terraform)
    steps = _deploy_steps()
    plan = _run_step(steps["plan"], env)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-2000:]
    assert _run_step(steps["summary"], env).returncode == 0
    assert "Plan review: `orders-dev` · passed" in (tmp_path / "summary.md").read_text()
    applied = _run_step(steps["apply"], env)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-2000:]
    assert [c for c in calls(tmp_path / "terraform") if c.startswith("apply")] == ["apply -input=false -json first.tfplan"]
    # What the smoke step reads: `bin/ordersctl smoke --outputs "$RUNNER_TEMP/deploy/outputs.json" --stack "$STACK"`.
    assert load_outputs(Path(env["RUNNER_TEMP"]) / "deploy" / "outputs.json", stack="orders-dev").get("ApiEndpoint").endswith("/v1")


@pytest.mark.slow
def test_the_deploy_steps_as_written_stop_a_data_loss_change_and_never_apply_it(tmp_path):
    terraform = fake_terraform(tmp_path / "terraform", plan_json=json.loads((PLANS / "table-renamed.json").read_text()))
    env = _deploy_env(tmp_path, terraform)
    steps = _deploy_steps()
    assert _run_step(steps["plan"], env).returncode != 0
    assert _run_step(steps["summary"], env).returncode == 0  # if: always()
    assert "BLOCKED" in (tmp_path / "summary.md").read_text() and "allow-data-loss: aws_dynamodb_table.orders-table_B86164D2" in (tmp_path / "summary.md").read_text()
    refused = _run_step(steps["apply"], env)  # GitHub skips it after the failure; even run, it refuses
    assert refused.returncode != 0 and "the guard did not pass this plan" in refused.stdout
    assert not [c for c in calls(tmp_path / "terraform") if c.startswith("apply")]


@pytest.mark.slow
@pytest.mark.parametrize(("plan_exit", "init_exit", "expected_calls"), [(2, 0, ["issues.create"]), (1, 0, []), (0, 1, [])], ids=["drift", "plan-fails", "init-fails"])
def test_the_drift_steps_as_written_from_the_check_to_the_issue(tmp_path, plan_exit, init_exit, expected_calls):
    """drift.yml's check step in bash with a stand-in terraform, then its script with a stand-in GitHub: the whole nightly chain."""
    schema = json.loads((PLANS / "aws-schema.json").read_text())
    terraform = fake_terraform(tmp_path / "terraform", plan_exit=plan_exit, init_exit=init_exit, plan_json=json.loads((PLANS / "drift.json").read_text()), schema_json=schema)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    output = tmp_path / "github-output"
    env = {"RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output), "STACK": "orders-dev", "ENVIRONMENT_SUFFIX": "dev", "TERRAFORM": str(terraform)}
    (check,) = [s for s in _drift_job()["steps"] if s.get("id") == "check"]
    done = _run_step(check["run"], {**env, **check.get("env", {})})
    assert done.returncode == 0, done.stderr[-2000:]  # set +e: the exit code goes to the output, the next step decides
    code = dict(line.split("=", 1) for line in output.read_text().splitlines())["exit-code"]
    assert code == {2: "2", 1: "1", 0: "1"}[plan_exit if not init_exit else 0]
    result = run_github_script(script_of(_drift_job(), "Open, update or close"), {"STACK": "orders-dev", "EXIT_CODE": code, "REPORT_FILE": str(temp / "drift.json")}, {"listForRepo": []})
    assert _calls(result) == expected_calls
    assert (result["failed"] is None) == bool(expected_calls)
