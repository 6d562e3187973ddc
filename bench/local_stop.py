"""How long ``make local`` takes to stop after Ctrl-C: ``python -m bench.local_stop [--runs N]`` (docs/local_pipeline.md, "Stopping").

Each run starts ``make local`` in a session of its own, waits for the banner and 2 s more,
sends SIGINT to the whole process group (what a terminal's Ctrl-C does) and times the exit.
Standalone (not a ``python -m bench`` section): it measures one user-visible figure.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

from bench.measure import ROOT

#: The banner's example commands, the last lines printed once the pipeline is up.
EXAMPLE_LINES = 3


def stop_seconds() -> float:
    """Start ``make local``, Ctrl-C it once it is up; the seconds from the signal to its exit."""
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "local", "ARGS=--port 0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        seen = 0
        for line in proc.stdout:
            seen += line.startswith("  curl ")
            if seen == EXAMPLE_LINES:
                break
        else:
            raise SystemExit(f"make local exited before its banner (status {proc.wait()})")
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
        raise SystemExit(f"make local did not stop cleanly:\n{rest[-3000:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    """Measure ``--runs`` stops; print each, the median and the maximum."""
    parser = argparse.ArgumentParser(prog="python -m bench.local_stop", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="how many times to start and stop (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1 (given {args.runs})")
    load = os.getloadavg()[0]
    times = [stop_seconds() for _ in range(args.runs)]
    print(
        f"make local, Ctrl-C to exit: {', '.join(f'{t:.2f}' for t in times)} s; "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s ({args.runs} runs, load {load:.1f} at start)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
