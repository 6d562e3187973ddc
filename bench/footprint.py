"""Section ``footprint``: disk taken by each Pipfile category (per framework), each framework's jsii cache and npm CLI.

Cheap (it reads file sizes; nothing is installed): the installed size of a category is the
sum of the files its locked distributions installed into .venv (their RECORD), so a
category's "own" size leaves out what it shares with [packages].
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

from bench.measure import ROOT
from constructs_lib.support.framework_choice import FRAMEWORKS

SECTIONS = {"default": "[packages]", "cdktf": "[cdktf]", "cdktn": "[cdktn]", "develop": "[dev-packages]"}


def _dist_size(name: str) -> int | None:
    """Bytes a distribution installed into this environment, or None when it is not installed."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def _tree_size(path: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            file = Path(base, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _mib(size: int) -> float:
    return round(size / 2**20, 1)


def categories() -> dict:
    """Per Pipfile category: packages locked, installed here, MiB installed, MiB not shared with [packages]."""
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    sizes = {name: _dist_size(name) for section in SECTIONS for name in lock.get(section, {})}
    out = {}
    for section, label in SECTIONS.items():
        names = list(lock.get(section, {}))
        own = [n for n in names if section == "default" or n not in lock["default"]]
        out[label] = {
            "locked": len(names),
            "installed": sum(1 for n in names if sizes[n] is not None),
            "mib": _mib(sum(sizes[n] or 0 for n in names)),
            "own_mib": _mib(sum(sizes[n] or 0 for n in own)),
            "complete": all(sizes[n] is not None for n in names),
        }
    return out


def framework_extras() -> dict:
    """Per framework: its jsii runtime package cache (after a synth) and its npm CLI (when installed)."""
    cache_root = Path(os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT") or Path.home() / ".cache" / "aws" / "jsii" / "package-cache")
    out: dict[str, Any] = {}
    for name in FRAMEWORKS:
        cache_dirs = [cache_root / name, cache_root / f"@{name}"]
        cli_dir = ROOT / "cli" / name / "node_modules"
        out[name] = {
            "jsii_cache_mib": _mib(sum(_tree_size(d) for d in cache_dirs if d.is_dir())) if any(d.is_dir() for d in cache_dirs) else None,
            "cli_workspace_node_modules_mib": _mib(_tree_size(cli_dir)) if cli_dir.is_dir() else None,
        }
    shared = ROOT / "node_modules"
    out["node_modules_total_mib"] = (
        _mib(_tree_size(shared) + sum(_tree_size(ROOT / "cli" / n / "node_modules") for n in FRAMEWORKS if (ROOT / "cli" / n / "node_modules").is_dir())) if shared.is_dir() else None
    )
    out["jsii_cache_root"] = str(cache_root)
    return out


def bench_footprint(runs: int, quick: bool, log) -> dict:
    """Run the footprint section; returns its JSON-ready result."""
    log("footprint: sizing the Pipfile categories, jsii caches and CLIs")
    return {"categories": categories(), "frameworks": framework_extras(), "venv_mib": _mib(_tree_size(ROOT / ".venv")) if (ROOT / ".venv").is_dir() else None}
