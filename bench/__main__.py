"""``make bench ARGS="[--only synth,footprint,handlers,processor,post,pipeline,rehearsal,first-run,suite,soak] [--runs N] [--quick] [--suite] [--refs A,B]"``: measure, print the tables, write bench/results/latest.{json,md}."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.measure import ROOT, BenchError, dumps, machine
from bench.report import render_markdown, render_table
from pipeline_config.commands import make_usage

SECTIONS = ("synth", "footprint", "handlers", "processor", "post", "pipeline", "local-stop", "rehearsal")
# Run only when asked for with --only: first-run clones the repository and downloads everything
# again; suite (the same as --suite) runs the test suite three times (twice with --quick); soak
# sends 10,000 orders through injected faults (1,000 with --quick), minutes of both cores.
OPT_IN = ("first-run", "suite", "soak")
RESULTS_DIR = ROOT / "bench" / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; every problem with them is reported at once."""
    parser = argparse.ArgumentParser(prog="make bench", description="Measure the project (bench/README.md): print the tables, write bench/results/latest.json and latest.md.")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)}; also {','.join(OPT_IN)})")
    parser.add_argument("--runs", type=int, default=None, help="repetitions per measurement, median reported (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller loads, for a smoke check; figures are noisier")
    parser.add_argument("--suite", action="store_true", help="also time make test-fast, make test and make test with the stock provider import (slow)")
    parser.add_argument("--refs", default="HEAD", help="first-run: comma-separated git refs to clone and measure, e.g. 'main~3,HEAD' for before/after (default HEAD)")
    parser.add_argument("--rehearsal-stacks", default="dev,staging,prod,account", help="rehearsal: the environments rehearsed fresh (default all four); the dev upgrade rehearsal always runs")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where latest.json / latest.md go (default bench/results)")
    parser.usage = make_usage(parser, "bench")
    args = parser.parse_args(argv)
    problems = []
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS + OPT_IN]
    if unknown or not chosen:
        problems.append(f"--only: unknown section(s) {unknown or args.only!r}; choose from {','.join(SECTIONS + OPT_IN)}")
    args.ref_list = [r.strip() for r in args.refs.split(",") if r.strip()]
    if not args.ref_list:
        problems.append(f"--refs: give at least one git ref (given {args.refs!r})")
    args.rehearsal_stack_list = [s.strip() for s in args.rehearsal_stacks.split(",") if s.strip()]
    if args.runs is None:
        args.runs = 2 if args.quick else 5
    if args.runs < 1:
        problems.append(f"--runs must be at least 1 (given {args.runs})")
    if problems:
        parser.error("; ".join(problems))
    args.sections = [s for s in SECTIONS + OPT_IN if s in chosen]
    return args


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections, print the table, write latest.json and latest.md."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results: dict = {"machine": machine(), "options": {"sections": args.sections, "runs": args.runs, "quick": args.quick, "suite": args.suite, "refs": args.ref_list}, "sections": {}}
    # Sections not run this time keep their last figures (each carries when and how it was measured),
    # so `--only pipeline` does not erase the synth figures in latest.json.
    results["sections"] = _previous_sections(args.results_dir)
    failed = False
    for section in [*args.sections, *(["suite"] if args.suite and "suite" not in args.sections else [])]:
        log(f"== {section}")
        started = time.perf_counter()
        measured = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_avg_1m_at_start": round(os.getloadavg()[0], 2), "runs": args.runs, "quick": args.quick}
        try:
            results["sections"][section] = {**_run_section(section, args), "measured": measured}
        except BenchError as error:
            failed = True
            results["sections"][section] = {"error": str(error), "measured": measured}
            log(f"{section} FAILED: {error}")
        log(f"== {section} took {time.perf_counter() - started:.0f}s")
        _write(args.results_dir, results)  # after every section: a long run interrupted later keeps what it measured
    print(render_table(results))
    log(f"wrote {args.results_dir / 'latest.json'} and latest.md")
    return 1 if failed else 0


def _previous_sections(results_dir: Path) -> dict:
    try:
        previous = json.loads((results_dir / "latest.json").read_text())
    except (OSError, ValueError):
        return {}
    sections = previous.get("sections", {})
    for section in sections.values():
        # Figures from before sections were dated carry the whole run's date.
        section.setdefault("measured", {"date": previous.get("machine", {}).get("date", "unknown")})
    return sections


def _write(results_dir: Path, results: dict) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    results["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    (results_dir / "latest.json").write_text(dumps(results) + "\n")
    (results_dir / "latest.md").write_text(render_markdown(results))


def _run_section(section: str, args: argparse.Namespace) -> dict:
    # Imported per section: each is runnable alone and does not pay for the others' imports.
    if section == "synth":
        from bench.synth import bench_synth

        return bench_synth(args.runs, args.quick, log)
    if section == "footprint":
        from bench.footprint import bench_footprint

        return bench_footprint(args.runs, args.quick, log)
    if section == "first-run":
        from bench.first_run import bench_first_run

        return bench_first_run(args.ref_list, log)
    if section == "handlers":
        from bench.handlers_init import bench_handlers

        return bench_handlers(args.runs, args.quick, log)
    if section == "processor":
        from bench.processor import bench_processor

        return bench_processor(args.runs, args.quick, log)
    if section == "post":
        from bench.post_latency import bench_post_latency

        return bench_post_latency(args.runs, args.quick, log)
    if section == "pipeline":
        from bench.pipeline import bench_pipeline

        return bench_pipeline(args.runs, args.quick, log)
    if section == "local-stop":
        from bench.local_stop import bench_local_stop

        return bench_local_stop(args.runs, args.quick, log)
    if section == "rehearsal":
        from bench.rehearsal import bench_rehearsal

        return bench_rehearsal(args.runs, args.quick, log, stacks=args.rehearsal_stack_list)
    if section == "soak":
        from bench.soak import bench_soak

        return bench_soak(args.runs, args.quick, log)
    from bench.suite import bench_suite

    return bench_suite(args.runs, args.quick, log)


if __name__ == "__main__":
    sys.exit(main())
