"""Rehearsal tests run terraform for real; they skip only when terraform or a provider is truly unavailable.

A mirror that is present never leads to a skip: if init then fails, the test fails (the harness
itself reports "terraform init failed although the mirror ... holds hashicorp/aws").

The ``make rehearse`` commands of the suite run side by side (``RehearsalBatch``): most of a
rehearsal is the AWS provider waiting for SQS and KMS to settle, not CPU, so four at once take
little longer than the longest one. Each test names the commands it reads with the marker
``rehearsal_jobs``; the session starts exactly those the selected tests need.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rehearsal.toolchain import TERRAFORM_ENV_VAR, ProviderSource, choose_provider, find_terraform
from tests.project_copy import clean_environ, project_at_head_with

ROOT = Path(__file__).resolve().parents[2]
PINNED = "6.25.0"


def _registry_reachable() -> bool:
    try:
        with socket.create_connection(("registry.terraform.io", 443), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def provider_source() -> ProviderSource:
    """The provider the rehearsal will use; skips (one line, the reason) only without terraform or any provider."""
    if not (os.environ.get(TERRAFORM_ENV_VAR) or shutil.which("terraform")):
        pytest.skip("terraform is not installed (not on PATH, TERRAFORM unset): the deploy rehearsal needs it")
    find_terraform()  # installed but unusable (too old, broken) is a failure, not a skip
    source = choose_provider(PINNED)
    if source.kind == "registry" and not _registry_reachable():
        pytest.skip("no hashicorp/aws provider mirror on this machine and no route to registry.terraform.io")
    return source


def run_make_rehearse(env_suffix: str, args: str, *, extra_env: dict[str, str] | None = None, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    """``make rehearse ENV=<suffix> ARGS="<args>"``, literally as the README says."""
    env = {**os.environ, **(extra_env or {})}
    return subprocess.run(["make", "--no-print-directory", "rehearse", f"ENV={env_suffix}", f"ARGS={args}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def phase_lines(stdout: str) -> dict[str, str]:
    """``{phase: its line}`` from the rehearsal's output."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("[") and "]" in line[:7]:
            name = line[7:].split()[0]
            found[name] = line
    return found


def state_resources(state_file: Path) -> list[str]:
    """Managed resources recorded in a local state file."""
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    return [f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("mode") == "managed"]


# --------------------------------------------------------------------------- the suite's rehearsals, side by side
#: How many ``make rehearse`` run at once (REHEARSAL_TEST_PARALLEL overrides; 1 runs them one by one).
PARALLEL_ENV_VAR = "REHEARSAL_TEST_PARALLEL"
DEFAULT_PARALLEL = 4


@dataclass(frozen=True)
class Job:
    """One ``make rehearse ENV=<env_suffix> ARGS="<args>"``, in this checkout or in a copy with one change."""

    env_suffix: str
    args: str = ""
    extra_env: tuple[tuple[str, str], ...] = ()
    change: Callable[[Path], None] | None = None
    """Edits a copy of the project (committed first as its HEAD) before the rehearsal runs there."""
    keep_workdir: bool = False
    """Pass ``--workdir`` (a directory of its own) so the test can read the state and logs."""


@dataclass
class JobResult:
    """What one job printed and returned, and where it ran."""

    returncode: int
    stdout: str
    stderr: str
    project: Path
    workdir: Path | None
    seconds: float

    def tail(self) -> str:
        """The end of the output, for assertion messages."""
        return self.stdout[-6000:] + self.stderr[-3000:]


class RehearsalBatch:
    """Runs jobs ``parallel`` at a time, in the given order; ``result(name)`` waits for one."""

    def __init__(self, jobs: dict[str, Job], scratch: Path, parallel: int) -> None:
        self.jobs = jobs
        self.scratch = scratch
        self.parallel = max(1, parallel)
        self._results: dict[str, JobResult] = {}
        self._errors: dict[str, BaseException] = {}
        self._done = threading.Condition()
        self._slots = threading.Semaphore(self.parallel)
        self._processes: list[subprocess.Popen[str]] = []
        self._threads = [threading.Thread(target=self._run, args=(name,), daemon=True) for name in jobs]

    def start(self) -> None:
        """Start every job's thread; each waits for a free slot, in order."""
        for thread in self._threads:
            thread.start()
            time.sleep(0.05)  # keeps the slots taken in the jobs' order

    def _run(self, name: str) -> None:
        job = self.jobs[name]
        with self._slots:
            try:
                result = self._execute(name, job)
            except BaseException as error:  # noqa: BLE001 -- handed to the test that asks for this job
                with self._done:
                    self._errors[name] = error
                    self._done.notify_all()
                return
        with self._done:
            self._results[name] = result
            self._done.notify_all()

    def _execute(self, name: str, job: Job) -> JobResult:
        home = self.scratch / name
        home.mkdir(parents=True)
        project = project_at_head_with(job.change, home / "project") if job.change else ROOT
        workdir = home / "workdir" if job.keep_workdir else None
        args = " ".join(filter(None, [job.args, f"--workdir {workdir}" if workdir else ""]))
        command = ["make", "--no-print-directory", "rehearse", f"ENV={job.env_suffix}", f"ARGS={args}"]
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=project, env=clean_environ(**dict(job.extra_env)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._processes.append(process)
        stdout, stderr = process.communicate(timeout=2400)
        (home / "output.txt").write_text(f"$ {' '.join(command)}  (in {project})\n{stdout}\n--- stderr ---\n{stderr}", encoding="utf-8")
        return JobResult(process.returncode, stdout, stderr, project, workdir, time.monotonic() - started)

    def result(self, name: str) -> JobResult:
        """The job's result, once it has run (its error re-raised when it could not run)."""
        if name not in self.jobs:
            raise KeyError(f"job {name!r} was not started: mark the test with pytest.mark.rehearsal_jobs({name!r})")
        with self._done:
            self._done.wait_for(lambda: name in self._results or name in self._errors)
        if name in self._errors:
            raise self._errors[name]
        return self._results[name]

    def finished(self) -> dict[str, JobResult]:
        """The results so far, in the jobs' order."""
        with self._done:
            return {name: self._results[name] for name in self.jobs if name in self._results}

    def stop(self) -> None:
        """Stop whatever still runs (an interrupted session)."""
        for process in self._processes:
            if process.poll() is None:
                process.terminate()


@pytest.fixture(scope="session")
def rehearsals(request, provider_source, tmp_path_factory) -> Iterator[RehearsalBatch]:
    """The batch of every job the selected tests name with ``rehearsal_jobs``, started at once."""
    from tests.rehearsal.jobs import JOBS

    wanted: dict[str, Job] = {}
    for item in request.session.items:
        for marker in item.iter_markers("rehearsal_jobs"):
            for name in marker.args:
                wanted.setdefault(name, JOBS[name])
    ordered = {name: wanted[name] for name in JOBS if name in wanted}
    batch = RehearsalBatch(ordered, tmp_path_factory.mktemp("rehearsals"), int(os.environ.get(PARALLEL_ENV_VAR, DEFAULT_PARALLEL)))
    _BATCHES.append(batch)
    batch.start()
    yield batch
    batch.stop()


_BATCHES: list[RehearsalBatch] = []


def pytest_terminal_summary(terminalreporter) -> None:
    """What each rehearsal job cost, so every CI log carries the split (wall seconds, side by side)."""
    for batch in _BATCHES:
        done = batch.finished()
        if done:
            terminalreporter.write_sep("-", f"rehearsal jobs, {batch.parallel} at a time")
            for name, result in done.items():
                terminalreporter.write_line(f"{name:<28} {result.seconds:7.1f} s  exit {result.returncode}")
