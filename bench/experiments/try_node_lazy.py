"""EXPERIMENT: lean synth with and without the Node.js lazy provider index; same JSON? how much faster/smaller?

``.venv/bin/python bench/experiments/try_node_lazy.py [RUNS]`` -- interleaved runs of
``python main.py`` (lean Python import) with and without
``NODE_OPTIONS=--require bench/experiments/node_lazy_provider_index.js``; prints medians
and whether every synthesized file is byte-identical.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.measure import PYTHON, child_env, run  # noqa: E402

HOOK = Path(__file__).resolve().parent / "node_lazy_provider_index.js"


def main() -> None:
    """Run the comparison and print it."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-node-lazy-"))
    variants = {"lean": {}, "lean + node lazy index": {"NODE_OPTIONS": f"--require {HOOK}", "BENCH_NODE_LAZY_DEBUG": "1"}}
    samples: dict[str, list] = {k: [] for k in variants}
    for i in range(runs):
        for label, extra in (variants.items() if i % 2 == 0 else reversed(variants.items())):
            out = tmp / f"{len(samples[label])}-{label.replace(' ', '_')}"
            r = run([PYTHON, "main.py"], env=child_env({**extra, "CDKTF_OUTDIR": str(out)}))
            if extra and "[lazy-index]" not in r.stderr:
                raise SystemExit("the hook did not engage (no [lazy-index] line on stderr)")
            samples[label].append((r.wall_s, r.max_rss_mib, out))
    a, b = samples["lean"][0][2], samples["lean + node lazy index"][0][2]
    files = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    identical = files == sorted(p.relative_to(b) for p in b.rglob("*.json")) and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    for label, rows in samples.items():
        print(f"{label:24s} wall median {statistics.median(r[0] for r in rows):6.2f}s  peak RSS (largest process) median {statistics.median(r[1] for r in rows):5.0f} MiB  samples {[round(r[0], 2) for r in rows]}")
    print(f"synthesized JSON byte-identical: {identical} ({len(files)} files)")


if __name__ == "__main__":
    main()
