"""Section 4, local pipeline: POST /orders latency at concurrency C, and end-to-end throughput (202 until stored).

Loopback only. The LocalPipeline (local API, API handler, moto server, poller, processor)
runs in this process; the load generator (bench/load_client.py) in a child process.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

from bench.local_env import new_pipeline, quiet_logs, run_id
from bench.measure import PYTHON, ROOT, BenchError, child_env, percentile

CLIENT = ROOT / "bench" / "load_client.py"


def bench_pipeline(runs: int, quick: bool, log, requests: int | None = None, concurrency: int | None = None) -> dict:
    """Run the pipeline section; returns its JSON-ready result."""
    quiet_logs()
    requests = requests or (200 if quick else 2000)
    concurrency = concurrency or (20 if quick else 100)
    rid = run_id()
    with new_pipeline() as pipeline:
        dynamodb = pipeline.client("dynamodb")

        accepted_ids: set[str] = set()

        def stored_count() -> int:
            # Only orders whose POST got a 202 count: a POST answered 503 may still have
            # reached the queue (and be stored), which must not make the wait end early.
            total, kwargs = 0, {"TableName": pipeline.table_name, "ProjectionExpression": "orderId"}
            while True:
                page = dynamodb.scan(**kwargs)
                total += sum(1 for item in page["Items"] if item["orderId"]["S"] in accepted_ids)
                if "LastEvaluatedKey" not in page:
                    return total
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        baseline = 0
        log(f"pipeline: {requests} POSTs at concurrency {concurrency} from a child process")
        client = subprocess.Popen([PYTHON, str(CLIENT), pipeline.api_url, str(requests), str(concurrency), rid], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), text=True)
        stdout, stderr = client.communicate(timeout=max(300, requests))
        if client.returncode != 0:
            raise BenchError(f"load client exited {client.returncode}: {stderr[-1000:]}")
        load = json.loads(stdout.strip().splitlines()[-1])
        results = load["results"]
        first_post, posts_done = load["started"], load["finished"]  # perf_counter: CLOCK_MONOTONIC, same clock here
        statuses = Counter(r[0] for r in results)
        accepted = statuses.get(202, 0)
        accepted_ids.update(f"bench-{rid}-{r[4]:06d}" for r in results if r[0] == 202)
        latencies_ms = [r[2] * 1000 for r in results if r[0] == 202]
        connects_ms = [r[3] * 1000 for r in results if r[0] == 202]
        log(f"pipeline: POSTs done in {posts_done - first_post:.1f}s ({dict(statuses)}); waiting until stored")
        stored, last_change, dlq = _wait_until_stored(pipeline, stored_count, baseline, accepted, log)
        queue_after = pipeline.queue_depths()
    if not latencies_ms:
        raise BenchError(f"no POST returned 202: {dict(statuses)}")
    end_to_end = last_change - first_post
    result = {
        "requests": requests,
        "concurrency": concurrency,
        "accepted": accepted,
        "other_statuses": {str(k): v for k, v in statuses.items() if k != 202},
        "post_phase_s": round(posts_done - first_post, 3),
        "post_rate_per_s": round(requests / (posts_done - first_post), 1),
        "post_latency_ms": {
            "p50": percentile(latencies_ms, 50),
            "p95": percentile(latencies_ms, 95),
            "p99": percentile(latencies_ms, 99),
            "max": max(latencies_ms),
            "over_1s": sum(1 for v in latencies_ms if v > 1000),
        },
        "tcp_connect_ms": {
            "p50": percentile(connects_ms, 50),
            "p99": percentile(connects_ms, 99),
            "max": max(connects_ms),
            "over_1s": sum(1 for c in connects_ms if c > 1000),
        },
        "client_errors": dict(Counter(load["errors"])),
        "stored": stored,
        "dlq_messages": dlq,
        "queue_after_wait": queue_after,
        "end_to_end_s": round(end_to_end, 3),
        "orders_per_s": round(stored / end_to_end, 1),
        "note": "throughput = accepted (202) orders stored / (first POST sent .. last increase of that count, polled every second); "
        "API, handlers and poller share one Python process (GIL); moto runs in a child process; the load generator is a separate process",
    }
    log(f"pipeline: p50 {result['post_latency_ms']['p50']:.0f} ms, p99 {result['post_latency_ms']['p99']:.0f} ms, {result['orders_per_s']} orders/s")
    return result


def _wait_until_stored(pipeline, stored_count, baseline: int, accepted: int, log, stall_seconds: float = 45) -> tuple[int, float, int]:
    """Poll until every accepted order is stored, or the queue is idle and nothing was stored for ``stall_seconds``.

    Returns (stored, time of the last increase, DLQ depth). Polls once a second: a scan
    of the whole table runs inside the emulator and competes with the pipeline for the GIL.
    """
    stored, last_change, last_log = stored_count() - baseline, time.perf_counter(), time.perf_counter()
    while stored < accepted:
        time.sleep(1)
        now_stored = stored_count() - baseline
        now = time.perf_counter()
        if now_stored != stored:
            stored, last_change = now_stored, now
        if now - last_log >= 15:
            log(f"pipeline: {stored}/{accepted} stored; queue {pipeline.queue_depths()}")
            last_log = now
        if now - last_change > stall_seconds:
            log(f"pipeline: no progress for {stall_seconds:.0f}s; stopping the wait with {stored}/{accepted} stored")
            break
    dlq = pipeline.queue_depths().get("dlq_visible", 0)
    return stored, last_change, dlq
