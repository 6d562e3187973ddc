"""Stopping ``make local``, literally: whoever gets the signal first, it ends in seconds, says so once, and leaves no moto behind.

Each test starts the command in a session of its own (as a terminal runs a foreground job),
waits for the banner, then delivers the signal the way the failure shape has it: Ctrl-C (SIGINT
to the whole process group, ``make`` included), SIGTERM to the Python parent only, or the moto
child killed first. The timeouts are generous on purpose (a loaded machine); the measured figures
are in docs/local_pipeline.md, "Stopping".
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from local_pipeline.__main__ import STOPPED_LINE, try_commands
from tests.project_copy import clean_environ

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
STOP_TIMEOUT_SECONDS = 10
LOCAL_COMMAND = [sys.executable, "-m", "local_pipeline"]


class RunningPipeline:
    """A ``make local`` (or ``python -m local_pipeline``) started in its own session, its output read in a thread."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=clean_environ(PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None  # Popen(stdout=PIPE)
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        """Everything read so far."""
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 90) -> list[str]:
        """Read until the banner's last example command; return the example commands."""
        expected = len(try_commands("http://x"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            commands = [c.strip() for c in self.lines if c.startswith("  curl ")]
            if len(commands) == expected:
                return commands
        raise AssertionError(f"no banner within {timeout} s:\n{self.output[-3000:]}")

    @property
    def moto_pid(self) -> int:
        """The moto child's pid, from the banner's emulator line."""
        match = re.search(r"AWS emulator .*\(moto, pid (\d+);", self.output)
        assert match, self.output
        return int(match.group(1))

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_SECONDS) -> tuple[int, float]:
        """Wait for the exit; (status, seconds taken). The rest of the output lands in ``lines``."""
        started = time.monotonic()
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout} s after the signal:\n{self.output[-3000:]}") from None
        took = time.monotonic() - started
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return status, took

    def kill(self) -> None:
        """Kill whatever is left of the session (a failed test must not leave a pipeline running)."""
        for pid in session_processes(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def session_processes(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies excluded), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(int(stat.parent.name))
    return found


def assert_stopped_cleanly(run: RunningPipeline, moto_pid: int, *, orders: int = 0) -> None:
    """One "stopped" line with the order count, no traceback, no moto and nothing else of the session left."""
    assert run.output.count(STOPPED_LINE) == 1, run.output[-3000:]
    assert f"{STOPPED_LINE} ({orders} orders processed)" in run.output
    assert "Traceback" not in run.output, run.output[-5000:]
    assert "make: ***" not in run.output, run.output[-2000:]
    assert not Path(f"/proc/{moto_pid}").exists() or "Z" in Path(f"/proc/{moto_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert session_processes(run.proc.pid) == [], "processes left behind"


@pytest.fixture
def started():
    """Start a pipeline command in its own session; kill what is left afterwards."""
    runs: list[RunningPipeline] = []

    def start(command: list[str]) -> RunningPipeline:
        runs.append(RunningPipeline(command))
        return runs[-1]

    yield start
    for run in runs:
        run.kill()


def test_ctrl_c_on_make_local_stops_everything_in_seconds(started):
    """Ctrl-C: SIGINT to the whole foreground group (make, the pipeline); moto, in its own group, is stopped by the pipeline."""
    run = started(["make", "--no-print-directory", "local", "ARGS=--port 0 --suffix stopgroup"])
    run.wait_ready()
    moto = run.moto_pid
    # moto has a process group of its own: the terminal's Ctrl-C cannot take it down before the poller and the API.
    assert os.getpgid(moto) != run.proc.pid
    os.killpg(run.proc.pid, signal.SIGINT)
    status, took = run.wait_stopped()
    # make re-raises the SIGINT it got (the shell's convention for an interrupted job); the pipeline itself exited 0.
    assert status in (0, -signal.SIGINT), (status, run.output[-2000:])
    assert_stopped_cleanly(run, moto)
    print(f"make local stopped {took:.2f} s after Ctrl-C")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_pipeline_process_only_stops_moto_too(started, signum):
    """``kill <pid>`` (or a closed terminal) reaches only the Python parent: it stops moto itself."""
    run = started([*LOCAL_COMMAND, "--port", "0", "--suffix", "stopparent"])
    run.wait_ready()
    moto = run.moto_pid
    run.proc.send_signal(signum)
    status, took = run.wait_stopped()
    assert status == 0, run.output[-2000:]
    assert_stopped_cleanly(run, moto)
    print(f"{signal.Signals(signum).name}: stopped in {took:.2f} s")


def test_the_emulator_dying_first_stops_the_pipeline_with_an_error(started):
    """moto killed under it: the pipeline says which dependency died, stops, exits 1; it neither hangs nor prints a traceback."""
    run = started([*LOCAL_COMMAND, "--port", "0", "--suffix", "stopmoto"])
    run.wait_ready()
    moto = run.moto_pid
    os.kill(moto, signal.SIGKILL)
    status, took = run.wait_stopped()
    assert status == 1, run.output[-2000:]
    assert re.search(rf"error: the moto server \(pid {moto}, http://127\.0\.0\.1:\d+\) was killed by SIGKILL", run.output), run.output
    assert_stopped_cleanly(run, moto)
    print(f"moto killed: stopped in {took:.2f} s")


def test_the_printed_example_commands_work_pasted_at_once(started):
    """The banner's curl lines, pasted as one script: the POST, then the GET that waits for the asynchronous processing."""
    run = started([*LOCAL_COMMAND, "--port", "0", "--suffix", "stoptry"])
    commands = run.wait_ready()
    moto = run.moto_pid
    pasted = subprocess.run(["bash", "-e", "-c", "\n".join(commands)], capture_output=True, text=True, timeout=120)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    stored = [line for line in pasted.stdout.splitlines() if '"orderId": "order-0001"' in line or '"orderId":"order-0001"' in line]
    assert len(stored) == 3, pasted.stdout  # the POST's answer, then the GET of the order and the customer's list hold it
    os.killpg(run.proc.pid, signal.SIGINT)
    run.wait_stopped()
    assert_stopped_cleanly(run, moto, orders=1)
