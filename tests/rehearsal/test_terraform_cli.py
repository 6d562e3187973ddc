"""TerraformRunner: errors read from terraform's -json stream, hangs stopped, every run logged with its duration.

No test here measures time: the deadline is injected (``wait``), durations come from an injected
clock, and the only bound left is a safety net on waiting for a killed process's exit event.
"""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import threading
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


def _hanging_terraform(tmp_path: Path) -> tuple[TerraformRunner, Path]:
    """A terraform that starts a child (as terraform starts its provider plugin) and hangs.

    It writes the child's pid into a FIFO: reading it blocks until the hang has begun, an event,
    with no clock involved.
    """
    fifo = tmp_path / "child.pid"
    os.mkfifo(fifo)
    return _runner(tmp_path, f"sleep 60 &\necho $! > {fifo}\nsleep 60\n"), fifo


def _gone(pid: int, safety_seconds: float = 30) -> bool:
    """True once ``pid`` has exited (or was never there), waiting for its exit event.

    The bound is a safety net so a kill that failed fails the test instead of hanging it; it
    measures nothing (a healthy run returns at once).
    """
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], safety_seconds)
        return bool(readable)
    finally:
        os.close(handle)


def test_at_the_deadline_terraform_and_its_children_are_stopped_and_the_timeout_reported(tmp_path):
    runner, fifo = _hanging_terraform(tmp_path)
    child: list[int] = []

    def deadline_passes(process, timeout_seconds):
        # The injected wait: once the hang has begun, the deadline has passed.
        child.append(int(fifo.read_text()))
        raise subprocess.TimeoutExpired(process.args, timeout_seconds)

    runner._wait = deadline_passes
    result = runner.run("apply", timeout_seconds=900)
    assert result.timed_out and not result.ok and "timed out" in result.failure()
    assert result.log.read_text().startswith("$ terraform apply")
    assert _gone(child[0]), "terraform's child process outlived the timeout"


@pytest.mark.slow
def test_the_real_wait_enforces_the_timeout(tmp_path):
    # Behaviour, not speed: without a working timeout the fake terraform would exit 0 after 60 s.
    runner, fifo = _hanging_terraform(tmp_path)
    reader = threading.Thread(target=lambda: child.append(int(fifo.read_text())))
    child: list[int] = []
    reader.start()
    result = runner.run("apply", timeout_seconds=1)
    reader.join()
    assert result.timed_out and not result.ok
    assert _gone(child[0]), "terraform's child process outlived the timeout"


def test_each_run_logs_its_duration_from_the_injected_clock(tmp_path):
    ticks = iter([100.0, 102.5])
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    runner = TerraformRunner(_fake_terraform(tmp_path, "echo fine\n"), work, logs, {"PATH": "/usr/bin:/bin"}, clock=lambda: next(ticks))
    result = runner.run("validate")
    assert result.ok and result.seconds == 2.5
    assert result.log.read_text().rstrip().endswith("--- 2.5 s, exit 0 ---")


def test_plain_text_errors_before_the_json_ui_are_kept(tmp_path):
    runner = _runner(tmp_path, "echo 'Error: Failed to load plugin schemas' >&2\necho 'detail line' >&2\nexit 1\n")
    result = runner.run("apply", "-json", json_stream=True)
    assert "Error: Failed to load plugin schemas" in result.failure()


def test_stream_progress_counts_what_terraform_announced_started_and_finished():
    from rehearsal.terraform_cli import StreamProgress

    kinds = ["planned_change"] * 4 + ["apply_start"] * 3 + ["apply_complete", "apply_errored"]
    text = "\n".join(json.dumps({"type": kind}) for kind in kinds) + '\n{"type": "apply_st'  # a line still being written
    progress = StreamProgress.of(text)
    assert progress.describe() == "1/4 resources done, 1 in progress, 1 failed"
    assert StreamProgress.of("").describe() == "still planning, no resource changed yet"
    assert StreamProgress.of(json.dumps({"type": "refresh_complete"})).describe() == "1 resources refreshed"


def test_a_long_json_command_says_how_far_it_is_while_it_runs(tmp_path):
    """Given an apply that stops half-way until the test lets it go, a progress line reports the half; the run's stdout is whole."""
    import queue

    release = tmp_path / "release"
    os.mkfifo(release)
    first = [{"type": "planned_change"}] * 3 + [{"type": "apply_start"}, {"type": "apply_complete"}, {"type": "apply_start"}]
    last = [{"type": "apply_complete"}, {"type": "apply_start"}, {"type": "apply_complete"}, {"type": "change_summary", "changes": {"add": 3, "change": 0, "remove": 0}}]
    quoted = ["\n".join(json.dumps(line) for line in part).replace("'", "'\\''") for part in (first, last)]
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    lines: queue.Queue[str] = queue.Queue()
    script = f"printf '%s\\n' '{quoted[0]}'\nread go < {release}\nprintf '%s\\n' '{quoted[1]}'\n"
    runner = TerraformRunner(_fake_terraform(tmp_path, script), work, logs, {"PATH": "/usr/bin:/bin"}, progress=lines.put, progress_interval_seconds=0.05)
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("result", runner.run("apply", "-json", json_stream=True)))
    thread.start()
    try:
        seen = lines.get(timeout=30)
        while "1/3 resources done, 1 in progress" not in seen:
            seen = lines.get(timeout=30)
        assert seen.startswith("apply: ") and " s, 1/3 resources done" in seen
    finally:
        with open(release, "w") as fifo:
            fifo.write("go\n")
        thread.join(timeout=30)
    result = outcome["result"]
    assert result.ok and result.changes == {"add": 3, "change": 0, "remove": 0}
    assert result.stdout.count('"type": "apply_complete"') == 3 and result.log.read_text().count("apply_complete") == 3
    assert not list(logs.glob("*.stdout"))  # the stream file is gone with the run
