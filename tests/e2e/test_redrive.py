"""Redrive: orders dead-lettered while a dependency failed are stored once the operator redrives the DLQ."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.client_errors import client_error
from tests.e2e.conftest import IDLE_TIMEOUT
from tests.e2e.support import events_per_order, new_order, post_order, stored_items, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


def wait_for_dlq_depth(pipeline, depth: int, timeout: float = IDLE_TIMEOUT) -> None:
    """Until the DLQ holds ``depth`` visible messages (SQS moves them after maxReceiveCount receives)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pipeline.queue_depths()["dlq_visible"] >= depth:
            return
        time.sleep(0.2)
    raise TimeoutError(f"DLQ did not reach {depth} messages in {timeout} s: {pipeline.queue_depths()}")


def test_orders_dead_lettered_by_a_failing_table_are_stored_after_an_ordersctl_redrive(pipeline, hooks, tmp_path):
    # given two accepted orders whose write the table refuses on every delivery, until SQS dead-letters them
    customer = unique("cust")
    orders = [new_order(customer) for _ in range(2)]
    refused = {order["orderId"] for order in orders}

    def refuse(params, **_):
        if params["Item"]["orderId"]["S"] in refused:
            raise client_error("AccessDeniedException", "PutItem", message="injected by the e2e test")

    hooks.register("dynamodb", "provide-client-params.dynamodb.PutItem", refuse)
    for order in orders:
        assert post_order(pipeline, order).status_code == 202
    wait_for_dlq_depth(pipeline, len(orders))
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert stored_items(pipeline, customer) == []

    # when the table works again and the operator redrives the DLQ as the runbook says
    hooks.remove_all()
    outputs = pipeline.write_outputs(tmp_path / "outputs.json")
    result = subprocess.run(
        [sys.executable, "-m", "ordersctl", "redrive", "--outputs", str(outputs), "--json", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["moved"] == len(orders), result.stdout
    pipeline.wait_until_idle(timeout=IDLE_TIMEOUT)

    # then each order is stored once and published, and the DLQ is empty
    assert sorted(i["orderId"]["S"] for i in stored_items(pipeline, customer)) == sorted(refused)
    assert events_per_order(pipeline.receive_events(wait_seconds=2)) == dict.fromkeys(refused, 1)
    assert pipeline.queue_depths()["dlq_visible"] == 0
