"""Section ``soak`` (opt-in): the fault-injection soak at 10,000 orders (``local_pipeline.soak``).

Throughput, POST latency percentiles, faults injected per kind, and the invariants' verdict: every
202 stored as sent or in the DLQ with a reason, every stored order with an event, nothing stored
that was never sent, no 5xx but the designed 503. The test suite runs the same soak at about 500
orders (tests/e2e/test_soak.py); this is the long run.
"""

from __future__ import annotations

from bench.local_env import quiet_logs

#: Orders of the full run and of --quick.
ORDERS, QUICK_ORDERS = 10_000, 1_000


def bench_soak(runs: int, quick: bool, log, orders: int | None = None) -> dict:
    """One soak (``runs`` is ignored: one run is minutes, and its figures are counts, not timings to average)."""
    from local_pipeline.soak import SoakOptions, run_soak

    quiet_logs()
    options = SoakOptions(orders=orders or (QUICK_ORDERS if quick else ORDERS), drain_timeout_seconds=900)
    report = run_soak(options, log=log).as_dict()
    log(
        f"soak: {report['stored_as_sent']} stored as sent, {report['dlq_with_reason']} in the DLQ with a reason, {report['unaccounted']} unaccounted, "
        f"{report['fault_share']:.1%} of {report['aws_calls']} AWS calls faulted, {report['orders_per_s']} orders/s"
    )
    return {
        **report,
        "options": {"orders": options.orders, "fault_rate": options.fault_rate, "processors": options.processors, "clients": options.clients, "seed": options.seed},
        "note": "one LocalPipeline in this process (API, handlers, pollers, fault proxy share the GIL); moto in a child process; "
        "throughput = orders stored as sent / (first POST .. queue and unpublished index drained)",
    }
