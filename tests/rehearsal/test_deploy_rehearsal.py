"""The deploy rehearsal, run for real: dev fully (apply to moto, use, re-plan, destroy), staging, prod and the account stack to a reviewed plan."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.rehearsal.conftest import phase_lines, state_resources

pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def dev_rehearsal(rehearsals):
    """One full `make rehearse` of dev."""
    return rehearsals.result("fresh-dev")


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_passes_every_phase(dev_rehearsal):
    assert dev_rehearsal.returncode == 0, dev_rehearsal.tail()
    phases = phase_lines(dev_rehearsal.stdout)
    assert list(phases) == ["synth", "prepare", "init", "validate", "emulator", "plan", "apply", "pipeline", "re-plan", "drift", "destroy"]
    assert all(line.startswith("[  ok]") and re.search(r"\d+\.\d s", line) for line in phases.values()), phases


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_drift_check_reports_exactly_the_out_of_band_changes_then_none_after_apply(dev_rehearsal):
    """The nightly drift check (rehearsal/drift.py), rehearsed: a check that reports nothing when something changed fails this."""
    lines = dev_rehearsal.stdout.strip().splitlines()
    assert lines[-2] == "drift: 4 changed out of band, 4 reported, 0 after apply", lines[-3:]
    drift = dev_rehearsal.stdout[dev_rehearsal.stdout.index("] drift") : dev_rehearsal.stdout.index("] destroy")]
    reported = re.findall(r"reported: (\S+) (\S+): deployed", drift)
    assert sorted(reported) == sorted(
        [
            ("aws_sqs_queue.order-queue_391EF9A8", "visibility_timeout_seconds"),
            ("aws_cloudwatch_metric_alarm.alarms_api-5xx_3444BDC1", "threshold"),
            ("aws_dynamodb_table.orders-table_B86164D2", "tags.DriftCheck"),
            ("aws_cloudwatch_log_group.api-handler_log-group_FE397E4E", "(resource)"),
        ]
    ), drift
    assert re.search(r"apply of the code: 1 added, [34] changed, 0 destroyed", drift), drift  # the log group back; the others set back in place


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_applies_and_destroys_every_resource_with_no_change_at_all(dev_rehearsal, dev):
    summary = dev_rehearsal.stdout.strip().splitlines()[-1]
    assert summary.startswith("PASSED"), summary
    expected = sum(len(resources) for resources in dev["resource"].values())
    assert f"planned to add {expected}" in summary and f"resources applied {expected}" in summary, summary
    assert f"resources destroyed {expected}" in summary, summary
    # Not even emulator noise: moto answers in AWS's JSON format, and the stack writes what the provider keeps.
    assert "real changes on re-plan 0 (emulator noise 0)" in summary, summary
    assert summary.startswith("PASSED")


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_proves_the_key_s_deletion_window_and_has_nothing_else_to_refuse(dev_rehearsal):
    destroy = dev_rehearsal.stdout[dev_rehearsal.stdout.index("] destroy") :]
    assert re.search(r"the KMS deletion window held: key \S+ is pending deletion for 7 days, not deleted, and its deletion could still be cancelled", destroy)
    assert "prevent_destroy refused" not in destroy and "deletion protection refused" not in destroy


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_lists_exactly_its_differences_from_what_ships(dev_rehearsal, provider_source):
    listed = [line.strip()[2:].split(":")[0] for line in dev_rehearsal.stdout.splitlines() if line.startswith("         - ")]
    differences = [d for d in listed if not d.startswith(("SQS ", "AWS managed"))]
    expected = ["backend", "provider endpoints", "Powertools layer of 3 function(s)"]  # API handler, processor, event sweeper
    if provider_source.differs_from_pin:
        expected.insert(1, "provider version")
        assert f"the stack pins {provider_source.pinned_version}" in dev_rehearsal.stdout
    assert differences[-len(expected) :] == expected


@pytest.mark.rehearsal_jobs("fresh-dev")
def test_dev_rehearsal_leaves_nothing_behind(dev_rehearsal):
    found = re.search(r"moto on http://127\.0\.0\.1:(\d+)", dev_rehearsal.stdout)
    assert found, f"no moto address in the output:\n{dev_rehearsal.stdout}"
    port = int(found.group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the rehearsal's moto server is still running"
    assert "kept in" not in dev_rehearsal.stdout  # the temp dir (state, working copy) is gone after a pass
    assert not list(Path(__file__).resolve().parents[2].glob("**/rehearsal_override.tf.json"))


@pytest.mark.parametrize(
    ("job", "stack"),
    [
        pytest.param("plan-staging", "orders-staging", marks=pytest.mark.rehearsal_jobs("plan-staging")),
        pytest.param("plan-prod", "orders-prod", marks=pytest.mark.rehearsal_jobs("plan-prod")),
        pytest.param("plan-account", "orders-account-us-east-1", marks=pytest.mark.rehearsal_jobs("plan-account")),
    ],
)
def test_other_stacks_validate_and_plan_and_the_guard_reviews_the_plan(rehearsals, job, stack, all_stacks):
    result = rehearsals.result(job)
    assert result.returncode == 0, result.tail()
    assert list(phase_lines(result.stdout)) == ["synth", "prepare", "init", "validate", "emulator", "plan", "review"]
    assert f"stack {stack}," in result.stdout.splitlines()[-1]
    expected = sum(len(resources) for resources in all_stacks[stack]["resource"].values())
    assert f"planned to add {expected}" in result.stdout.splitlines()[-1]
    assert f"#### ✅ Plan review: `{stack}` · passed: no data-loss change" in result.stdout
    assert f"0 updated in place, 0 replaced, 0 destroyed, {expected} added" in result.stdout


@pytest.mark.rehearsal_jobs("failed-apply-dev")
def test_failed_apply_reports_the_resource_and_error_cleans_up_and_exits_non_zero(rehearsals):
    result = rehearsals.result("failed-apply-dev")
    out = result.stdout
    assert result.returncode != 0
    apply_line = phase_lines(out)["apply"]
    assert apply_line.startswith("[FAIL]")
    assert re.search(r"aws_kms_key\.encryption-key_[0-9A-F]+: creating KMS Key", out), out[-4000:]
    assert "rejected by the rehearsal's fault injection" in out
    assert phase_lines(out)["cleanup"].startswith("[  ok]")
    assert "re-plan" not in phase_lines(out) and out.strip().splitlines()[-2].startswith("FAILED")
    assert state_resources(result.workdir / "state" / "terraform.tfstate") == []
    found = re.search(r"moto on http://127\.0\.0\.1:(\d+)", out)
    assert found, f"no moto address in the output:\n{out}"
    port = int(found.group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
