"""Section 2, handler cold-start init: module import + client creation, each in a fresh subprocess."""

from __future__ import annotations

import json
import time

from bench.measure import PYTHON, ROOT, BenchError, child_env, run, summary

HANDLERS = ("api_handler", "order_processor")
PROBE = ROOT / "bench" / "handler_probe.py"

# What a Lambda container has at init: its function name (Powertools Tracer is on inside
# Lambda), region, the stack's env vars. Fake credentials: no call is made, clients only.
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "ORDERS_TABLE_NAME": "orders-bench",
    "ORDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/order-queue-bench",
    "ORDER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:order-events-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "OrderPipeline",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "LOG_LEVEL": "INFO",
}


def bench_handlers(runs: int, quick: bool, log) -> dict:
    """Run the handlers-init section; returns its JSON-ready result."""
    out: dict = {"runs": runs, "env": "Lambda-like: AWS_LAMBDA_FUNCTION_NAME set (Powertools Tracer enabled), fake credentials", "handlers": {}}
    samples: dict[str, list[dict]] = {h: [] for h in HANDLERS}
    # Warm-up (not counted): .pyc files and the OS page cache, as on a warm Lambda host.
    for handler in HANDLERS:
        try:
            _once(handler)
        except BenchError as error:
            out["handlers"][handler] = {"error": str(error)}
    for i in range(runs):
        for handler in HANDLERS:
            if handler in out["handlers"]:
                continue
            samples[handler].append(_once(handler))
    for handler, rows in samples.items():
        if not rows:
            continue
        last = rows[-1]
        out["handlers"][handler] = {
            "import_s": summary([r["import_s"] for r in rows]),
            "clients_s": summary([r["clients_s"] for r in rows]),
            "service_s": summary([r["service_s"] for r in rows]),
            "init_s": summary([r["import_s"] + r["clients_s"] + r["service_s"] for r in rows]),
            "startup_s": summary([r["startup_s"] for r in rows]),
            "process_wall_s": summary([r["wall_s"] for r in rows]),
            "exit_s": summary([r["exit_s"] for r in rows]),
            **{k: last[k] for k in ("loaded_at_import", "modules", "modules_imported_by_handler", "boto3", "botocore_services", "botocore_data_files", "fastjsonschema", "aws_xray_sdk", "pydantic", "heaviest_packages")},
            "max_rss_mib": max(r["max_rss_mib"] for r in rows),
        }
        log(f"handlers: {handler}: init {out['handlers'][handler]['init_s']['median'] * 1000:.0f} ms (median of {runs})")
    return out


def _once(handler: str) -> dict:
    env = child_env({**LAMBDA_ENV, "AWS_LAMBDA_FUNCTION_NAME": f"{handler}-bench", "BENCH_SPAWN_T": repr(time.perf_counter())})
    start = time.perf_counter()
    result = run([PYTHON, str(PROBE), handler], env=env, timeout=120)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["wall_s"] = result.wall_s
    data["exit_s"] = start + result.wall_s - data["end_t"]
    return data
