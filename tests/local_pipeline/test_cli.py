"""``python -m local_pipeline``: starts, writes the outputs file, serves, stops on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(90)


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
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 45
        while not outputs_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert outputs_file.exists(), "no outputs file within 45 s"
        outputs = json.loads(outputs_file.read_text())["orders-clitest"]
        assert outputs["OrderQueueUrl"].endswith("/order-queue-clitest")
        response = requests.get(f"{outputs['ApiEndpoint']}/orders/nope", timeout=10)
        assert response.status_code == 404 and response.json()["error"]
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
