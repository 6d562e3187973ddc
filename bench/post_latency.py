"""Section "post": what the conflict check (one consistent GetItem before SendMessage) costs POST /orders.

The real API handler (``ApiFunction``) is invoked in-process against a local moto server, two ways,
interleaved request by request so drift in the machine's load hits both alike:

- **with the check** (as shipped): validate, GetItem (strongly consistent), SendMessage;
- **without it** (``OrderApiService(check_stored=False)``): validate, SendMessage.

Then the shipped handler again, through the local API over HTTP (sequential, one client), for the
latency a client sees locally. p50 / p95 / p99 of each; the cost of the check is the difference.
Against moto, not DynamoDB: the absolute figures are the emulator's, the difference is one round trip.
"""

from __future__ import annotations

import json
import time
import urllib.request

from bench.local_env import body, new_pipeline, order, quiet_logs, run_id
from bench.measure import BenchError, percentile


def _summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    if not ms:
        raise BenchError("post latency: no samples (requests must be at least 1)")
    p50, p95, p99 = (percentile(ms, pct) for pct in (50, 95, 99))
    assert p50 is not None and p95 is not None and p99 is not None  # samples are not empty
    return {"p50": p50, "p95": p95, "p99": p99, "max": max(ms), "n": len(ms)}


def bench_post_latency(runs: int, quick: bool, log) -> dict:
    """Run the section; returns its JSON-ready result."""
    quiet_logs()
    requests = 100 if quick else 400 * max(1, runs // 2)
    rid = run_id()
    with new_pipeline() as pipeline:
        pipeline.pause_processing()  # the processor would compete for the CPU; POST latency is the subject
        from api_handler.app import ApiFunction
        from local_pipeline.api_events import build_proxy_event, match_route
        from local_pipeline.lambda_context import LocalLambdaContext
        from orders_core.adapters import DynamoOrderRepository, SqsOrderQueue
        from orders_core.service import OrderApiService

        settings, clients = pipeline.handler_settings(), pipeline.api_clients
        unchecked = OrderApiService(
            queue=SqsOrderQueue(clients.sqs, settings.order_queue_url),
            repository=DynamoOrderRepository(clients.dynamodb, settings.orders_table_name),
            check_stored=False,
        )
        handlers = {"with_check": pipeline.api_function, "without_check": ApiFunction(lambda: unchecked)}
        stage = pipeline.options.stage_name
        route = match_route("POST", f"/{stage}/orders", stage)

        def invoke(name: str, index: int) -> float:
            event = build_proxy_event(
                method="POST",
                raw_path=f"/{stage}/orders",
                query_string="",
                headers=[("Content-Type", "application/json")],
                body=body(order(f"{rid}{name[:2]}", index)),
                route=route,
                stage=stage,
            )
            context = LocalLambdaContext(function_name=pipeline.names.api_handler_function, region=pipeline.region)
            start = time.perf_counter()
            result = handlers[name](event, context)
            elapsed = time.perf_counter() - start
            if result["statusCode"] != 202:
                raise BenchError(f"POST ({name}) answered {result['statusCode']}: {result['body'][:200]}")
            return elapsed

        for i in range(10):  # warm-up: first-use imports, the schema compile, keep-alive connections
            invoke("with_check", -1 - i), invoke("without_check", -1 - i)
        samples: dict[str, list[float]] = {"with_check": [], "without_check": []}
        for i in range(requests):
            first, second = ("with_check", "without_check") if i % 2 == 0 else ("without_check", "with_check")
            samples[first].append(invoke(first, i))
            samples[second].append(invoke(second, i))
        log(f"post: {requests} in-process POSTs each way done; now {requests // 2} over HTTP")
        http = []
        for i in range(requests // 2):
            request = urllib.request.Request(f"{pipeline.api_url}/orders", data=body(order(f"{rid}ht", i)), method="POST", headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                if response.status != 202:
                    raise BenchError(f"POST over HTTP answered {response.status}")
            http.append(time.perf_counter() - start)
    with_check, without_check = _summary_ms(samples["with_check"]), _summary_ms(samples["without_check"])
    result = {
        "requests_each": requests,
        "in_process_with_check_ms": with_check,
        "in_process_without_check_ms": without_check,
        "check_cost_ms": {k: round(with_check[k] - without_check[k], 2) for k in ("p50", "p95", "p99")},
        "http_with_check_ms": _summary_ms(http),
        "note": "real ApiFunction against a moto server on loopback (moto in a child process); in-process = handler call only "
        "(validation, GetItem if checked, SendMessage, response), interleaved; HTTP = through the local API, sequential",
    }
    log(f"post: p50 with check {with_check['p50']:.2f} ms, without {without_check['p50']:.2f} ms; p99 {with_check['p99']:.2f} / {without_check['p99']:.2f} ms")
    return json.loads(json.dumps(result))
