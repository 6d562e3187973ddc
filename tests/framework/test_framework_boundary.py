"""The framework and the provider are imported in exactly one place each, so a switch (FRAMEWORK=cdktf|cdktn) stays cheap."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("main.py", "stacks", "constructs_lib", "pipeline_config", "handlers", "local_pipeline", "ordersctl", "bench")
# bench/synth_probe.py times the framework's own import phases one by one, so it has to
# import them itself; it is a measuring tool, not part of the app.
ALLOWED = {
    "cdktf": {"constructs_lib/support/framework.py", "bench/synth_probe.py"},
    "cdktn": {"constructs_lib/support/framework.py", "bench/synth_probe.py"},
    "constructs": {"constructs_lib/support/framework.py", "bench/synth_probe.py"},
    "cdktf_cdktf_provider_aws": {"constructs_lib/support/provider.py"},
    "cdktn_provider_aws": {"constructs_lib/support/provider.py"},
}


def python_files():
    for entry in SOURCE_DIRS:
        path = ROOT / entry
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def imported_roots(path: Path) -> set[str]:
    """Top-level packages a file imports: import statements and ``import_module("literal")`` calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                roots.add(first.value.split(".")[0])
    return roots


def test_framework_and_provider_imports_stay_in_their_modules():
    offenders = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        for root in imported_roots(path) & set(ALLOWED):
            if rel not in ALLOWED[root]:
                offenders.append(f"{rel} imports {root}")
    assert offenders == [], "import these through constructs_lib.support.framework / constructs_lib.support.provider: " + "; ".join(offenders)


def test_the_boundary_check_sees_real_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue\nimport cdktf\nimportlib.import_module('cdktn_provider_aws.sqs_queue')\n")
    assert imported_roots(probe) >= {"cdktf_cdktf_provider_aws", "cdktf", "cdktn_provider_aws"}
