"""The entry point's delivery modes through a stand-in ``terraform`` (``tests.rehearsal.fake_terraform``): which phases run in which
order, the reviewed plan and nothing else is applied, the drift check's exit codes, and a drift phase that misses a change fails.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ordersctl.outputs import load_outputs
from rehearsal.__main__ import main
from rehearsal.deploy import REVIEW_RECORD
from rehearsal.drift_rehearsal import change_out_of_band
from rehearsal.errors import PhaseFailed
from rehearsal.plan_guard import review
from rehearsal.runner import FIRST_PLAN, Rehearsal, RehearsalOptions, WorkingCopy
from rehearsal.terraform_cli import read_state
from rehearsal.toolchain import Terraform
from tests.project_copy import ROOT, clean_environ
from tests.rehearsal.fake_terraform import calls, fake_terraform, runner

PLANS = Path(__file__).parent / "plans"


def _names(options: RehearsalOptions) -> list[str]:
    return [name for name, _ in Rehearsal(options)._steps(Terraform("terraform", "1.11.4"))]


# --------------------------------------------------------------------------- which phases, in which order
def test_a_full_rehearsal_checks_drift_after_the_re_plan_and_before_the_destroy():
    assert _names(RehearsalOptions())[-4:] == ["pipeline", "re-plan", "drift", "destroy"]
    assert "drift" not in _names(RehearsalOptions(drift_check=False))
    assert _names(RehearsalOptions(from_rev="HEAD"))[-4:] == ["pipeline", "re-plan", "drift", "destroy"]


def test_the_aws_modes_never_apply_what_the_guard_did_not_review():
    plan = _names(RehearsalOptions(target="aws", until="plan"))
    assert plan[-2:] == ["plan", "review"] and "apply" not in plan
    assert _names(RehearsalOptions(target="aws", apply_reviewed=Path("d"))) == ["reviewed", "apply"]
    drift = _names(RehearsalOptions(target="aws", until="drift"))
    assert drift == ["synth", "prepare", "init", "validate", "drift"]


def test_options_that_do_not_fit_together_are_refused_with_the_fix():
    problems = RehearsalOptions(until="drift").problems()
    assert [(p.setting, p.value) for p in problems] == [("until", "drift")] and problems[0].fix.startswith("add --target aws")
    assert any("--until drift" in p.fix for p in RehearsalOptions(drift_report_file=Path("r.json")).problems())
    assert any(p.fix == "--target aws --apply-reviewed DIR, nothing else" for p in RehearsalOptions(apply_reviewed=Path("d")).problems())
    assert any("--apply-reviewed" in p.fix for p in RehearsalOptions(target="aws", until="plan", outputs_file=Path("o.json")).problems())
    assert RehearsalOptions(target="aws", apply_reviewed=Path("d"), outputs_file=Path("o.json")).problems() == []


# --------------------------------------------------------------------------- plan, review, then apply exactly that plan
def _reviewed_workdir(tmp_path: Path, plan: dict[str, Any], **fake: Any) -> tuple[Path, Path]:
    """A workdir as ``--target aws --until plan --workdir`` leaves it: the saved plan and the review record."""
    binary = fake_terraform(tmp_path / "bin", plan_json=plan, outputs={"ApiEndpoint": {"value": "https://x.execute-api.us-east-1.amazonaws.com/v1", "type": "string", "sensitive": False}}, **fake)
    workdir = tmp_path / "deploy"
    work = workdir / "work"
    work.mkdir(parents=True)
    (work / "cdk.tf.json").write_text("{}")
    (work / FIRST_PLAN).write_bytes(b"the saved plan")
    rehearsal = Rehearsal(RehearsalOptions(target="aws", until="plan", workdir=workdir), out=io.StringIO())
    rehearsal.root = workdir
    rehearsal.report.stack = "orders-dev"
    rehearsal.copies["work"] = WorkingCopy("work", work, {}, runner(binary, work))
    rehearsal._last_plan = plan
    rehearsal._review()
    return workdir, binary


def _apply(workdir: Path, binary: Path, **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    values = {"target": "aws", "apply_reviewed": workdir, "environ": {"TERRAFORM": str(binary), "PATH": "/usr/bin:/bin"}, **options}
    report = Rehearsal(RehearsalOptions(**values), out=out).run()
    return report.exit_code, out.getvalue()


def test_the_review_is_recorded_with_the_plans_digest_and_the_apply_takes_exactly_that_plan(tmp_path):
    workdir, binary = _reviewed_workdir(tmp_path, {"resource_changes": []})
    record = json.loads((workdir / REVIEW_RECORD).read_text())
    assert record["stack"] == "orders-dev" and record["guard"]["ok"] and len(record["sha256"]) == 64
    outputs = tmp_path / "outputs.json"
    code, out = _apply(workdir, binary, outputs_file=outputs)
    assert code == 0, out
    assert [c for c in calls(tmp_path / "bin") if c.startswith("apply")] == [f"apply -input=false -json {FIRST_PLAN}"]
    assert "1 added, 2 changed, 0 destroyed" in out
    # The shape ordersctl reads: `bin/ordersctl smoke --outputs FILE --stack orders-dev`.
    assert load_outputs(outputs, stack="orders-dev").get("ApiEndpoint").startswith("https://")


def test_a_plan_that_changed_after_its_review_is_not_applied(tmp_path):
    workdir, binary = _reviewed_workdir(tmp_path, {"resource_changes": []})
    (workdir / "work" / FIRST_PLAN).write_bytes(b"another plan")
    code, out = _apply(workdir, binary)
    assert code == 1 and "not the plan the guard reviewed" in out
    assert not [c for c in calls(tmp_path / "bin") if c.startswith("apply")]


def test_a_plan_the_guard_blocked_is_never_applied(tmp_path):
    table = json.loads((PLANS / "table-renamed.json").read_text())
    binary = fake_terraform(tmp_path / "bin", plan_json=table)
    workdir = tmp_path / "deploy"
    (workdir / "work").mkdir(parents=True)
    (workdir / "work" / FIRST_PLAN).write_bytes(b"plan")
    rehearsal = Rehearsal(RehearsalOptions(target="aws", until="plan", workdir=workdir), out=io.StringIO())
    rehearsal.root, rehearsal.report.stack = workdir, "orders-dev"
    rehearsal.copies["work"] = WorkingCopy("work", workdir / "work", {}, runner(binary, workdir / "work"))
    rehearsal._last_plan = table
    with pytest.raises(PhaseFailed, match="the guard stopped the plan"):
        rehearsal._review()
    assert not review(table, stack="orders-dev").ok
    code, out = _apply(workdir, binary)
    assert code == 1 and "the guard did not pass this plan" in out and "allow-data-loss" in out
    assert not [c for c in calls(tmp_path / "bin") if c.startswith("apply")]


def test_applying_without_a_review_or_for_another_stack_is_refused_with_the_fix(tmp_path):
    binary = fake_terraform(tmp_path / "bin")
    code, out = _apply(tmp_path / "empty", binary)
    assert code == 1 and "no reviewed plan" in out and "--until plan --workdir" in out
    workdir, binary = _reviewed_workdir(tmp_path / "other", {"resource_changes": []})
    code, out = _apply(workdir, binary, suffix="prod")
    assert code == 1 and "is for orders-dev (--env dev), not for --env prod" in out


# --------------------------------------------------------------------------- the drift phase, when the check misses or adds something
class _Stub:
    """A boto3 client stand-in: records each call; describe_alarms answers one alarm."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __getattr__(self, name: str):
        def call(**kwargs: Any) -> Any:
            self.log.append(name)
            if name == "get_role":
                return {"Role": {"MaxSessionDuration": 3600}}
            if name == "describe_alarms":
                return {"MetricAlarms": [{"AlarmName": kwargs["AlarmNames"][0], "Threshold": 1.0, "MetricName": "5XXError", "Namespace": "AWS/ApiGateway"}]}
            return {}

        return call


class _Emulator:
    def __init__(self) -> None:
        self.log: list[str] = []

    def client(self, service: str, region: str) -> _Stub:
        return _Stub(self.log)


def _state(path: Path) -> None:
    def resource(rtype: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {"mode": "managed", "type": rtype, "name": name, "instances": [{"attributes": attributes}]}

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": 4,
                "resources": [
                    resource("aws_sqs_queue", "q", {"url": "https://sqs/q", "name": "order-queue-dev", "redrive_policy": "{}", "visibility_timeout_seconds": 180}),
                    resource("aws_cloudwatch_metric_alarm", "a", {"alarm_name": "orders-api-5xx-dev"}),
                    resource("aws_dynamodb_table", "t", {"arn": "arn:aws:dynamodb:us-east-1:1:table/orders-table-dev", "name": "orders-table-dev"}),
                    resource("aws_cloudwatch_log_group", "g", {"name": "/aws/lambda/orders-api-handler-dev"}),
                ],
            }
        )
    )


def _drift_entry(address: str, before: dict[str, Any], after: dict[str, Any] | None, actions: list[str]) -> dict[str, Any]:
    return {"address": address, "type": address.split(".")[0], "mode": "managed", "change": {"actions": actions, "before": before, "after": after}}


def _drift_phase(tmp_path: Path, entries: list[dict[str, Any]]) -> tuple[Rehearsal, _Emulator]:
    state = [{"address": e["address"], "mode": "managed", "type": e["type"], "values": e["change"]["after"] or {}} for e in entries]
    plan = {"resource_drift": entries, "prior_state": {"values": {"root_module": {"resources": state}}}}
    binary = fake_terraform(tmp_path / "bin", plan_exit=2, plan_json=plan, schema_json={"provider_schemas": {"registry.terraform.io/hashicorp/aws": {"resource_schemas": {}}}})
    rehearsal = Rehearsal(RehearsalOptions(), out=io.StringIO())
    rehearsal.root = tmp_path
    rehearsal.state_path = tmp_path / "state" / "terraform.tfstate"
    _state(rehearsal.state_path)
    rehearsal.report.stack = "orders-dev"
    rehearsal.copies["work"] = WorkingCopy("work", tmp_path / "work", {}, runner(binary, tmp_path / "work"))
    emulator = _Emulator()
    rehearsal.emulator = emulator  # type: ignore[assignment]  # a fake with the one method the drift phase calls
    return rehearsal, emulator


def test_the_out_of_band_changes_fit_an_environment_stack_and_the_account_stack(tmp_path):
    _state(tmp_path / "env.tfstate")
    emulator = _Emulator()
    made = change_out_of_band(read_state(tmp_path / "env.tfstate"), lambda service: emulator.client(service, "us-east-1"))
    assert [(c.address, c.path) for c in made] == [
        ("aws_sqs_queue.q", "visibility_timeout_seconds"),
        ("aws_cloudwatch_metric_alarm.a", "threshold"),
        ("aws_dynamodb_table.t", "tags.DriftCheck"),
        ("aws_cloudwatch_log_group.g", "(resource)"),
    ]
    account = tmp_path / "account.tfstate"
    account.write_text(
        json.dumps(
            {
                "version": 4,
                "resources": [{"mode": "managed", "type": "aws_iam_role", "name": "r", "instances": [{"attributes": {"name": "orders-apigw-cloudwatch-us-east-1", "max_session_duration": 3600}}]}],
            }
        )
    )
    made = change_out_of_band(read_state(account), lambda service: emulator.client(service, "us-east-1"))
    assert [(c.address, c.path) for c in made] == [("aws_iam_role.r", "tags.DriftCheck"), ("aws_iam_role.r", "max_session_duration"), ("aws_iam_role.r", "description")]


FOUND = [
    _drift_entry("aws_sqs_queue.q", {"visibility_timeout_seconds": 180}, {"visibility_timeout_seconds": 187}, ["update"]),
    _drift_entry("aws_cloudwatch_metric_alarm.a", {"threshold": 1}, {"threshold": 2}, ["update"]),
    _drift_entry("aws_dynamodb_table.t", {"tags_all": {}}, {"tags_all": {"DriftCheck": "changed-outside-terraform"}}, ["update"]),
]


def test_a_drift_check_that_misses_a_change_fails_the_phase_and_names_it(tmp_path):
    rehearsal, emulator = _drift_phase(tmp_path, FOUND)  # the deleted log group is not reported: the silent shape
    assert rehearsal._phase("drift", rehearsal._drift) is False
    assert isinstance(rehearsal.out, io.StringIO)  # _drift_phase's
    assert "missed (changed, not reported): aws_cloudwatch_log_group.g (resource)" in rehearsal.out.getvalue()
    assert {"set_queue_attributes", "put_metric_alarm", "tag_resource", "delete_log_group"} <= set(emulator.log)


def test_a_drift_check_that_reports_more_than_was_changed_fails_the_phase(tmp_path):
    extra = _drift_entry("aws_sns_topic.t", {"display_name": ""}, {"display_name": "x"}, ["update"])
    deleted = _drift_entry("aws_cloudwatch_log_group.g", {"name": "/aws/lambda/orders-api-handler-dev"}, None, ["delete"])
    rehearsal, _ = _drift_phase(tmp_path, [*FOUND, deleted, extra])
    assert rehearsal._phase("drift", rehearsal._drift) is False
    assert isinstance(rehearsal.out, io.StringIO)  # _drift_phase's
    assert "unexpected (reported, not changed): aws_sns_topic.t display_name" in rehearsal.out.getvalue()


# --------------------------------------------------------------------------- the nightly command, literally (bin/rehearse keeps the exit codes)
def _bin_rehearse(tmp_path: Path, binary: Path) -> tuple[int, dict[str, Any] | None, str]:
    report = tmp_path / "drift.json"
    command = [str(ROOT / "bin" / "rehearse"), "--env", "dev", "--stack", "orders-dev", "--target", "aws", "--until", "drift", "--drift-report", str(report)]
    done = subprocess.run(command, cwd=tmp_path, env=clean_environ(TERRAFORM=str(binary)), capture_output=True, text=True, timeout=600)
    return done.returncode, json.loads(report.read_text()) if report.exists() else None, done.stdout + done.stderr


@pytest.mark.slow
def test_bin_rehearse_until_drift_exits_2_on_drift_0_when_clean_and_1_when_it_cannot_plan(tmp_path):
    schema = json.loads((PLANS / "aws-schema.json").read_text())
    drifted = fake_terraform(tmp_path / "drift", plan_exit=2, plan_json=json.loads((PLANS / "drift.json").read_text()), schema_json=schema)
    code, report, out = _bin_rehearse(tmp_path / "drift", drifted)
    assert code == 2, out
    assert report is not None and report["status"] == "drift" and len(report["drifts"]) == 4 and "orders-dev: 4 resource(s) drifted" in out
    clean_plan = {"resource_drift": [], "prior_state": json.loads((PLANS / "drift.json").read_text())["prior_state"]}
    clean = fake_terraform(tmp_path / "clean", plan_exit=0, plan_json=clean_plan, schema_json=schema)
    code, report, out = _bin_rehearse(tmp_path / "clean", clean)
    assert (code, report and report["status"]) == (0, "clean"), out
    no_credentials = fake_terraform(tmp_path / "locked", init_exit=1, stderr="Error: No valid credential sources found")
    code, report, out = _bin_rehearse(tmp_path / "locked", no_credentials)
    assert code == 1, out
    assert report is not None and report["status"] == "error" and "init" in report["error"]


def test_main_returns_the_drift_exit_code_and_argparse_errors_stay_2(capsys):
    with pytest.raises(SystemExit) as bad:
        main(["--until", "drift", "--drift-report", "r.json"])  # no --target aws
    assert bad.value.code == 2 and "add --target aws" in capsys.readouterr().err
