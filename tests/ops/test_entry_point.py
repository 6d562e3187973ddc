"""bin/ordersctl: ordersctl in the project's environment, with its own exit codes (make turns every failure into 2)."""

from __future__ import annotations

import subprocess

import pytest

from tests.ops.test_preflight import moto_url  # noqa: F401 -- the fixture, shared (a fresh moto server)
from tests.project_copy import ROOT, clean_environ

ENTRY = ROOT / "bin" / "ordersctl"


def run(*args: str, cwd=ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ENTRY), *args], cwd=cwd, env=clean_environ(**env), capture_output=True, text=True, timeout=300)


def test_help_is_0_and_bad_arguments_are_2_without_makes_own_line(tmp_path):
    assert run("--help").returncode == 0
    missing = run("status", "--outputs", str(tmp_path / "missing.json"), cwd=tmp_path)  # from any directory
    assert missing.returncode == 2
    assert "no such outputs file" in missing.stderr and "make: ***" not in missing.stderr


@pytest.mark.e2e
def test_a_failed_preflight_is_exit_1_as_documented(moto_url):  # noqa: F811 -- the fixture
    done = run("preflight", "--environment", "dev", "--endpoint-url", moto_url)
    assert done.returncode == 1, done.stderr
    assert "FAIL" in done.stdout and "make: ***" not in done.stderr
