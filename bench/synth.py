"""Section 1, synth: ``python main.py`` under cdktf (stock and lean) and cdktn side by side, the CLIs, a json.dump floor, a breakdown, jsii's cache."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import PYTHON, ROOT, BenchError, child_env, median, run, summary
from constructs_lib.support.framework_choice import FRAMEWORKS

EAGER = {"CDKTF_EAGER_PROVIDER_IMPORT": "1"}
# Every synth mode measured side by side: the stock and lean import under CDKTF (the
# default framework), and the same two under CDK Terrain. "stock" = both lean halves off.
MODES = {
    "stock": {"FRAMEWORK": "cdktf", **EAGER},
    "ours": {"FRAMEWORK": "cdktf"},
    "cdktn_stock": {"FRAMEWORK": "cdktn", **EAGER},
    "cdktn": {"FRAMEWORK": "cdktn"},
}
MODE_LABELS = {"stock": "cdktf stock", "ours": "cdktf lean (ours)", "cdktn_stock": "cdktn stock", "cdktn": "cdktn lean (ours)"}
TARGET_RATIO = 0.25
PROBE = ROOT / "bench" / "synth_probe.py"
# The Node hook says what it did on stderr when asked (constructs_lib/support/node_lazy_provider_index.js).
HOOK_LINE = re.compile(r"\[lazy-index\] (\d+) lazy exports \((\w+) layout\)")


def _median(values: list[float]) -> float:
    """The median of a probe's samples; a probe with none is a bench error, not a figure."""
    found = median(values)
    if found is None:
        raise BenchError("the synth probe returned no samples (probe_runs must be at least 1)")
    return found


def framework_installed(framework: str) -> bool:
    """Whether the framework's Python packages are in this environment (make bench installs both)."""
    spec = FRAMEWORKS[framework]
    return all(importlib.util.find_spec(module) is not None for module in (spec.core_module, spec.provider_module))


def _workspace_bin(framework: str, command: str) -> Path | None:
    # Where npm put a bin for the framework's workspace (cli/<framework>): there or hoisted to the root.
    for candidate in (ROOT / "cli" / framework / "node_modules" / ".bin" / command, ROOT / "node_modules" / ".bin" / command):
        if candidate.exists():
            return candidate
    return None


def cli_path(framework: str) -> Path | None:
    """The framework's npm CLI, or None when it is not installed."""
    return _workspace_bin(framework, FRAMEWORKS[framework].cli_command)


def cli_command(framework: str) -> list[str]:
    """How ``make cli-synth`` runs the CLI: cdktn-cli with the Node 22 its workspace pins (when installed)."""
    node = _workspace_bin(framework, "node") if framework == "cdktn" else None
    return [*([str(node)] if node else []), str(cli_path(framework))]


def node_hook_state(stderr: str, mode_env: dict) -> str:
    """What the Node-side lazy index did in one synth, from its debug line."""
    found = HOOK_LINE.search(stderr)
    if found:
        return f"engaged: {int(found.group(1)):,} lazy exports ({found.group(2)} layout)"
    if mode_env.get("CDKTF_EAGER_PROVIDER_IMPORT"):
        return "off (asked for: stock)"
    return "NOT ENGAGED" + (" (layout not recognised)" if "layout not recognised" in stderr else "")


JSON_FLOOR_CODE = r"""
import time, sys
t0 = time.perf_counter()
import json, pathlib
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
docs = {p.relative_to(src): json.loads(p.read_text()) for p in sorted(src.rglob('*.json'))}
t1 = time.perf_counter()
for rel, doc in docs.items():
    out = dst / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, 'w') as f:
        json.dump(doc, f, indent=2)
t2 = time.perf_counter()
print(json.dumps({'load_s': t1 - t0, 'dump_s': t2 - t1, 'files': len(docs), 'bytes': sum(p.stat().st_size for p in dst.rglob('*.json'))}))
"""


def _synth_once(mode: str, tmp: Path, index: int) -> dict:
    outdir = tmp / f"{mode}-{index}"
    result = run([PYTHON, "main.py"], env=child_env({**MODES[mode], "CDKTF_OUTDIR": str(outdir), "CDKTF_LAZY_INDEX_DEBUG": "1"}))
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir())
    if not stacks:
        raise BenchError(f"{mode} synth wrote no stacks into {outdir}")
    return {"wall_s": result.wall_s, "max_rss_mib": result.max_rss_mib, "outdir": outdir, "stacks": stacks, "node_hook": node_hook_state(result.stderr, MODES[mode])}


def _pipenv_dir(tmp: Path) -> tuple[Path, str]:
    """A directory with a ``pipenv`` for cdktf.json's ``pipenv run python main.py``, and how it was found."""
    tools = ROOT / ".tools" / "bin"
    if (tools / "pipenv").exists():
        return tools, "real pipenv from .tools/bin"
    found = shutil.which("pipenv")
    if found:
        return Path(found).parent, f"real pipenv at {found}"
    # No pipenv on this machine: a shim that does what `pipenv run` does for this project
    # (run the command inside .venv). It skips pipenv's own start-up, so the CLI column is
    # then a lower bound of what `make cli-synth` costs.
    shim_dir = tmp / "pipenv-shim"
    shim_dir.mkdir(exist_ok=True)
    shim = shim_dir / "pipenv"
    shim.write_text(f'#!/bin/sh\n[ "$1" = run ] && shift\nPATH="{ROOT}/.venv/bin:$PATH" exec "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return shim_dir, "SHIM (no pipenv installed): `pipenv run X` replaced by running X in .venv; pipenv's own start-up not included"


def _cli_once(mode: str, tmp: Path, index: int, pipenv_dir: Path) -> dict:
    outdir = tmp / f"cli-{mode}-{index}"
    env = child_env({**MODES[mode], "PATH": f"{pipenv_dir}:{os.environ.get('PATH', '')}", "CHECKPOINT_DISABLE": "1", "CI": "1"})
    result = run([*cli_command(MODES[mode]["FRAMEWORK"]), "synth", "--output", str(outdir)], env=env)
    if not (outdir / "stacks").is_dir():
        raise BenchError(f"{MODES[mode]['FRAMEWORK']} synth ({mode}) wrote no stacks into {outdir}: {result.stdout[-500:]}")
    return {"wall_s": result.wall_s, "max_rss_mib": result.max_rss_mib}


def _probe(mode: str, tmp: Path, index: int, extra_env: dict | None = None) -> dict:
    outdir = tmp / f"probe-{mode}-{index}"
    env = child_env({**MODES[mode], **(extra_env or {}), "BENCH_SPAWN_T": repr(time.perf_counter())})
    start = time.perf_counter()
    result = run([PYTHON, "-X", "importtime", str(PROBE), str(outdir)], env=env)
    end = start + result.wall_s
    lines = result.stdout.strip().splitlines()
    data = json.loads(lines[-2])
    data["node_max_rss_mib"] = json.loads(lines[-1])["node_max_rss_mib"]
    data["phases"].append({"phase": "interpreter exit (atexit: stop node)", "seconds": round(end - data["end_t"], 4)})
    data["wall_s"] = result.wall_s
    data["max_rss_mib"] = result.max_rss_mib
    package = FRAMEWORKS[MODES[mode]["FRAMEWORK"]].provider_module
    data["provider_assembly_load_s"] = _importtime(result.stderr, f"{package}._jsii")
    data["provider_python_submodules_s"] = _importtime_sum(result.stderr, f"{package}.", exclude=f"{package}._jsii")
    return data


def _importtime(stderr: str, module: str) -> float | None:
    """Cumulative seconds of ``module`` in ``-X importtime`` output."""
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == module:
            return int(line.split("|")[1]) / 1e6
    return None


def _importtime_sum(stderr: str, prefix: str, exclude: str) -> float:
    """Sum of *self* seconds of every module under ``prefix`` (but not ``exclude`` and its children)."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name.startswith(prefix) and not name.startswith(exclude):
                total += int(line.split(":", 1)[1].split("|")[0])
    return total / 1e6


def _cache_dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _jsii_cache(tmp: Path, quick: bool) -> dict:
    """Is jsii's runtime package cache on and warm here; what does cold vs warm vs off cost (one lean synth each)?"""
    root_env = os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT")
    default_root = Path(root_env) if root_env else Path.home() / ".cache" / "aws" / "jsii" / "package-cache"
    setting = os.environ.get("JSII_RUNTIME_PACKAGE_CACHE")
    info = {
        "setting": setting if setting is not None else f"(unset; jsii {importlib.metadata.version('jsii')} defaults to enabled)",
        "enabled": (setting or "enabled").lower() == "enabled",
        "root": str(default_root),
        "root_exists": default_root.is_dir(),
        "root_size_mib": round(_cache_dir_size(default_root) / 2**20, 1),
        "cached_packages": sorted(p.name for p in default_root.iterdir()) if default_root.is_dir() else [],
    }
    if quick:
        return info
    cold_root = tmp / "jsii-cache-cold"
    runs: dict[str, Any] = {}
    for label, env in (
        ("cold (empty cache root)", {"JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(cold_root)}),
        ("warm (same root, 2nd run)", {"JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(cold_root)}),
        ("disabled (extract to tmp every run)", {"JSII_RUNTIME_PACKAGE_CACHE": "disabled"}),
    ):
        data = _probe("ours", tmp, len(runs), extra_env=env)
        runs[label] = {
            "wall_s": round(data["wall_s"], 3),
            "provider_assembly_load_s": data["provider_assembly_load_s"],
            "import_constructs_s": data["phases"][2]["seconds"],
        }
    info["runs"] = runs
    info["cold_root_size_mib"] = round(_cache_dir_size(cold_root) / 2**20, 1)
    return info


def bench_synth(runs: int, quick: bool, log) -> dict:
    """Run the synth section; returns its JSON-ready result."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    try:
        return _bench_synth(tmp, runs, quick, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench_synth(tmp: Path, runs: int, quick: bool, log) -> dict:
    modes = [m for m in MODES if framework_installed(MODES[m]["FRAMEWORK"])]
    missing = sorted({MODES[m]["FRAMEWORK"] for m in MODES} - {MODES[m]["FRAMEWORK"] for m in modes})
    if "stock" not in modes:
        raise BenchError("cdktf is not installed; make bench installs both frameworks (FRAMEWORK categories of the Pipfile)")
    result: dict = {"runs": runs, "modes": modes, "labels": {m: MODE_LABELS[m] for m in modes}, "not_installed": missing}
    # Warm-up (not counted): .pyc files (a framework's category installs uncompiled, so the first
    # stock import compiles ~2,200 modules), the staged handlers copy, the OS page cache.
    for mode in modes:
        log(f"synth: warm-up run {mode} (not counted)")
        _synth_once(mode, tmp, -1)
    samples = _interleaved(modes, runs, lambda mode, i: _synth_once(mode, tmp, i), log, "synth")
    for mode, rows in samples.items():
        result[mode] = {
            "wall_s": summary([r["wall_s"] for r in rows]),
            "max_rss_mib": summary([r["max_rss_mib"] for r in rows]),
            "stacks": rows[0]["stacks"],
            "node_hook": sorted({r["node_hook"] for r in rows}),
        }
    stock_wall, stock_rss = result["stock"]["wall_s"]["median"], result["stock"]["max_rss_mib"]["median"]
    for mode in modes:
        result[mode]["ratio_wall"] = round(result[mode]["wall_s"]["median"] / stock_wall, 3)
        result[mode]["ratio_max_rss"] = round(result[mode]["max_rss_mib"]["median"] / stock_rss, 3)
    result["ratio_wall"], result["ratio_max_rss"] = result["ours"]["ratio_wall"], result["ours"]["ratio_max_rss"]
    result["target_ratio"] = TARGET_RATIO
    result["meets_target"] = result["ratio_wall"] <= TARGET_RATIO and result["ratio_max_rss"] <= 1.0
    result["outputs_identical"] = _same_output(samples["stock"][0]["outdir"], samples["ours"][0]["outdir"])
    if "cdktn" in modes:
        result["cdktn_same_terraform"] = _same_terraform(samples["ours"][0]["outdir"], samples["cdktn"][0]["outdir"])
    result["json_floor"] = _json_floor(tmp, runs, samples["ours"][0]["outdir"])
    log(f"synth: json.dump floor {result['json_floor']['wall_s']['median']:.3f}s")
    result["cli"] = _cli_section(tmp, runs, log)
    result["breakdown"] = _breakdown(tmp, [m for m in ("ours", "stock", "cdktn") if m in modes], 1 if quick else max(1, min(runs, 3)), log)
    result["repeated_work"] = result["breakdown"].pop("repeated_work")
    try:
        result["jsii_package_cache"] = _jsii_cache(tmp, quick)
    except BenchError as error:  # keep the figures above even if a cache experiment fails
        result["jsii_package_cache"] = {"error": str(error)}
    return result


def _interleaved(modes: list[str], runs: int, once, log, what: str) -> dict[str, list[dict]]:
    """``runs`` samples per mode, interleaved and rotating which mode goes first, so load drift hits all alike."""
    samples: dict[str, list[dict]] = {mode: [] for mode in modes}
    for i in range(runs):
        for mode in modes[i % len(modes) :] + modes[: i % len(modes)]:
            sample = once(mode, i)
            samples[mode].append(sample)
            log(f"{what}: {MODE_LABELS[mode]:18s} run {i + 1}/{runs}: {sample['wall_s']:.2f}s, peak RSS {sample['max_rss_mib']:.0f} MiB")
    return samples


def _json_floor(tmp: Path, runs: int, synthesized: Path) -> dict:
    """Lower bound: a process that only loads json and writes the same documents."""
    floor_runs = []
    for i in range(runs):
        r = run([PYTHON, "-c", JSON_FLOOR_CODE, str(synthesized), str(tmp / f"json-floor-{i}")])
        floor_runs.append({"wall_s": r.wall_s, **json.loads(r.stdout)})
    return {
        "wall_s": summary([r["wall_s"] for r in floor_runs]),
        "dump_only_s": summary([r["dump_s"] for r in floor_runs]),
        "files": floor_runs[0]["files"],
        "bytes": floor_runs[0]["bytes"],
    }


def _cli_section(tmp: Path, runs: int, log) -> dict:
    """The same synths through each framework's npm CLI (cdktf.json's `pipenv run python main.py`), when installed."""
    modes = [m for m in ("stock", "ours", "cdktn") if framework_installed(MODES[m]["FRAMEWORK"]) and cli_path(MODES[m]["FRAMEWORK"])]
    if not modes:
        return {"skipped": "no framework CLI installed (make cli, make cli FRAMEWORK=cdktn)"}
    pipenv_dir, how = _pipenv_dir(tmp)
    cli_runs = max(1, min(runs, 3))
    try:
        samples = _interleaved(modes, cli_runs, lambda mode, i: _cli_once(mode, tmp, i, pipenv_dir), log, "CLI synth")
    except BenchError as error:
        return {"skipped": f"CLI synth failed: {error}"}
    out: dict = {"pipenv": how, "runs": cli_runs, "modes": modes, "not_installed": sorted({f for f in FRAMEWORKS if not cli_path(f)})}
    for mode, rows in samples.items():
        out[mode] = {"wall_s": summary([r["wall_s"] for r in rows]), "max_rss_mib": summary([r["max_rss_mib"] for r in rows])}
    return out


def _breakdown(tmp: Path, modes: list[str], probe_runs: int, log) -> dict:
    """Phase marks inside the process, plus -X importtime for the provider import, per mode."""
    out: dict = {}
    for mode in modes:
        probes = [_probe(mode, tmp, i) for i in range(probe_runs)]
        labels = [p["phase"] for p in probes[0]["phases"]]
        out[mode] = {
            "runs": probe_runs,
            "import_mode": probes[0]["import_mode"],
            "phases": [{"phase": label, "seconds": round(_median([p["phases"][j]["seconds"] for p in probes]), 3)} for j, label in enumerate(labels)],
            "wall_s_with_importtime": round(_median([p["wall_s"] for p in probes]), 3),
            "provider_assembly_load_s": round(_median([p["provider_assembly_load_s"] or 0 for p in probes]), 3),
            "provider_python_submodules_s": round(_median([p["provider_python_submodules_s"] for p in probes]), 3),
            "provider_submodules_loaded": probes[0]["provider_submodules_loaded"],
            "modules_loaded": probes[0]["modules_loaded"],
            "python_max_rss_mib": median([p["python_max_rss_mib"] for p in probes]),
            "node_max_rss_mib": median([p["node_max_rss_mib"] for p in probes]),
            "tree_max_rss_mib": round(_median([p["max_rss_mib"] for p in probes]), 1),
        }
        if mode == "ours":
            out["repeated_work"] = {
                "stacks": probes[0]["stacks"],
                "schema_file_opens": probes[0]["schema_opens"],
                "handler_files": probes[0]["handler_files"],
                "handler_file_opens": probes[0]["handler_file_opens"],
            }
        log(f"synth: breakdown {MODE_LABELS[mode]} done")
    return out


def _same_output(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*.json"))
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


def _same_terraform(a: Path, b: Path) -> bool:
    """Each stack's cdk.tf.json equal apart from the "//" metadata (what the frameworks' versions change)."""
    stacks_a = sorted(p.name for p in (a / "stacks").iterdir())
    if stacks_a != sorted(p.name for p in (b / "stacks").iterdir()):
        return False

    def terraform(directory: Path, stack: str) -> dict:
        return {k: v for k, v in json.loads((directory / "stacks" / stack / "cdk.tf.json").read_text()).items() if k != "//"}

    return all(terraform(a, stack) == terraform(b, stack) for stack in stacks_a)
