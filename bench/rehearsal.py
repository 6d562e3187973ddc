"""Section "rehearsal": the deploy rehearsal's phases per stack (init, validate, plan, apply, re-plan, destroy), with resource counts.

Each stack is rehearsed fully (``python -m rehearsal --env <suffix>``) in its own child process,
twice (``--runs 1`` or ``--quick``: once); the median of each phase is reported. The ``pipeline`` phase (the handlers on
the applied resources) is measured too. Phase times come from the rehearsal's own per-phase
lines, so they are what a user sees.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

from bench.measure import PYTHON, BenchError, child_env, run

#: Stacks to rehearse: the three environments and the account-level stack.
SUFFIXES = ("dev", "staging", "prod", "account")
_PHASE = re.compile(r"^\[\s*(ok|FAIL)\]\s+(\S+)\s+([\d.]+) s\s+(.*)$")
_SUMMARY = re.compile(r"stack (\S+),.*?provider hashicorp/aws (\S+).*?planned to add (\d+).*?resources applied (\d+).*?real changes on re-plan (\d+).*?resources destroyed (\d+)")


def parse_rehearsal(stdout: str) -> dict[str, Any]:
    """Phase durations and the summary's counts from one rehearsal's output."""
    phases: dict[str, float] = {}
    failed = []
    for line in stdout.splitlines():
        match = _PHASE.match(line)
        if match:
            phases[match.group(2)] = float(match.group(3))
            if match.group(1) == "FAIL":
                failed.append(f"{match.group(2)}: {match.group(4)}")
    summary = next((line for line in reversed(stdout.splitlines()) if line.startswith(("PASSED", "FAILED"))), "")
    counts = _SUMMARY.search(summary)
    if failed or not counts:
        raise BenchError(f"rehearsal failed: {'; '.join(failed) or summary or stdout[-500:]}")
    stack, provider, planned, applied, real, destroyed = counts.groups()
    return {
        "stack": stack,
        "provider": provider,
        "phases_s": phases,
        "planned_to_add": int(planned),
        "applied": int(applied),
        "real_changes_on_replan": int(real),
        "destroyed": int(destroyed),
    }


def bench_rehearsal(runs: int, quick: bool, log) -> dict:
    """Rehearse every stack at most twice (once with --quick): one rehearsal takes minutes; medians per phase."""
    runs = 1 if quick else max(1, min(runs, 2))
    results: dict[str, Any] = {"runs": runs, "stacks": {}}
    for suffix in SUFFIXES:
        samples = []
        for index in range(runs):
            log(f"rehearsal {suffix} run {index + 1}/{runs}")
            done = run([PYTHON, "-m", "rehearsal", "--env", suffix], env=child_env(), timeout=1800, check=False)
            if done.returncode != 0:
                raise BenchError(f"make rehearse ENV={suffix} failed (exit {done.returncode}): {done.stdout[-1500:]}{done.stderr[-500:]}")
            samples.append(parse_rehearsal(done.stdout) | {"wall_s": done.wall_s, "max_rss_mib": done.max_rss_mib})
        first = samples[0]
        phases = {name: round(statistics.median(s["phases_s"][name] for s in samples), 2) for name in first["phases_s"]}
        results["stacks"][first["stack"]] = {
            "provider": first["provider"],
            "planned_to_add": first["planned_to_add"],
            "applied": first["applied"],
            "destroyed": first["destroyed"],
            "real_changes_on_replan": max(s["real_changes_on_replan"] for s in samples),
            "phases_median_s": phases,
            "wall_median_s": round(statistics.median(s["wall_s"] for s in samples), 1),
        }
    return results
