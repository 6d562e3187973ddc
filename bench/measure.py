"""Measurement primitives: run a child process and record its wall time and peak RSS; summarise samples."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# jsii's Node.js version banner is noise in every child's stderr.
QUIET_JSII = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}
# Variables that would change what a child measures (mode switches, a single environment).
_SCRUBBED = (
    "CDKTF_EAGER_PROVIDER_IMPORT",
    "CDKTF_LAZY_INDEX_DEBUG",
    "ENVIRONMENT_SUFFIX",
    "FRAMEWORK",
    "TF_AWS_PROVIDER_VERSION",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONDONTWRITEBYTECODE",
)


class BenchError(RuntimeError):
    """A benchmark child failed; the message carries its exit status and the tail of its stderr."""


@dataclass
class Run:
    """One child process: wall seconds (spawn to reap), peak RSS in MiB, exit code, output."""

    wall_s: float
    max_rss_mib: float
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a benchmark child: ours, minus mode switches, plus quiet jsii and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(QUIET_JSII)
    env.update(extra or {})
    return env


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 900, check: bool = True) -> Run:
    """Run ``cmd`` to completion; wall time from spawn to reap, peak RSS from ``os.wait4``.

    ``wait4``'s ``ru_maxrss`` is the largest resident set of the child or of any
    descendant it waited for (the jsii Node.js process is waited for at exit), so it
    is the peak of the single biggest process, not of the whole tree.
    """
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{time.monotonic_ns()}"
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env if env is not None else child_env(), stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not try to reap it again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    result = Run(wall, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)
    if check and result.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(cmd)} exited {result.returncode} after {wall:.1f}s:\n{tail}")
    return result


def median(values: list[float]) -> float | None:
    """Median, or None for no samples."""
    return statistics.median(values) if values else None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100), or None for no samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict:
    """Median, min, max and the samples themselves (rounded) for the JSON report."""
    return {
        "median": round(statistics.median(values), 4) if values else None,
        "min": round(min(values), 4) if values else None,
        "max": round(max(values), 4) if values else None,
        "samples": [round(v, 4) for v in values],
    }


def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def machine() -> dict:
    """The machine the figures were measured on."""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "node": _first_line(["node", "--version"]),
        "platform": platform.platform(),
    }


def dumps(data: object) -> str:
    """Stable JSON for results files."""
    return json.dumps(data, indent=2, sort_keys=False, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))
