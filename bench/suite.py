"""Section 5 (``--suite``): wall time of the whole test suite, lean provider import vs the stock one."""

from __future__ import annotations

import re

from bench.measure import PYTHON, child_env, run
from bench.synth import EAGER

MODES = {"ours (lean import)": {}, "stock (CDKTF_EAGER_PROVIDER_IMPORT=1)": EAGER}


def bench_suite(runs: int, quick: bool, log) -> dict:
    """One run of ``python -m pytest -q -p no:cacheprovider`` per mode (it takes minutes); returns the JSON-ready result."""
    out: dict = {"modes": {}, "note": "one run per mode; the suite's own subprocesses (e.g. the lean-vs-eager synth comparison test) set their own mode, so only the session synth and in-process imports change"}
    for label, env in MODES.items():
        log(f"suite: {label}")
        # check=False: a failing test must not hide the timing; the summary line says what failed.
        result = run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], env=child_env(env), timeout=3600, check=False)
        lines = [line for line in result.stdout.strip().splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
        out["modes"][label] = {"wall_s": round(result.wall_s, 1), "returncode": result.returncode, "summary": lines[-1].strip("= ") if lines else f"exit {result.returncode}"}
        log(f"suite: {label}: {result.wall_s:.0f}s, {out['modes'][label]['summary']}")
    return out

