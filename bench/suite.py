"""Section 5 (``--suite``): wall time of the test tiers as a developer runs them, and the full suite under the stock provider import."""

from __future__ import annotations

import re

from bench.measure import child_env, run
from bench.synth import EAGER

#: Left out by --quick: a third full suite run (minutes) that only compares provider import modes.
STOCK_RUN = "make test, stock provider import (CDKTF_EAGER_PROVIDER_IMPORT=1)"
#: label -> (command, extra environment). The make targets are what the README tells people to run.
RUNS: dict[str, tuple[list[str], dict[str, str]]] = {
    "make test-fast (fast tier)": (["make", "--no-print-directory", "test-fast"], {}),
    "make test (everything; what CI runs)": (["make", "--no-print-directory", "test"], {}),
    STOCK_RUN: (["make", "--no-print-directory", "test"], EAGER),
}


def bench_suite(runs: int, quick: bool, log) -> dict:
    """One run of each entry of ``RUNS`` (the full suite takes minutes; --quick: the two tiers only); returns the JSON-ready result."""
    out: dict = {
        "modes": {},
        "note": "one run each; the suite's own subprocesses (e.g. the lean-vs-stock synth comparison) set their own mode, so the stock run changes only the session synth and in-process imports",
    }
    for label, (command, env) in RUNS.items():
        if quick and label == STOCK_RUN:
            out["note"] += "; --quick: the stock-import run was left out"
            continue
        log(f"suite: {label}")
        # check=False: a failing test must not hide the timing; the summary line says what failed.
        result = run(command, env=child_env(env), timeout=3600, check=False)
        lines = [line for line in result.stdout.strip().splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
        out["modes"][label] = {"wall_s": round(result.wall_s, 1), "returncode": result.returncode, "summary": lines[-1].strip("= ") if lines else f"exit {result.returncode}"}
        log(f"suite: {label}: {result.wall_s:.0f}s, {out['modes'][label]['summary']}")
    return out
