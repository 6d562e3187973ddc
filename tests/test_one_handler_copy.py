"""One process never holds the Lambda package twice (``handlers.orders_core`` and ``orders_core``).

The pytest session does, on purpose (``tests/conftest.py``: ``allow_both_copies``), so each
production path runs in its own subprocess here: the synth (main + stacks) imports no handler code
at all; ``python -m local_pipeline`` loads it only as Lambda does, ``orders_core``; and the guard in
``local_pipeline.handler_loading`` refuses the second copy, whichever comes first.
"""

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

ROOT = Path(__file__).resolve().parent.parent
HANDLER_PACKAGES = ("orders_core", "api_handler", "order_processor", "event_sweeper")


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=kwargs.pop("timeout", 60), **kwargs)


def _handler_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m == "handlers" or m.startswith("handlers.") or m.split(".")[0] in HANDLER_PACKAGES]


@pytest.mark.slow
def test_building_the_app_imports_no_handler_code():
    """The synth path (main -> stacks -> constructs_lib) reads the package's JSON contracts only."""
    done = _python("import json, sys, main; main.build_app(); print(json.dumps(sorted(sys.modules)))", timeout=180)
    assert done.returncode == 0, done.stderr
    assert _handler_modules(json.loads(done.stdout.splitlines()[-1])) == []


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_python_m_local_pipeline_loads_the_package_only_as_lambda_does(tmp_path):
    """``python -m local_pipeline``, serving an order end to end: ``orders_core`` loaded, ``handlers.orders_core`` never."""
    outputs_file, modules_file = tmp_path / "outputs.json", tmp_path / "modules.json"
    script = (
        "import atexit, json, runpy, sys;"
        f"atexit.register(lambda: open({str(modules_file)!r}, 'w').write(json.dumps(sorted(sys.modules))));"
        f"sys.argv = ['local_pipeline', '--port', '0', '--suffix', 'onecopy', '--outputs-file', {str(outputs_file)!r}];"
        "runpy.run_module('local_pipeline', run_name='__main__', alter_sys=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not outputs_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert outputs_file.exists(), "no outputs file within 60 s"
        api = json.loads(outputs_file.read_text())["orders-onecopy"]["ApiEndpoint"]
        order: dict[str, Any] = {"orderId": "one-copy-1", "customerId": "c-1", "items": [{"productId": "sku-1", "quantity": 1, "unitPrice": 1.0}]}
        assert requests.post(f"{api}/orders", json=order, timeout=10).status_code == 202
        deadline = time.monotonic() + 30
        while requests.get(f"{api}/orders/one-copy-1", timeout=10).json().get("status") != "PROCESSED" and time.monotonic() < deadline:
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stdout.read() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    modules = _handler_modules(json.loads(modules_file.read_text()))
    assert {"orders_core", "orders_core.settings", "api_handler.app", "order_processor.app"} <= set(modules), modules
    assert [m for m in modules if m.startswith("handlers")] == []


def test_the_guard_refuses_the_lambda_copy_after_the_checkout_copy():
    done = _python("import handlers.orders_core.settings; from local_pipeline.handler_loading import import_handlers_package; import_handlers_package()")
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("RuntimeError: this process already holds the Lambda package as 'handlers.orders_core' and is loading it again as 'orders_core'")
    assert "Fix: outside the tests, import the handler code only as Lambda does" in error


def test_the_guard_refuses_the_checkout_copy_after_the_lambda_copy():
    done = _python("from local_pipeline.handler_loading import import_handlers_package; import_handlers_package();import orders_core.settings; import handlers.orders_core.routes")
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("RuntimeError: this process already holds the Lambda package as 'orders_core' and is loading it again as 'handlers.orders_core'")
    assert "pipeline_config.lambda_contract" in error


def test_one_copy_alone_is_fine_and_the_test_session_may_hold_both():
    alone = _python("from local_pipeline.handler_loading import import_handlers_package; import_handlers_package(); import orders_core.routes; print('ok')")
    assert (alone.returncode, alone.stdout.strip()) == (0, "ok"), alone.stderr
    allowed = _python(
        "from local_pipeline.handler_loading import allow_both_copies, import_handlers_package; allow_both_copies('test');"
        "import handlers.orders_core.settings; import_handlers_package(); import orders_core.settings, handlers.orders_core.routes; print('ok')"
    )
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "ok"), allowed.stderr
