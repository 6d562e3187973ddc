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
from collections.abc import Callable
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


def project_at_head_with(change: Callable[[Path], None], destination: Path) -> Path:
    """A copy of this checkout committed as the HEAD of its own git repository, then ``change`` applied uncommitted.

    ``--from HEAD`` in it rehearses the upgrade from exactly this code to this code plus the change
    (the upgrade rehearsal tests and the bench); this repository's .git is never touched.
    """
    project = copy_project(destination)
    git = ["git", "-C", str(project), "-c", "user.name=rehearsal tests", "-c", "user.email=rehearsal@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True, capture_output=True, text=True, timeout=120)
    # The linked environments (.venv, .tools, ...) are symlinks, which .gitignore's "dir/" patterns do not match.
    linked = sorted(path.name for path in project.iterdir() if path.is_symlink())
    (project / ".git" / "info" / "exclude").write_text("".join(f"/{name}\n" for name in linked), encoding="utf-8")
    for command in (["add", "-A"], ["commit", "-q", "-m", "the code under test"]):
        subprocess.run([*git, *command], check=True, capture_output=True, text=True, timeout=120)
    change(project)
    return project


def ensure_cli_installed() -> None:
    """``make cli`` in the real project (the FRAMEWORK's CLI from package-lock.json; a no-op once installed), so copies can link node_modules."""
    subprocess.run(["make", "cli"], cwd=ROOT, env=clean_environ(), check=True, capture_output=True, text=True, timeout=900)


def run(command: list[str], cwd: Path, timeout: float = 600, **extra_env: str) -> subprocess.CompletedProcess:
    """Run a README command in ``cwd`` with a clean environment; output captured as text."""
    return subprocess.run(command, cwd=cwd, env=clean_environ(**extra_env), capture_output=True, text=True, timeout=timeout)
