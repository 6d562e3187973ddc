"""make clean / make clean-all, on a scratch directory holding only the Makefile and stand-in folders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.project_copy import ROOT, clean_environ


def scratch(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(ROOT / "Makefile", project / "Makefile")
    for folder in ("cdktf.out/stacks", ".build", ".venv/bin", ".tools/bin", "node_modules/x", "cli/cdktn/node_modules/x", "handlers"):
        (project / folder).mkdir(parents=True)
        (project / folder / "f").write_bytes(b"x" * 4096)
    cache = tmp_path / "jsii-cache"
    for package in ("cdktf", "@cdktf", "constructs", "someone-elses-package"):
        (cache / package).mkdir(parents=True)
        (cache / package / "f").write_bytes(b"x" * 4096)
    return project, cache


def make(project: Path, target: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", target], cwd=project, env=clean_environ(JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(cache)), capture_output=True, text=True, timeout=60)


def test_clean_removes_the_build_output_only(tmp_path):
    project, cache = scratch(tmp_path)
    assert make(project, "clean", cache).returncode == 0
    assert not (project / "cdktf.out").exists() and not (project / ".build").exists()
    assert (project / ".venv").exists() and (cache / "cdktf").exists() and (project / "handlers" / "f").exists()


def test_clean_all_reclaims_the_environments_and_this_projects_jsii_packages(tmp_path):
    project, cache = scratch(tmp_path)
    done = make(project, "clean-all", cache)
    assert done.returncode == 0, done.stderr
    for gone in (".venv", ".tools", "node_modules", "cli/cdktn/node_modules", "cdktf.out"):
        assert not (project / gone).exists(), gone
    assert sorted(p.name for p in cache.iterdir()) == ["someone-elses-package"]  # other jsii apps' packages stay
    assert (project / "handlers" / "f").exists()  # sources are never touched
    assert "MiB freed" in done.stdout


def install_scratch(tmp_path: Path, pipenv_script: str, category: str) -> tuple[Path, Path, str]:
    """The Makefile and Pipfile.lock with a stand-in pipenv running ``pipenv_script``: (project, the stand-in, the stamp target of ``category``)."""
    import sys

    project = tmp_path / "project"
    (project / ".tools" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin").mkdir(parents=True)
    shutil.copy2(ROOT / "Makefile", project / "Makefile")
    shutil.copy2(ROOT / "Pipfile.lock", project / "Pipfile.lock")
    (project / ".venv" / "bin" / "python").symlink_to(sys.executable)
    fake = project / ".tools" / "bin" / "pipenv"
    fake.write_text("#!/bin/sh\n" + pipenv_script)
    fake.chmod(0o755)
    stamp = subprocess.run(["make", "-s", "--no-print-directory", "-p", "-n", "env"], cwd=project, env=clean_environ(), capture_output=True, text=True, timeout=60)
    target = next(line.split(":")[0] for line in stamp.stdout.splitlines() if line.startswith(f".venv/.synced-{category}-"))
    return project, fake, target


def test_a_long_install_says_it_is_still_working(tmp_path):
    """pipenv is silent for minutes while it installs [dev-packages]: the Makefile ticks meanwhile."""
    import os

    project, fake, target = install_scratch(tmp_path, "sleep 2.6\n", "dev-packages")  # a silent install of 2.6 s
    done = subprocess.run(["make", target, "INSTALL_TICK_SECONDS=1"], cwd=project, env=clean_environ(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ticks = [line for line in done.stdout.splitlines() if line.startswith(">>   still installing [dev-packages]:")]
    assert len(ticks) >= 2, done.stdout
    assert (project / target).exists()
    # A failed install still fails the target, and the ticker stops with it.
    fake.write_text("#!/bin/sh\nexit 7\n")
    os.remove(project / target)
    failed = subprocess.run(["make", target, "INSTALL_TICK_SECONDS=1"], cwd=project, env=clean_environ(), capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and not (project / target).exists()


def _sleeps(seconds: str) -> list[int]:
    """Live ``sleep <seconds>`` processes (the ticker's), from /proc."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\0" + seconds.encode() + b"\0":
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_the_install_ticker_leaves_nothing_behind_holding_makes_output(tmp_path):
    """An install that ends before the first tick: the ticker's sleep goes with it, so a pipe reading make's output closes at once."""
    import os

    project, _, target = install_scratch(tmp_path, "sleep 1\n", "packages")  # long enough for the ticker to be asleep
    tick = "347"  # a sleep no one else runs
    # capture_output reads until EOF: a sleep left holding the pipe would keep this waiting for 347 s (the timeout fails it first).
    done = subprocess.run(["make", target, f"INSTALL_TICK_SECONDS={tick}"], cwd=project, env=clean_environ(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    leftover = _sleeps(tick)
    for pid in leftover:  # do not leave them to the machine if the assertion fails
        os.kill(pid, 9)
    assert leftover == []
