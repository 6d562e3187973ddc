"""Section ``first-run`` (opt-in, needs PyPI and npm): what the README's first commands cost on a fresh clone.

For each git ref (``--refs``, default HEAD): clone the repository into a temp dir, point
every download and runtime cache (pip, pipenv, virtualenv, npm, jsii) at an empty temp dir,
then time the commands a new user runs, one after the other, and size what they left:

1. ``make synth`` (the default framework);
2. ``make synth FRAMEWORK=cdktn`` (only where the ref's Makefile knows FRAMEWORK);
3. ``make cli`` and, where supported, ``make cli FRAMEWORK=cdktn`` (the npm CLIs).

Wall time includes downloads, so it depends on the network; compare refs measured in one run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.footprint import _mib, _tree_size
from bench.measure import ROOT, BenchError, run


def _clone(ref: str, into: Path) -> str:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(into)], check=True, timeout=600)
    subprocess.run(["git", "checkout", "--quiet", ref], cwd=into, check=True, timeout=120)
    return subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=into, capture_output=True, text=True, check=True).stdout.strip()


def _fresh_env(caches: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FRAMEWORK", "PYTHON", "MAKEFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "PIPENV_ACTIVE")}
    # Drop this project's .venv from PATH: a new user's shell has none.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    env.update(
        XDG_CACHE_HOME=str(caches / "xdg"),
        PIP_CACHE_DIR=str(caches / "pip"),
        PIPENV_CACHE_DIR=str(caches / "pipenv"),
        npm_config_cache=str(caches / "npm"),
        JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(caches / "jsii"),
    )
    return env


def _sizes(clone: Path, caches: Path) -> dict:
    def size(path: Path) -> float | None:
        return _mib(_tree_size(path)) if path.exists() else None

    node = [clone / "node_modules", *sorted((clone / "cli").glob("*/node_modules"))]
    return {
        "venv_mib": size(clone / ".venv"),
        "tools_mib": size(clone / ".tools"),
        "jsii_cache_mib": size(caches / "jsii"),
        "node_modules_mib": _mib(sum(_tree_size(p) for p in node if p.exists())) if any(p.exists() for p in node) else None,
        "download_caches_mib": _mib(sum(_tree_size(caches / d) for d in ("xdg", "pip", "pipenv", "npm") if (caches / d).exists())),
    }


def _steps(clone: Path) -> list[tuple[str, list[str]]]:
    knows_framework = "FRAMEWORK" in (clone / "Makefile").read_text()
    steps = [("make synth", ["make", "synth"])]
    if knows_framework:
        steps.append(("make synth FRAMEWORK=cdktn", ["make", "synth", "FRAMEWORK=cdktn"]))
    steps.append(("make cli", ["make", "cli"]))
    if knows_framework:
        steps.append(("make cli FRAMEWORK=cdktn", ["make", "cli", "FRAMEWORK=cdktn"]))
    return steps


def measure_ref(ref: str, log) -> dict:
    """Clone ``ref`` and run the first-run steps in order; return timings and sizes after each."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-first-run-"))
    try:
        clone, caches = tmp / "clone", tmp / "caches"
        caches.mkdir()
        out: dict = {"ref": ref, "commit": _clone(ref, clone), "steps": []}
        env = _fresh_env(caches)
        for label, cmd in _steps(clone):
            log(f"first-run {ref}: {label}")
            result = run(cmd, env=env, cwd=clone, timeout=3600, check=False)
            step = {
                "command": label,
                "wall_s": round(result.wall_s, 1),
                "returncode": result.returncode,
                "what_it_said": [line for line in result.stdout.splitlines() if line.startswith(">>")],
                **_sizes(clone, caches),
            }
            if result.returncode != 0:
                step["error_tail"] = (result.stderr or result.stdout).strip().splitlines()[-5:]
            out["steps"].append(step)
            log(f"first-run {ref}: {label}: {result.wall_s:.0f}s, exit {result.returncode}, .venv {step['venv_mib']} MiB")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_first_run(refs: list[str], log) -> dict:
    """Run the first-run section for each ref; returns its JSON-ready result."""
    if shutil.which("git") is None:
        raise BenchError("first-run needs git (it clones the repository)")
    return {"refs": [measure_ref(ref, log) for ref in refs], "load_note": "wall times include downloads from PyPI and npm; other jobs on the machine add to them"}
