"""The bench's soak section: reachable the way the README says (make bench ARGS="--only soak"), and its result renders."""

from __future__ import annotations

from bench.__main__ import parse_args
from bench.report import render_markdown, render_table, soak_tables

RESULT = {
    "requests": 11410,
    "orders": 10000,
    "statuses": {"202": 11380, "409": 20, "503": 10},
    "accepted_202": 10300,
    "stored_as_sent": 10000,
    "dlq_with_reason": 290,
    "unaccounted": 0,
    "violations": [],
    "aws_calls": 52000,
    "faults": {"stall": 520, "trickle": 510},
    "fault_share": 0.1,
    "dlq_messages": 400,
    "events": 14000,
    "orders_per_s": 6.1,
    "post_latency_ms": {"p50": 600.0, "p95": 2500.0, "p99": 3300.0, "max": 6000.0},
    "poller_crashes": 80,
    "sweeps": 900,
    "swept_events": 1500,
    "traffic_s": 1600.0,
    "total_s": 1650.0,
    "drained": True,
    "options": {"orders": 10000, "fault_rate": 0.1, "processors": 8, "clients": 24, "seed": 21},
}


def test_the_soak_is_an_opt_in_section():
    assert parse_args(["--only", "soak"]).sections == ["soak"]
    assert "soak" not in parse_args([]).sections  # minutes of both cores: only when asked for


def test_the_soak_result_renders_its_verdict_faults_and_throughput():
    outcome, faults = soak_tables(RESULT)
    rows = {row[0]: row[1] for row in outcome[2]}
    assert rows["unaccounted"] == "0" and rows["invariants broken"] == "0"
    assert "6.1 orders/s" in rows["throughput"] and "600 ms" in rows["POST latency p50 / p95 / p99 / max"]
    assert faults[2] == [["stall", "520"], ["trickle", "510"]]
    results = {
        "machine": {"nproc": 2, "cpu": "x", "ram_gib": 4, "python": "3.11", "node": "20", "date": "d", "platform": "p", "load_avg_1m_at_start": 1.0},
        "options": {},
        "sections": {"soak": RESULT},
    }
    assert "Fault-injection soak" in render_table(results) and "## Soak: faults injected per kind" in render_markdown(results)
