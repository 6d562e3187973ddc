"""Section "rehearsal": the deploy rehearsal's phases per stack (init, validate, plan, apply, re-plan, drift, destroy), with resource counts, and an upgrade rehearsal's.

Each stack is rehearsed fully (``python -m rehearsal --env <suffix>``) in its own child process,
twice (``--runs 1`` or ``--quick``: once); the median of each phase is reported. The ``pipeline`` phase (the handlers on
the applied resources) is measured too. Phase times come from the rehearsal's own per-phase
lines, so they are what a user sees.

The upgrade rehearsal is the suite's handler-change scenario (``tests/rehearsal/jobs.py``): a copy
of this checkout committed as its own HEAD, the processor edited on top, ``python -m rehearsal
--from HEAD`` there (dev). Its phases (base, seed, upgrade-plan, review, upgrade, verify next to
the fresh ones) and its upgrade line are reported beside the fresh rehearsals.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from pathlib import Path
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
    upgrade = next((line for line in stdout.splitlines() if line.startswith("upgrade from ")), "")
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
        **({"upgrade": upgrade} if upgrade else {}),
    }


def _samples(label: str, command: list[str], runs: int, log, cwd: Path | None = None) -> list[dict[str, Any]]:
    samples = []
    for index in range(runs):
        log(f"rehearsal {label} run {index + 1}/{runs}")
        done = run(command, env=child_env(), timeout=1800, check=False, **({"cwd": cwd} if cwd else {}))
        if done.returncode != 0:
            raise BenchError(f"{label} failed (exit {done.returncode}): {done.stdout[-1500:]}{done.stderr[-500:]}")
        samples.append(parse_rehearsal(done.stdout) | {"wall_s": done.wall_s, "max_rss_mib": done.max_rss_mib})
    return samples


def _medians(samples: list[dict[str, Any]]) -> dict[str, Any]:
    first = samples[0]
    return {
        "provider": first["provider"],
        "planned_to_add": first["planned_to_add"],
        "applied": first["applied"],
        "destroyed": first["destroyed"],
        "real_changes_on_replan": max(s["real_changes_on_replan"] for s in samples),
        "phases_median_s": {name: round(statistics.median(s["phases_s"][name] for s in samples), 2) for name in first["phases_s"]},
        "wall_median_s": round(statistics.median(s["wall_s"] for s in samples), 1),
        **({"upgrade": first["upgrade"]} if "upgrade" in first else {}),
    }


def bench_rehearsal(runs: int, quick: bool, log, stacks: list[str] | None = None) -> dict:
    """Rehearse each stack (``stacks``, default all four), then the handler-change upgrade of dev, at most twice each (once with --quick); medians per phase."""
    runs = 1 if quick else max(1, min(runs, 2))
    results: dict[str, Any] = {"runs": runs, "stacks": {}}
    for suffix in stacks or SUFFIXES:
        samples = _samples(suffix, [PYTHON, "-m", "rehearsal", "--env", suffix], runs, log)
        results["stacks"][samples[0]["stack"]] = _medians(samples)
    from tests.project_copy import project_at_head_with
    from tests.rehearsal.jobs import change_a_handler

    with tempfile.TemporaryDirectory(prefix="bench-upgrade-") as scratch:
        project = project_at_head_with(change_a_handler, Path(scratch) / "project")
        samples = _samples("upgrade dev (handler change)", [PYTHON, "-m", "rehearsal", "--env", "dev", "--from", "HEAD"], runs, log, cwd=project)
    results["upgrade"] = {"orders-dev, handler change, --from HEAD": _medians(samples)}
    return results
