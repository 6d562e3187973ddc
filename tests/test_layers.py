"""Imports only go down: the layers of README's architecture, read from every module's imports with ``ast``.

Infrastructure, bottom to top: ``pipeline_config`` (the ground floor: configuration, names,
rules, defaults) < ``constructs_lib`` (one construct per concern, ``support/`` under them) <
``stacks`` (compose the constructs; ``stacks.app`` builds the app) < ``main`` (the entry point).
The Lambda package ``handlers/`` stands apart: it ships alone, so it imports nothing of the
project, and the infrastructure imports nothing of it (what the constructs need from it, the
schema and the routes, comes in as files read by the stack). The tools on top (``tools``,
``rehearsal``, ``ordersctl``, ``local_pipeline``, ``bench``) may use any layer, but nothing at
all imports ``main``. Nothing here imports the project, so the test costs milliseconds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Rank of each infrastructure layer: a module may import its own layer and lower ones only.
LAYERS = {"pipeline_config": 0, "constructs_lib": 1, "stacks": 2, "main": 3}
#: The Lambda package, and the names its packages have inside Lambda (handlers/ is the zip's root).
HANDLERS = "handlers"
HANDLER_PACKAGES = frozenset(p.name for p in (ROOT / HANDLERS).iterdir() if (p / "__init__.py").is_file())
#: Above the infrastructure: they may use any layer (and the handlers), never ``main``.
TOOLS = ("tools", "rehearsal", "ordersctl", "local_pipeline", "bench")
#: Every top-level name that is the project's own (an import of anything else is a library's).
PROJECT = frozenset({*LAYERS, HANDLERS, *TOOLS, *HANDLER_PACKAGES})


@dataclass(frozen=True)
class Import:
    """One import of a project module: who imports what, and where."""

    importer: str
    """The importing file, relative to the root."""
    line: int
    imported: str
    """The dotted module imported (relative imports resolved)."""

    @property
    def root(self) -> str:
        """The imported module's top-level package."""
        return self.imported.split(".")[0]


def module_name(path: Path) -> str:
    """Dotted module name of a file under the root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, text: str | None = None) -> list[Import]:
    """Every import of a project module in ``path`` (or in ``text`` as if it were ``path``): import statements anywhere (also inside functions) and ``import_module("literal")``."""
    rel = path.relative_to(ROOT).as_posix()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if text is None else text, filename=rel)):
        if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            elif node.module:
                names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = [first.value]
        found += [Import(rel, node.lineno, name) for name in names if name.split(".")[0] in PROJECT]
    return found


def source_files() -> list[Path]:
    """Every project module outside tests/ (tests may reach anywhere: they check the layers, they are not one)."""
    places = [ROOT / "main.py", *(ROOT / name for name in (*LAYERS, HANDLERS, *TOOLS) if name != "main")]
    files = []
    for place in places:
        files += [place] if place.is_file() else sorted(p for p in place.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def violation(imp: Import) -> str | None:
    """Why ``imp`` runs against the layering, or None when it goes down (or sideways within a layer)."""
    importer_root = imp.importer.split("/")[0].removesuffix(".py")
    if imp.root == "main":
        return "imports main (the entry point): import what it uses from the layer below (e.g. stacks.app.build_app)"
    if importer_root == HANDLERS:
        if imp.root not in (HANDLERS, *HANDLER_PACKAGES):
            return f"the Lambda package imports {imp.root}: it ships alone, so it imports nothing of the project"
        return None
    if importer_root in LAYERS:
        if imp.root == HANDLERS or imp.root in HANDLER_PACKAGES:
            return "the infrastructure imports the Lambda package: read its contracts (schema, routes) from files, or from pipeline_config"
        if imp.root in TOOLS:
            return f"{importer_root} imports {imp.root}, a tool above the infrastructure"
        if LAYERS[imp.root] > LAYERS[importer_root]:
            return f"{importer_root} (layer {LAYERS[importer_root]}) imports {imp.root} (layer {LAYERS[imp.root]}), a higher layer"
    return None


def violations(files: list[Path], text: str | None = None) -> list[str]:
    """Every import in ``files`` that runs up (or into the Lambda package), as ``file:line imports x: why``; ``text`` stands in for a one-file list's content."""
    found = []
    for path in files:
        for imp in project_imports(path, text):
            if why := violation(imp):
                found.append(f"{imp.importer}:{imp.line} imports {imp.imported}: {why}")
    return found


def test_no_module_imports_a_higher_layer():
    """Nothing imports main; pipeline_config < constructs_lib < stacks; handlers and infrastructure never meet."""
    files = source_files()
    assert len(files) > 100, "the walk found too few modules"
    assert violations(files) == []


def test_every_source_folder_has_a_place_in_the_layering():
    """A new top-level package is placed in LAYERS or TOOLS (else its imports would go unchecked)."""
    placed = {*LAYERS, HANDLERS, *TOOLS, "tests", "docs", "bin", "cli", "node_modules", "cdktf.out"}
    unplaced = [p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.rglob("*.py")) and p.name not in placed]
    assert unplaced == []


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("pipeline_config/probe.py", "from constructs_lib.alarms import PipelineAlarms\n", "a higher layer"),
        ("pipeline_config/probe.py", "def f():\n    import stacks.app\n", "a higher layer"),
        ("constructs_lib/probe.py", "from handlers.orders_core.routes import ROUTES\n", "imports the Lambda package"),
        ("constructs_lib/probe.py", "import orders_core.settings\n", "imports the Lambda package"),
        ("constructs_lib/support/probe.py", "from ...stacks import app\n", "a higher layer"),
        ("stacks/probe.py", "from main import build_app\n", "imports main"),
        ("stacks/probe.py", "from rehearsal import runner\n", "a tool above"),
        ("tools/probe.py", "import main\n", "imports main"),
        ("handlers/orders_core/probe.py", "from pipeline_config import naming\n", "ships alone"),
        ("stacks/probe.py", "importlib.import_module('handlers.orders_core.settings')\n", "imports the Lambda package"),
    ],
)
def test_an_import_that_runs_up_is_caught(where, source, expected):
    """The check fails on each kind of violation (module-level, inside a function, relative, import_module)."""
    found = violations([ROOT / where], source)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("stacks/probe.py", "from constructs_lib.support.framework import App\nfrom pipeline_config import naming\n"),
        ("constructs_lib/probe.py", "from . import validation\nfrom .support.provider import SqsQueue\n"),
        ("handlers/api_handler/probe.py", "from orders_core.routes import ROUTES\nfrom handlers.orders_core import model\n"),
        ("local_pipeline/probe.py", "from handlers.orders_core import settings\nfrom stacks.app import build_app\n"),
    ],
)
def test_imports_that_go_down_pass(where, source):
    """Down, sideways within a layer, and tools using lower layers are all fine."""
    assert violations([ROOT / where], source) == []
