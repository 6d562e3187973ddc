"""The deploy rehearsal, run for real: dev fully (apply to moto, use, re-plan, destroy), staging and prod to a plan."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.rehearsal.conftest import phase_lines, run_make_rehearse, state_resources

pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def dev_rehearsal(provider_source):
    """One full `make rehearse` of dev (about 4-5 minutes)."""
    return run_make_rehearse("dev", "")


def test_dev_rehearsal_passes_every_phase(dev_rehearsal):
    assert dev_rehearsal.returncode == 0, dev_rehearsal.stdout[-6000:] + dev_rehearsal.stderr[-3000:]
    phases = phase_lines(dev_rehearsal.stdout)
    assert list(phases) == ["synth", "prepare", "init", "validate", "emulator", "plan", "apply", "pipeline", "re-plan", "destroy"]
    assert all(line.startswith("[  ok]") and re.search(r"\d+\.\d s", line) for line in phases.values()), phases


def test_dev_rehearsal_applies_and_destroys_every_resource_with_no_real_change(dev_rehearsal, dev):
    summary = dev_rehearsal.stdout.strip().splitlines()[-1]
    expected = sum(len(resources) for resources in dev["resource"].values())
    assert f"planned to add {expected}" in summary and f"resources applied {expected}" in summary, summary
    assert f"resources destroyed {expected}" in summary, summary
    assert "real changes on re-plan 0" in summary, summary
    assert summary.startswith("PASSED")


def test_dev_rehearsal_lists_exactly_its_differences_from_what_ships(dev_rehearsal, provider_source):
    listed = [line.strip()[2:].split(":")[0] for line in dev_rehearsal.stdout.splitlines() if line.startswith("         - ")]
    differences = [d for d in listed if not d.startswith(("SQS ", "AWS managed"))]
    expected = ["backend", "provider endpoints", "Powertools layer of 2 function(s)"]
    if provider_source.differs_from_pin:
        expected.insert(1, "provider version")
        assert f"the stack pins {provider_source.pinned_version}" in dev_rehearsal.stdout
    assert differences[-len(expected):] == expected


def test_dev_rehearsal_leaves_nothing_behind(dev_rehearsal):
    port = int(re.search(r"moto on http://127\.0\.0\.1:(\d+)", dev_rehearsal.stdout).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the rehearsal's moto server is still running"
    assert "kept in" not in dev_rehearsal.stdout  # the temp dir (state, working copy) is gone after a pass
    assert not list(Path(__file__).resolve().parents[2].glob("**/rehearsal_override.tf.json"))


@pytest.mark.parametrize(("suffix", "stack"), [("staging", "orders-staging"), ("prod", "orders-prod"), ("account", "orders-account-us-east-1")])
def test_other_stacks_validate_and_plan(provider_source, suffix, stack, all_stacks):
    result = run_make_rehearse(suffix, "--until plan")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert list(phase_lines(result.stdout)) == ["synth", "prepare", "init", "validate", "emulator", "plan"]
    assert f"stack {stack}," in result.stdout.splitlines()[-1]
    expected = sum(len(resources) for resources in all_stacks[stack]["resource"].values())
    assert f"planned to add {expected}" in result.stdout.splitlines()[-1]


def test_failed_apply_reports_the_resource_and_error_cleans_up_and_exits_non_zero(provider_source, tmp_path):
    result = run_make_rehearse(
        "dev",
        f"--workdir {tmp_path} --no-pipeline-check",
        extra_env={"REHEARSAL_MOTO_REJECT_KMS_KEY": "1"},
    )
    out = result.stdout
    assert result.returncode != 0
    apply_line = phase_lines(out)["apply"]
    assert apply_line.startswith("[FAIL]")
    assert re.search(r"aws_kms_key\.encryption-key_[0-9A-F]+: creating KMS Key", out), out[-4000:]
    assert "rejected by the rehearsal's fault injection" in out
    assert phase_lines(out)["cleanup"].startswith("[  ok]")
    assert "re-plan" not in phase_lines(out) and out.strip().splitlines()[-2].startswith("FAILED")
    assert state_resources(tmp_path / "state" / "terraform.tfstate") == []
    port = int(re.search(r"moto on http://127\.0\.0\.1:(\d+)", out).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
