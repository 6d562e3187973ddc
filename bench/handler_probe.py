"""Child process of the handlers-init benchmark: one Lambda-like cold start of one handler; prints one JSON line.

``python bench/handler_probe.py api_handler`` measures ``import api_handler.app`` then the
handler's cached ``clients()`` (its three budgeted clients, main rung each) then its cached
``service()`` (settings + adapters), and lists which heavy modules and botocore data files got loaded.
"""

from __future__ import annotations

import os
import sys
import time

SPAWN_T = float(os.environ.get("BENCH_SPAWN_T", "nan"))
T_START = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "handlers"))
botocore_data: set[str] = set()


def _audit(event: str, args: tuple) -> None:
    # Which botocore service models are read from disk: the real cost of creating a client.
    if event == "open" and isinstance(args[0], str) and f"{os.sep}botocore{os.sep}data{os.sep}" in args[0]:
        rel = args[0].split(f"{os.sep}botocore{os.sep}data{os.sep}", 1)[1]
        botocore_data.add(rel.split(os.sep)[0] if os.sep in rel else rel)


sys.addaudithook(_audit)
name = sys.argv[1]
before = set(sys.modules)
t0 = time.perf_counter()
module = __import__(f"{name}.app", fromlist=["lambda_handler"])
t1 = time.perf_counter()
imported = set(sys.modules) - before
at_import = {m: m in sys.modules for m in ("boto3", "botocore", "aws_xray_sdk", "fastjsonschema")}
module.clients()
t2 = time.perf_counter()
service = getattr(module, "service", None)
if service is not None:
    service()
t3 = time.perf_counter()
top = {}
for m in sys.modules:
    root = m.split(".")[0]
    top[root] = top.get(root, 0) + 1
print(json.dumps({
    "startup_s": T_START - SPAWN_T,
    "import_s": t1 - t0,
    "clients_s": t2 - t1,
    "service_s": t3 - t2,
    "modules": len(sys.modules),
    "modules_imported_by_handler": len(imported),
    "boto3": "boto3" in sys.modules,
    "botocore_services": sorted(d for d in botocore_data if not d.endswith(".json")),
    "botocore_data_files": sorted(d for d in botocore_data if d.endswith(".json")),
    "fastjsonschema": "fastjsonschema" in sys.modules,
    "aws_xray_sdk": "aws_xray_sdk" in sys.modules,
    "pydantic": "pydantic" in sys.modules,
    "heaviest_packages": sorted(top.items(), key=lambda kv: -kv[1])[:8],
    "loaded_at_import": at_import,
    "end_t": time.perf_counter(),
    "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
