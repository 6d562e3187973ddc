"""Section local-stop: how long ``make local`` takes to stop after Ctrl-C (docs/local_pipeline.md, "Stopping").

Each run starts ``make local`` in a session of its own, waits for the banner and 2 s more,
sends SIGINT to the whole process group (what a terminal's Ctrl-C does) and times the exit.
``make bench ARGS="--only local-stop --runs 6"``.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time

from bench.measure import ROOT, BenchError

#: The banner's example commands, the last lines printed once the pipeline is up.
EXAMPLE_LINES = 3


def stop_seconds() -> float:
    """Start ``make local``, Ctrl-C it once it is up; the seconds from the signal to its exit."""
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "local", "ARGS=--port 0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None  # Popen(stdout=PIPE)
    try:
        seen = 0
        for line in proc.stdout:
            seen += line.startswith("  curl ")
            if seen == EXAMPLE_LINES:
                break
        else:
            raise BenchError(f"make local exited before its banner (status {proc.wait()})")
        time.sleep(2)
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        rest = proc.stdout.read()
        proc.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    if "local pipeline stopped" not in rest or "Traceback" in rest:
        raise BenchError(f"make local did not stop cleanly:\n{rest[-3000:]}")
    return took


def bench_local_stop(runs: int, quick: bool, log) -> dict:
    """Run the local-stop section: ``runs`` starts and Ctrl-Cs of ``make local``; JSON-ready figures."""
    times = []
    for run in range(runs):
        times.append(stop_seconds())
        log(f"local-stop: run {run + 1}/{runs}: {times[-1]:.2f} s from Ctrl-C to exit")
    return {"runs_s": [round(t, 2) for t in times], "median_s": round(statistics.median(times), 2), "max_s": round(max(times), 2)}
