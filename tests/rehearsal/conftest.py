"""Rehearsal tests run terraform for real; they skip only when terraform or a provider is truly unavailable.

A mirror that is present never leads to a skip: if init then fails, the test fails (the harness
itself reports "terraform init failed although the mirror ... holds hashicorp/aws").
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from rehearsal.toolchain import TERRAFORM_ENV_VAR, ProviderSource, choose_provider, find_terraform

ROOT = Path(__file__).resolve().parents[2]
PINNED = "6.25.0"


def _registry_reachable() -> bool:
    try:
        with socket.create_connection(("registry.terraform.io", 443), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def provider_source() -> ProviderSource:
    """The provider the rehearsal will use; skips (one line, the reason) only without terraform or any provider."""
    if not (os.environ.get(TERRAFORM_ENV_VAR) or shutil.which("terraform")):
        pytest.skip("terraform is not installed (not on PATH, TERRAFORM unset): the deploy rehearsal needs it")
    find_terraform()  # installed but unusable (too old, broken) is a failure, not a skip
    source = choose_provider(PINNED)
    if source.kind == "registry" and not _registry_reachable():
        pytest.skip("no hashicorp/aws provider mirror on this machine and no route to registry.terraform.io")
    return source


def run_make_rehearse(env_suffix: str, args: str, *, extra_env: dict[str, str] | None = None, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    """``make rehearse ENV=<suffix> ARGS="<args>"``, literally as the README says."""
    env = {**os.environ, **(extra_env or {})}
    return subprocess.run(["make", "--no-print-directory", "rehearse", f"ENV={env_suffix}", f"ARGS={args}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def phase_lines(stdout: str) -> dict[str, str]:
    """``{phase: its line}`` from the rehearsal's output."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("[") and "]" in line[:7]:
            name = line[7:].split()[0]
            found[name] = line
    return found


def state_resources(state_file: Path) -> list[str]:
    """Managed resources recorded in a local state file."""
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    return [f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("mode") == "managed"]
