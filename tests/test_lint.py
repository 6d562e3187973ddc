"""``make lint`` (ruff check, ruff format --check, mypy; pyproject.toml) passes, run as a user runs it.

Through the Makefile target, not the tools one by one, so a broken target or a lint
regression fails ``make test`` too (CI also runs ``make lint`` first: .ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not on PATH: make lint cannot run")
def test_make_lint_passes() -> None:
    """Every check of ``make lint`` passes on the repository as committed."""
    result = subprocess.run(["make", "--no-print-directory", "lint"], cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert result.returncode == 0, f"make lint failed (exit {result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    for check in (">> ruff check", ">> ruff format --check", ">> mypy"):
        assert check in result.stdout, f"make lint no longer runs {check[3:]!r}:\n{result.stdout[-3000:]}"


def test_make_lint_fails_on_a_lint_error(tmp_path: Path) -> None:
    """The target's exit status follows the tools: a file with an unused import fails ``ruff check``."""
    bad = ROOT / "tools" / "_lint_probe_unused_import.py"
    bad.write_text('"""Probe."""\n\nimport os\n', encoding="utf-8")
    try:
        result = subprocess.run(["make", "--no-print-directory", "lint"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        bad.unlink()
    assert result.returncode != 0, f"make lint passed with an unused import in {bad.name}:\n{result.stdout[-3000:]}"
    assert "F401" in result.stdout and bad.name in result.stdout
