"""TerraformRunner: errors read from terraform's -json stream, hangs stopped, every run logged."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from rehearsal.terraform_cli import TerraformRunner


def _fake_terraform(tmp_path: Path, script: str) -> str:
    binary = tmp_path / "terraform"
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return str(binary)


def _runner(tmp_path: Path, script: str) -> TerraformRunner:
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    return TerraformRunner(_fake_terraform(tmp_path, script), work, logs, {"PATH": "/usr/bin:/bin"})


def test_a_failed_apply_names_the_resource_and_the_provider_error_and_what_was_left_in_progress(tmp_path):
    lines = [
        {"type": "apply_start", "hook": {"resource": {"addr": "aws_sqs_queue.q"}}},
        {"type": "apply_start", "hook": {"resource": {"addr": "aws_kms_key.k"}}},
        {"type": "apply_errored", "hook": {"resource": {"addr": "aws_kms_key.k"}}},
        {"type": "diagnostic", "@level": "error", "diagnostic": {"summary": "creating KMS Key", "detail": "AccessDenied:\n  no", "address": "aws_kms_key.k"}},
        {"type": "change_summary", "changes": {"add": 0, "change": 0, "remove": 0}},
    ]
    payload = "\n".join(json.dumps(line) for line in lines).replace("'", "'\\''")
    runner = _runner(tmp_path, f"printf '%s\\n' '{payload}'\nexit 1\n")
    result = runner.run("apply", "-json", json_stream=True)
    assert not result.ok and result.in_progress == ["aws_sqs_queue.q"]
    failure = result.failure()
    assert "aws_kms_key.k: creating KMS Key" in failure and "AccessDenied: no" in failure
    assert "still in progress: aws_sqs_queue.q" in failure and f"full log: {result.log}" in failure
    assert result.log.read_text().startswith("$ terraform apply -json")


@pytest.mark.slow
def test_a_hang_is_stopped_at_the_timeout_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    # The provider plugin is a child of terraform: the whole process group must go.
    runner = _runner(tmp_path, f"sleep 60 &\necho $! > {pid_file}\nsleep 60\n")
    started = time.monotonic()
    result = runner.run("apply", timeout_seconds=2)
    assert result.timed_out and not result.ok and "timed out" in result.failure()
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child), "terraform's child process outlived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its dead parent's reaper) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_plain_text_errors_before_the_json_ui_are_kept(tmp_path):
    runner = _runner(tmp_path, "echo 'Error: Failed to load plugin schemas' >&2\necho 'detail line' >&2\nexit 1\n")
    result = runner.run("apply", "-json", json_stream=True)
    assert "Error: Failed to load plugin schemas" in result.failure()
