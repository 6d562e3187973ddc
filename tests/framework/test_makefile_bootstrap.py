"""The Makefile's bootstrap, run for real against a stand-in pipenv: which categories each command installs, and PYTHON=.

The stand-in records its calls and creates .venv/ with the interpreter it is given, so these
tests take seconds instead of the minutes of a real sync. The real sync is what CI's fresh
clone runs (`make test`), and bench/README.md records its first-run cost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.framework.support import ROOT

# Every test here runs make and builds a venv (seconds to a minute each): not in make test-fast.
pytestmark = pytest.mark.slow

FAKE_PIPENV = """#!/bin/sh
echo "$*" >> pipenv.log
case "$1" in
  --python) exec "$2" -m venv .venv ;;
  run) shift; exec .venv/bin/"$@" ;;
esac
"""


@pytest.fixture()
def project(tmp_path) -> Path:
    """A directory with the real Makefile, a Pipfile.lock and the stand-in pipenv in .tools/bin."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "Pipfile.lock").write_text('{"_meta": {}}\n')
    (tmp_path / "main.py").write_text("import sys; print('synth with', sys.version.split()[0])\n")
    tools = tmp_path / ".tools" / "bin"
    tools.mkdir(parents=True)
    (tools / "pipenv").write_text(FAKE_PIPENV)
    (tools / "pipenv").chmod(0o755)
    return tmp_path


def make(project: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "FRAMEWORK", "MAKEFLAGS", "MAKELEVEL")}
    env.update(env_extra or {})
    return subprocess.run(["make", "--no-print-directory", *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)


def synced(project: Path) -> list[str]:
    log = project / "pipenv.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return sorted(line.split("--categories ")[1] for line in lines if line.startswith("sync"))


def test_synth_on_a_fresh_clone_installs_only_runtime_and_the_default_framework(project):
    result = make(project, "synth")
    assert result.returncode == 0, result.stderr
    assert synced(project) == ["cdktf", "packages"]
    assert ">> installing Pipfile category [packages] into .venv/: runtime" in result.stdout
    assert "synth with" in result.stdout
    # Nothing to do the second time.
    (project / "pipenv.log").unlink()
    again = make(project, "synth")
    assert again.returncode == 0 and synced(project) == [] and ">>" not in again.stdout


def test_test_adds_the_dev_set_and_cdktn_adds_only_its_category(project):
    assert make(project, "synth").returncode == 0
    (project / "pipenv.log").unlink()
    assert make(project, "env").returncode == 0
    assert synced(project) == ["dev-packages"]
    (project / "pipenv.log").unlink()
    result = make(project, "synth", "FRAMEWORK=cdktn")
    assert result.returncode == 0, result.stderr
    assert synced(project) == ["cdktn"]


def test_an_unknown_framework_stops_make_before_installing_anything(project):
    result = make(project, "synth", "FRAMEWORK=cdkft")
    assert result.returncode != 0
    assert "FRAMEWORK: is not a supported framework (given 'cdkft'). Fix: use FRAMEWORK=cdktf (the default) or FRAMEWORK=cdktn" in result.stderr
    assert not (project / "pipenv.log").exists()


def _other_interpreter(tmp_path: Path) -> Path:
    # python3.12 may not exist here: a copy of this interpreter under another path and name is,
    # for the Makefile, another interpreter (it compares version and resolved path).
    other = tmp_path / "other-python" / "python3.12"
    other.parent.mkdir()
    shutil.copy(os.path.realpath(sys.executable), other)
    return other


def test_another_python_after_a_first_run_rebuilds_the_venv_and_says_so(project, tmp_path):
    assert make(project, "synth").returncode == 0
    first = os.path.realpath(project / ".venv" / "bin" / "python")
    other = _other_interpreter(tmp_path)
    (project / "pipenv.log").unlink()
    result = make(project, "synth", f"PYTHON={other}")
    assert result.returncode == 0, result.stderr
    assert ".venv/ was built with Python" in result.stdout and f"PYTHON={other} is Python" in result.stdout and "rebuilding .venv/" in result.stdout
    assert os.path.realpath(project / ".venv" / "bin" / "python") == str(other) != first
    assert synced(project) == ["cdktf", "packages"]  # everything the command needs, into the new .venv
    # Without PYTHON, the rebuilt .venv keeps its interpreter: no flip-flopping back.
    (project / "pipenv.log").unlink()
    again = make(project, "synth")
    assert again.returncode == 0 and synced(project) == [] and "rebuilding" not in again.stdout


def test_the_same_python_named_explicitly_keeps_the_venv(project):
    assert make(project, "synth").returncode == 0
    (project / "pipenv.log").unlink()
    result = make(project, "synth", f"PYTHON={os.path.realpath(sys.executable)}")
    assert result.returncode == 0, result.stderr
    assert "rebuilding" not in result.stdout and synced(project) == []


def test_a_python_that_does_not_run_is_named_in_the_error(project, tmp_path):
    result = make(project, "synth", f"PYTHON={tmp_path}/no-such-python")
    assert result.returncode != 0
    assert f"'{tmp_path}/no-such-python' does not run" in result.stderr or "Python 3.11+ is required" in result.stderr
