"""Helpers for the framework tests: run a fresh interpreter with a chosen framework, know what is installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.support.framework_choice import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[2]
# Variables that change what a child process does; each test sets what it needs.
_SCRUBBED = ("CDKTF_EAGER_PROVIDER_IMPORT", "ENVIRONMENT_SUFFIX", "FRAMEWORK", "TF_AWS_PROVIDER_VERSION", "CDKTF_LAZY_INDEX_DEBUG")


def current_framework() -> str:
    """The framework this test session runs under (``FRAMEWORK``, default cdktf)."""
    return os.environ.get("FRAMEWORK", "").strip() or "cdktf"


def installed(framework: str) -> bool:
    """Whether the framework's core and provider packages are importable in this environment."""
    spec = FRAMEWORKS[framework]
    return all(importlib.util.find_spec(module) is not None for module in (spec.core_module, spec.provider_module))


def require(framework: str) -> None:
    """Skip when ``framework`` is missing, unless this session runs under it or under cdktn (then it must be there).

    ``make test FRAMEWORK=cdktn`` installs both frameworks (cdktf is the reference the
    JSON is compared against), and CI runs that tier, so a comparison is never skipped
    there. A default ``make test`` installs only cdktf.
    """
    if installed(framework):
        return
    if current_framework() == "cdktn" or framework == current_framework():
        pytest.fail(f"FRAMEWORK={current_framework()} tests need {framework} installed. Fix: make test FRAMEWORK={current_framework()} (syncs its Pipfile categories)")
    pytest.skip(f"{framework} is not installed in this environment (a default `make test` installs cdktf only; `make test FRAMEWORK=cdktn` runs this)")


def run_python(code: str, env_extra: dict[str, str] | None = None, *, timeout: int = 300, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -c code`` in the project root with a clean framework environment plus ``env_extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and k not in drop}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def synth(outdir: Path, framework: str, env_extra: dict[str, str] | None = None) -> dict[str, dict]:
    """Synthesize every stack with ``framework`` into ``outdir``; return each stack's cdk.tf.json."""
    result = run_python(f"from main import build_app; build_app(outdir={str(outdir)!r}).synth()", {"FRAMEWORK": framework, **(env_extra or {})})
    assert result.returncode == 0, f"{framework} synth failed:\n{result.stderr[-3000:]}"
    return {p.name: json.loads((p / "cdk.tf.json").read_text()) for p in sorted((outdir / "stacks").iterdir())}
