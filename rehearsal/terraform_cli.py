"""Run terraform in a working copy: logs kept per command, errors read from its machine-readable output."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: How ``TerraformRunner`` waits for terraform: ``wait(process, timeout_seconds) -> (stdout, stderr)``,
#: raising ``subprocess.TimeoutExpired`` at the deadline. Tests inject one that times out at once.
Waiter = Callable[["subprocess.Popen[str]", float], "tuple[str, str]"]
#: How often a long -json command (a rehearsal apply takes about a minute) says how far it is.
PROGRESS_INTERVAL_SECONDS = 15.0


def communicate(process: subprocess.Popen[str], timeout_seconds: float) -> tuple[str, str]:
    """The real wait: ``Popen.communicate`` with the deadline."""
    return process.communicate(timeout=timeout_seconds)


@dataclass(frozen=True)
class Diagnostic:
    """An error Terraform reported, with the resource it concerns when it names one."""

    summary: str
    detail: str = ""
    address: str = ""

    def describe(self) -> str:
        """``<address>: <summary> - <detail>`` on one or a few lines."""
        where = f"{self.address}: " if self.address else ""
        detail = " ".join(self.detail.split())
        return f"{where}{self.summary}" + (f"\n      {detail[:600]}" if detail else "")


@dataclass
class RunResult:
    """What one terraform command did."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    log: Path
    timed_out: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    """Resources still being created/destroyed when the command ended (a hang, a timeout)."""
    changes: dict[str, int] = field(default_factory=dict)
    """``change_summary`` of an apply/destroy: add, change, remove."""
    seconds: float = 0.0
    """How long the command ran (also the last line of its log)."""

    @property
    def ok(self) -> bool:
        """Exit 0 and no timeout."""
        return self.returncode == 0 and not self.timed_out

    def failure(self) -> str:
        """The errors, the resources left in progress, and where the full log is."""
        lines = [d.describe() for d in self.diagnostics]
        if self.timed_out:
            lines.insert(0, "timed out")
        if self.in_progress:
            lines.append("still in progress: " + ", ".join(self.in_progress))
        if not lines:
            tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-15:]
            lines = tail or [f"exit code {self.returncode}"]
        lines.append(f"full log: {self.log}")
        return "\n    ".join(lines)


class TerraformRunner:
    """``terraform <command>`` in one directory, with one environment, each run logged to a file."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        logdir: Path,
        env: Mapping[str, str],
        *,
        wait: Waiter = communicate,
        clock: Callable[[], float] = time.monotonic,
        counter: list[int] | None = None,
        progress: Callable[[str], None] | None = None,
        progress_interval_seconds: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        """``progress``: called with a line every ``progress_interval_seconds`` while a ``-json`` command (apply, destroy, plan) runs."""
        self.progress = progress
        self.progress_interval_seconds = progress_interval_seconds
        self.binary = binary
        self.workdir = workdir
        self.logdir = logdir
        self.env = dict(env)
        self._wait = wait
        self._clock = clock
        # Runners of several working copies share one counter, so their logs sort in the order they ran.
        self._counter = counter if counter is not None else [0]

    def run(self, *args: str, timeout_seconds: float = 900, json_stream: bool = False) -> RunResult:
        """Run ``terraform <args>``; with ``json_stream`` parse the ``-json`` UI messages (apply, destroy, plan)."""
        self._counter[0] += 1
        log = self.logdir / f"{self._counter[0]:02d}-{args[0]}{'-' + self.workdir.name if self.workdir.name != 'work' else ''}.log"
        started = self._clock()
        # A -json command's stdout goes to a file the ticker can read while it runs (a pipe is
        # read only at the end); other commands keep the pipe.
        if json_stream and self.progress:
            with tempfile.NamedTemporaryFile("w+", dir=self.logdir, prefix=log.stem + "-", suffix=".stdout") as stream:
                process, _, stderr, timed_out = self._run_process(args, timeout_seconds, stream)
                stream.seek(0)
                stdout = stream.read()
        else:
            process, stdout, stderr, timed_out = self._run_process(args, timeout_seconds, None)
        seconds = self._clock() - started
        log.write_text(f"$ terraform {' '.join(args)}\n{stdout}\n--- stderr ---\n{stderr}\n--- {seconds:.1f} s, exit {process.returncode} ---\n", encoding="utf-8")
        result = RunResult(args=tuple(args), returncode=process.returncode, stdout=stdout, stderr=stderr, log=log, timed_out=timed_out, seconds=seconds)
        if json_stream:
            _read_json_stream(stdout, result)
        return result

    def _run_process(self, args: tuple[str, ...], timeout_seconds: float, stream: IO[str] | None) -> tuple[subprocess.Popen[str], str, str, bool]:
        """Start terraform, wait (ticking progress while ``stream`` fills), kill its group on timeout or Ctrl-C: (process, stdout, stderr, timed out)."""
        process = subprocess.Popen(
            [self.binary, *args],
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=stream if stream is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a timeout kills terraform AND its provider plugin
        )
        ticker = ProgressTicker(self.progress, args[0], Path(stream.name), self.progress_interval_seconds) if stream is not None and self.progress else None
        timed_out = False
        try:
            if ticker is not None:
                ticker.start()
            stdout, stderr = self._wait(process, timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            stdout, stderr = process.communicate()
        except BaseException:
            # Ctrl-C reaches only us (terraform runs in its own session): stop it before the
            # runner's cleanup destroys what was applied and stops moto.
            _kill_group(process)
            raise
        finally:
            if ticker is not None:
                ticker.stop()
        return process, stdout, stderr, timed_out

    def show_json(self, plan_file: str | None = None) -> dict[str, Any]:
        """``terraform show -json [plan]`` parsed; RuntimeError when it fails."""
        result = self.run("show", "-json", *([plan_file] if plan_file else []), timeout_seconds=300)
        if not result.ok:
            raise RuntimeError(f"terraform show -json failed: {result.failure()}")
        return json.loads(result.stdout or "{}")


@dataclass(frozen=True)
class StreamProgress:
    """How far a ``terraform <command> -json`` run is, from the messages it wrote so far."""

    planned: int = 0
    """Changes announced (``planned_change``); 0 before terraform has listed them."""
    done: int = 0
    in_progress: int = 0
    failed: int = 0
    refreshed: int = 0

    @classmethod
    def of(cls, text: str) -> StreamProgress:
        """Count the complete JSON lines of ``text`` (a partial last line is left for the next look)."""
        counts = dict.fromkeys(("planned_change", "apply_start", "apply_complete", "apply_errored", "refresh_complete"), 0)
        for line in text.splitlines():
            try:
                kind = json.loads(line).get("type")
            except (ValueError, AttributeError):
                continue
            if kind in counts:
                counts[kind] += 1
        ended = counts["apply_complete"] + counts["apply_errored"]
        return cls(counts["planned_change"], counts["apply_complete"], counts["apply_start"] - ended, counts["apply_errored"], counts["refresh_complete"])

    def describe(self) -> str:
        """``31/55 resources done, 3 in progress`` (what applies to this run)."""
        parts = []
        if self.planned or self.done or self.in_progress:
            parts.append(f"{self.done}/{self.planned} resources done" if self.planned else f"{self.done} resources done")
            parts.append(f"{self.in_progress} in progress")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.refreshed and not parts:
            parts.append(f"{self.refreshed} resources refreshed")
        return ", ".join(parts) or "still planning, no resource changed yet"


class ProgressTicker:
    """Says every ``interval_seconds`` how far a running ``terraform <command> -json`` is, read from its stdout file."""

    def __init__(self, say: Callable[[str], None], command: str, stream: Path, interval_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._say, self._command, self._stream, self._interval, self._clock = say, command, stream, interval_seconds, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def line(self) -> str:
        """The progress line now: ``apply: 42 s, 31/55 resources done, 3 in progress``."""
        try:
            text = self._stream.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        return f"{self._command}: {self._clock() - self._started:.0f} s, {StreamProgress.of(text).describe()}"

    def start(self) -> None:
        """Start ticking in a daemon thread."""
        self._started = self._clock()
        self._thread = threading.Thread(target=self._run, name=f"terraform-{self._command}-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._say(self.line())

    def stop(self) -> None:
        """Stop ticking (no line after this returns)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(frozen=True)
class StateResource:
    """One managed resource instance in a state file: its address, type and attributes."""

    address: str
    type: str
    attributes: Mapping[str, Any]


def read_state(state_file: Path) -> list[StateResource]:
    """The managed resource instances of a local state file (none when it does not exist yet).

    Read straight from the file (format version 4): ``terraform show -json`` would load the
    provider's schema first, seconds per call, for the same addresses and attributes.
    """
    try:
        state = json.loads(Path(state_file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    found = []
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = ".".join(filter(None, [resource.get("module", ""), f"{resource['type']}.{resource['name']}"]))
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            suffix = "" if key is None else f"[{json.dumps(key)}]"
            found.append(StateResource(address=base + suffix, type=resource["type"], attributes=instance.get("attributes", {})))
    return found


def _read_json_stream(stdout: str, result: RunResult) -> None:
    started: dict[str, None] = {}
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        kind = message.get("type")
        hook = message.get("hook", {})
        address = hook.get("resource", {}).get("addr", "")
        if kind == "apply_start" and address:
            started[address] = None
        elif kind in ("apply_complete", "apply_errored") and address:
            started.pop(address, None)
        elif kind == "change_summary":
            result.changes = dict(message.get("changes", {}))
        elif kind == "diagnostic" and message.get("@level") == "error":
            diag = message.get("diagnostic", {})
            result.diagnostics.append(Diagnostic(summary=diag.get("summary", ""), detail=diag.get("detail", ""), address=diag.get("address", "")))
    result.in_progress = list(started)
    if not result.diagnostics and result.returncode and result.stderr.strip():
        # Errors before the JSON UI starts (bad flags, a broken working copy) come as plain text.
        result.diagnostics.append(Diagnostic(summary=result.stderr.strip().splitlines()[0], detail="\n".join(result.stderr.strip().splitlines()[1:])))


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def terraform_env(base: Mapping[str, str], cli_config: Path | None, data_dir: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment terraform runs with: quiet, non-interactive, our CLI config (or none)."""
    env = dict(base)
    env.update({"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    if cli_config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    elif env.get("TF_CLI_CONFIG_FILE") and not os.path.exists(env["TF_CLI_CONFIG_FILE"]):
        env.pop("TF_CLI_CONFIG_FILE")  # a missing file only makes terraform warn on every command
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env
