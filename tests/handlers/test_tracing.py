"""In Lambda (tracing on), both handlers trace every AWS call and instrument nothing else at init."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
import botocore.client
print(json.dumps({
    "aws_calls_traced": hasattr(botocore.client.BaseClient._make_api_call, "__wrapped__"),
    "other_patchers": sorted(m for m in sys.modules if m.startswith("aws_xray_sdk.ext.") and m.split(".")[2] not in ("botocore", "boto_utils", "util")),
}))
"""


@pytest.mark.parametrize("module", ["api_handler.app", "order_processor.app"])
def test_a_cold_start_in_lambda_patches_botocore_only(tmp_path, module):
    """Given Lambda's LAMBDA_TASK_ROOT (Powertools' Tracer is on), when a handler is imported,
    then botocore is instrumented and no other library's patcher was loaded (this .venv has
    requests, httpx and sqlite3, which the X-Ray SDK's patch_all() would patch)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LAMBDA_TASK_ROOT": str(HANDLERS),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    done = subprocess.run([sys.executable, "-c", PROBE, module], cwd=HANDLERS, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"aws_calls_traced": True, "other_patchers": []}
