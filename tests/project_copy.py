"""A throw-away copy of the project, for tests that run the README's commands after editing cdktf.json.

The sources are copied (with their timestamps, so make sees its bootstrap as up to date);
the bootstrapped environments (.venv, .tools, node_modules: the directories .gitignore
names) are symlinked from the real project rather than installed again. Build outputs
and caches are neither copied nor linked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Ignored directories that are outputs or caches, never shared with a copy.
_NOT_SHARED = {"cdktf.out", ".build", ".pytest_cache", ".hypothesis", ".terraform", ".gen", "imports", "__pycache__"}
_NOT_COPIED = {".git", *_NOT_SHARED}


def _ignored_directories() -> list[str]:
    """Top-level directory names .gitignore lists plainly (``name/``): the bootstrapped environments."""
    names = []
    for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.endswith("/") and "/" not in line[:-1] and not any(c in line for c in "*?[!"):
            names.append(line[:-1])
    return names


def clean_environ(**extra: str) -> dict[str, str]:
    """The test process's environment without what would change a synth or leak from the outer make/pipenv."""
    dropped = ("ENVIRONMENT_SUFFIX", "CDKTF_", "TF_STATE_", "TF_CLOUD_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PIPENV_ACTIVE", "VIRTUAL_ENV")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    environ.update(extra)
    return environ


def copy_project(destination: Path) -> Path:
    """Copy the project into ``destination`` (sources copied, environments linked); return it."""
    linked = [name for name in _ignored_directories() if name not in _NOT_SHARED]
    skip = set(_NOT_COPIED) | set(linked)
    shutil.copytree(
        ROOT,
        destination,
        symlinks=True,
        copy_function=shutil.copy2,
        ignore=lambda directory, names: [n for n in names if n in skip or n.endswith(".tfstate")],
    )
    for name in linked:
        if (ROOT / name).exists():
            (destination / name).symlink_to(ROOT / name, target_is_directory=True)
    # npm may install a framework CLI inside its workspace (cli/<framework>/node_modules).
    for workspace_modules in sorted(ROOT.glob("cli/*/node_modules")):
        (destination / workspace_modules.relative_to(ROOT)).symlink_to(workspace_modules, target_is_directory=True)
    return destination


def ensure_cli_installed() -> None:
    """``make cli`` in the real project (the FRAMEWORK's CLI from package-lock.json; a no-op once installed), so copies can link node_modules."""
    subprocess.run(["make", "cli"], cwd=ROOT, env=clean_environ(), check=True, capture_output=True, text=True, timeout=900)


def run(command: list[str], cwd: Path, timeout: float = 600, **extra_env: str) -> subprocess.CompletedProcess:
    """Run a README command in ``cwd`` with a clean environment; output captured as text."""
    return subprocess.run(command, cwd=cwd, env=clean_environ(**extra_env), capture_output=True, text=True, timeout=timeout)
