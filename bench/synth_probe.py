"""Child process of the synth benchmark: synthesizes like ``python main.py`` and reports where the time goes.

Run by ``bench.synth`` as ``python -X importtime bench/synth_probe.py OUTDIR``; prints
one JSON line. Phases are ``time.perf_counter`` marks (CLOCK_MONOTONIC on Linux,
so the parent's spawn time, passed in ``BENCH_SPAWN_T``, is on the same clock).
"""

from __future__ import annotations

import os
import sys
import time

SPAWN_T = float(os.environ.get("BENCH_SPAWN_T", "nan"))
T_START = time.perf_counter()

import atexit  # noqa: E402 -- after the clock starts: the probe times what comes next
import json  # noqa: E402 -- after the clock starts: the probe times what comes next
import resource  # noqa: E402 -- after the clock starts: the probe times what comes next
from collections import Counter  # noqa: E402 -- after the clock starts: the probe times what comes next
from pathlib import Path  # noqa: E402 -- after the clock starts: the probe times what comes next

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HANDLERS = str(ROOT / "handlers") + os.sep
SCHEMA = str(ROOT / "handlers" / "schemas" / "order.schema.json")

opens: Counter[str] = Counter()


def _audit(event: str, args: tuple) -> None:
    # Counts every open of a file under handlers/: how often the package is read/staged and the schema parsed.
    if event == "open" and isinstance(args[0], str) and args[0].startswith(HANDLERS):
        opens[args[0]] += 1


sys.addaudithook(_audit)


def _report_node_rss() -> None:
    # Registered before jsii is imported, so it runs after jsii's own atexit hook has
    # stopped and reaped node: RUSAGE_CHILDREN is then node's peak resident set.
    print(json.dumps({"node_max_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}), flush=True)


atexit.register(_report_node_rss)

marks: list[tuple[str, float]] = [("python start-up (interpreter + site)", T_START)]


def mark(label: str) -> None:
    marks.append((label, time.perf_counter()))


# The same jsii environment the app prepares (banner variables, the Node-side lazy provider
# index unless CDKTF_EAGER_PROVIDER_IMPORT=1), before node starts, so each phase below is
# timed as the app runs it.
from constructs_lib.support.jsii_env import prepare_jsii_environment  # noqa: E402 -- after the clock starts: the probe times what comes next

prepare_jsii_environment()

import importlib  # noqa: E402 -- after the clock starts: the probe times what comes next

from constructs_lib.support.framework_choice import selected_framework  # noqa: E402 -- after the clock starts (pure Python, not timed apart)

FRAMEWORK = selected_framework()
import jsii  # noqa: E402, F401 -- imported after the clock starts, to time the import itself

mark("import jsii (Python side of the runtime)")
import constructs  # noqa: E402, F401 -- imported after the clock starts, to time the import itself

mark("import constructs (spawns node + jsii kernel, loads constructs assembly)")
importlib.import_module(FRAMEWORK.core_module)  # cdktf or cdktn (FRAMEWORK)

mark("import the framework (its assembly + Python bindings)")
import constructs_lib.support.framework  # noqa: E402, F401 -- imported after the clock starts, to time the import itself
import constructs_lib.support.provider as provider  # noqa: E402 -- after the clock starts: the probe times what comes next

mark("import provider classes (AWS provider assembly + submodules)")
import stacks.app  # noqa: E402 -- after the clock starts: the probe times what comes next
import stacks.order_pipeline_stack  # noqa: E402 -- imported after the clock starts, to time the import itself

mark("import constructs_lib + stacks (project code)")
app = stacks.app.build_app(outdir=sys.argv[1])
mark("build construct tree (every stack)")
app.synth()
mark("app.synth() (resolve tokens, write JSON)")

phases = []
previous = SPAWN_T
for label, at in marks:
    phases.append({"phase": label, "seconds": round(at - previous, 4)})
    previous = at
handler_files = [p for p in opens if p != SCHEMA]
print(
    json.dumps(
        {
            "import_mode": provider.IMPORT_MODE,
            "phases": phases,
            "end_t": marks[-1][1],
            "python_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "provider_submodules_loaded": sum(1 for m in sys.modules if m.startswith(provider.PACKAGE + ".")),
            "modules_loaded": len(sys.modules),
            "schema_opens": opens.get(SCHEMA, 0),
            "handler_files": len(handler_files),
            "handler_file_opens": sum(opens[p] for p in handler_files),
            "stacks": len(list(Path(sys.argv[1], "stacks").iterdir())),
        }
    ),
    flush=True,
)
