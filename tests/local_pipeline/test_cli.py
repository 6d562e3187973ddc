"""``python -m local_pipeline``: starts, writes the outputs file, serves, stops on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from local_pipeline.__main__ import TRY_HEADING

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "local_pipeline", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for option in ("--port", "--moto-port", "--suffix", "--outputs-file", "--visibility-timeout-seconds"):
        assert option in out.stdout


def test_bad_options_exit_2_naming_the_setting():
    out = subprocess.run([sys.executable, "-m", "local_pipeline", "--suffix", "Bad_Suffix"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "environment_suffix" in out.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_runs_serves_and_stops_cleanly(tmp_path, signum):
    outputs_file = tmp_path / "outputs.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_pipeline", "--port", "0", "--suffix", "clitest", "--outputs-file", str(outputs_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 45
        while not outputs_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert outputs_file.exists(), "no outputs file within 45 s"
        outputs = json.loads(outputs_file.read_text())["orders-clitest"]
        assert outputs["OrderQueueUrl"].endswith("/order-queue-clitest")
        response = requests.get(f"{outputs['ApiEndpoint']}/orders/nope", timeout=10)
        assert response.status_code == 404 and response.json()["error"] == "NotFound"
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_banner(proc: subprocess.Popen, timeout: float = 45) -> str:
    """Read stdout until the banner's 'Try' line; return what was read."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None, "start the process with stdout=subprocess.PIPE"
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if line.startswith(TRY_HEADING):
            return "".join(seen)
    raise AssertionError(f"no banner within {timeout} s: {''.join(seen)[-2000:]}")


def test_attach_to_existing_resources_from_the_command_line(tmp_path):
    """Given resources already in a moto server, `--attach-outputs --endpoint-url` serves on them and leaves moto alone."""
    from local_pipeline.emulator import MotoEmulator, provision
    from pipeline_config.environments import config_for

    config = config_for("cliattach", batching_window_seconds=0)
    emulator = MotoEmulator(separate_process=True)
    emulator.start()
    proc = None
    try:
        made = provision(emulator, config)
        outputs = {
            "OrdersTableName": made.table_name,
            "OrderQueueUrl": made.order_queue_url,
            "OrderQueueArn": made.order_queue_arn,
            "DLQUrl": made.dlq_url,
            "DLQArn": made.dlq_arn,
            "OrderTopicArn": made.order_topic_arn,
            "Region": config.region,
        }
        outputs_file = tmp_path / "tf-outputs.json"
        outputs_file.write_text(json.dumps({k: {"sensitive": False, "type": "string", "value": v} for k, v in outputs.items()}))
        proc = subprocess.Popen(
            [sys.executable, "-m", "local_pipeline", "--port", "0", "--suffix", "cliattach", "--attach-outputs", str(outputs_file), "--endpoint-url", emulator.endpoint_url],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        banner = _wait_for_banner(proc)
        assert "attached" in banner and "events tap" not in banner
        api = next(line.split()[1] for line in banner.splitlines() if line.strip().startswith("API "))
        order: dict[str, Any] = {"orderId": "cli-attached-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 2}]}
        assert requests.post(f"{api}/orders", json=order, timeout=10).status_code == 202
        dynamodb = emulator.client("dynamodb", config.region)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Item" not in dynamodb.get_item(TableName=made.table_name, Key={"orderId": {"S": "cli-attached-1"}}):
            time.sleep(0.2)
        assert "Item" in dynamodb.get_item(TableName=made.table_name, Key={"orderId": {"S": "cli-attached-1"}})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        # The emulator it attached to is still running and still holds the order.
        assert "Item" in dynamodb.get_item(TableName=made.table_name, Key={"orderId": {"S": "cli-attached-1"}})
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        emulator.stop()


def test_attach_to_resources_that_do_not_exist_fails_naming_them(tmp_path):
    from local_pipeline.emulator import MotoEmulator

    emulator = MotoEmulator(separate_process=True)
    emulator.start()
    try:
        outputs_file = tmp_path / "outputs.json"
        outputs_file.write_text(
            json.dumps(
                {
                    "OrdersTableName": "no-table",
                    "OrderQueueUrl": f"{emulator.endpoint_url}/123456789012/no-queue",
                    "OrderQueueArn": "arn:aws:sqs:us-east-1:123456789012:no-queue",
                    "DLQUrl": f"{emulator.endpoint_url}/123456789012/no-dlq",
                    "DLQArn": "arn:aws:sqs:us-east-1:123456789012:no-dlq",
                    "OrderTopicArn": "arn:aws:sns:us-east-1:123456789012:no-topic",
                    "Region": "us-east-1",
                }
            )
        )
        out = subprocess.run(
            [sys.executable, "-m", "local_pipeline", "--port", "0", "--attach-outputs", str(outputs_file), "--endpoint-url", emulator.endpoint_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1, out.stderr
        for name in ("no-queue", "no-dlq", "no-table", "no-topic"):
            assert name in out.stderr, name
        assert "Traceback" not in out.stderr
    finally:
        emulator.stop()


def test_attach_options_go_together():
    out = subprocess.run([sys.executable, "-m", "local_pipeline", "--attach-outputs", "x.json"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--endpoint-url" in out.stderr
