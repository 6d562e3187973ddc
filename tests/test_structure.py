"""The code's structure: every contract written once (and every unavoidable copy tied to it), short functions.

Read with ``ast``: nothing here imports the stack or starts jsii.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from pipeline_config import output_keys
from pipeline_config.naming import CUSTOMER_INDEX_NAME, METRICS_NAMESPACE_BASE, UNPUBLISHED_INDEX_NAME, ResourceNames, stack_name, suffix_of_stack

ROOT = Path(__file__).resolve().parent.parent
#: Everything that ships or runs, outside tests/ (tests may spell a contract out, as an independent oracle).
CODE = ("constructs_lib", "stacks", "pipeline_config", "ordersctl", "rehearsal", "handlers", "local_pipeline", "bench", "tools", "main.py")
#: Where functions must fit one view. bench/ is measurement scaffolding, tools/ one-off checks.
SHORT_FUNCTIONS = ("constructs_lib", "stacks", "pipeline_config", "ordersctl", "rehearsal", "handlers", "local_pipeline", "main.py")
MAX_FUNCTION_LINES = 120


def python_files(places: tuple[str, ...]) -> list[Path]:
    """Every .py file under ``places`` (files or folders relative to the root)."""
    files: list[Path] = []
    for place in places:
        path = ROOT / place
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


@functools.cache
def parsed(path: Path) -> ast.Module:
    """A file's syntax tree, parsed once per session."""
    return ast.parse(path.read_text(encoding="utf-8"))


def string_constants(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every string literal that is data: not in a type annotation, not an ``__all__`` entry."""
    tree = parsed(path)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            not_data = node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            not_data = node.returns
        elif isinstance(node, ast.AnnAssign):
            not_data = node.annotation
        elif isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets):
            not_data = node.value
        else:
            continue
        if not_data is not None:
            skipped.update(id(inner) for inner in ast.walk(not_data))
    return [(node.lineno, node.value) for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped]


def contracts() -> dict[str, tuple[str, set[str]]]:
    """Contract value -> (its one source, files allowed a tied copy)."""
    from orders_core import settings  # the handlers/ folder is on sys.path (conftest)

    found: dict[str, tuple[str, set[str]]] = {}
    for name in dir(output_keys):
        value = getattr(output_keys, name)
        if name.isupper() and isinstance(value, str) and not name.endswith("_DESCRIPTION"):
            found[value] = ("pipeline_config/output_keys.py", set())
    # (The service names are left out: "orders-api" is also the REST API's name component.)
    # The infrastructure keeps a copy (it must not import the package); tests/config/test_lambda_contract.py ties it.
    for value in [*settings.ENV_VARS, settings.EVENT_SWEEP_MIN_AGE_VAR]:
        found[value] = ("handlers/orders_core/settings.py", {"pipeline_config/lambda_contract.py"})
    # The namespace base: the Lambda package keeps a copy as its local-run default (tied below).
    found[METRICS_NAMESPACE_BASE] = ("pipeline_config/naming.py", {"handlers/orders_core/settings.py"})
    # The Lambda package ships alone, so it keeps a copy of the index names (tied below).
    found[CUSTOMER_INDEX_NAME] = ("pipeline_config/naming.py", {"handlers/orders_core/adapters.py"})
    found[UNPUBLISHED_INDEX_NAME] = ("pipeline_config/naming.py", {"handlers/orders_core/adapters.py"})
    # Routes: the route table (a JSON file, so no .py is its source). Its resource templates and
    # construct-id fragments; a plain "/orders" is what API clients call, not a copy of the table.
    from orders_core.routes import ROUTES

    for route in ROUTES:
        for value in (route.id, *([route.path] if "{" in route.path else [])):
            found[value] = ("handlers/schemas/routes.json", set())
    return found


def test_every_contract_is_written_once():
    """An output key, an environment variable name, the metrics namespace, the GSI name or a route
    (template or id) spelled out anywhere but its source is a copy that can drift."""
    table = contracts()
    assert len(table) > 25, table
    copies = []
    for path in python_files(CODE):
        relative = path.relative_to(ROOT).as_posix()
        for line, value in string_constants(path):
            if value in table and relative != table[value][0] and relative not in table[value][1]:
                copies.append(f"{relative}:{line}: {value!r} (its source: {table[value][0]})")
    assert not copies, "contract literals outside their source; import them instead:\n" + "\n".join(copies)


def test_the_lambda_packages_copy_of_the_index_name_is_the_source():
    from orders_core.adapters import CUSTOMER_INDEX_NAME as packaged  # the handlers/ folder is on sys.path (conftest)

    assert packaged == CUSTOMER_INDEX_NAME


def test_the_lambda_packages_default_namespace_is_the_base_of_every_environments_namespace():
    from orders_core.settings import METRICS_NAMESPACE  # the handlers/ folder is on sys.path (conftest)

    assert METRICS_NAMESPACE == METRICS_NAMESPACE_BASE
    assert ResourceNames("dev").metrics_namespace == f"{METRICS_NAMESPACE_BASE}/dev"


def test_the_handlers_read_the_contract_they_are_given():
    """What the stack sets (function_environment) is what Settings.from_environ parses."""
    from orders_core.settings import API_SERVICE_NAME, Settings, function_environment

    given = Settings(orders_table_name="t", order_queue_url="https://q", order_topic_arn="arn:aws:sns:us-east-1:123456789012:e")
    environment = function_environment(given, service_name=API_SERVICE_NAME, log_level="debug")
    assert Settings.from_environ(environment) == given
    assert environment["POWERTOOLS_SERVICE_NAME"] == API_SERVICE_NAME and environment["LOG_LEVEL"] == "DEBUG"


def test_every_output_the_attached_pipeline_reads_is_one_the_stack_writes():
    from local_pipeline.attached import OPTIONAL_OUTPUTS, REQUIRED_OUTPUTS

    assert set(REQUIRED_OUTPUTS) | set(OPTIONAL_OUTPUTS) <= set(output_keys.ENVIRONMENT_OUTPUTS)


@pytest.mark.parametrize("suffix", ["dev", "pr-42", "account-us-east-1"])
def test_a_stack_name_gives_back_its_suffix(suffix):
    assert suffix_of_stack(stack_name(suffix)) == suffix


@pytest.mark.parametrize("name", ["other-dev", "orders", "orders-", "ordersdev"])
def test_other_names_are_not_our_stacks(name):
    assert suffix_of_stack(name) is None


def long_functions(files: list[Path], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name: N lines`` for every function (decorators included) longer than ``limit`` lines."""
    found = []
    for path in files:
        for node in ast.walk(parsed(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                # ast.parse sets end_lineno on every node it parses (only hand-built nodes lack it).
                assert node.end_lineno is not None, f"{path}:{node.lineno}: a parsed function without end_lineno"
                lines = node.end_lineno - start + 1
                if lines > limit:
                    found.append(f"{path.name}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_no_function_is_longer_than_one_view():
    """Functions of at most ~120 lines (STYLE.md); a longer one gets split into named builders."""
    too_long = long_functions(python_files(SHORT_FUNCTIONS))
    assert not too_long, "\n".join(too_long)


def test_the_length_check_sees_long_functions_and_methods(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    sample = tmp_path / "sample.py"
    sample.write_text(f"class C:\n    @staticmethod\n    def long():\n{body}\n\n    def short():\n        pass\n")
    assert long_functions([sample]) == [f"sample.py:3 long: {MAX_FUNCTION_LINES + 2} lines"]


#: Collects the whole suite in a child and says whether collecting imported jsii (it starts a Node.js kernel: seconds).
COLLECT_PROBE = """
import sys, pytest
class Probe:
    def pytest_collection_finish(self, session):
        print("jsii imported during collection:", "jsii" in sys.modules)
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"], plugins=[Probe()]))
"""


@pytest.mark.slow
def test_collecting_the_tests_starts_no_jsii():
    """A test module that imports the constructs or the stack at module level makes every run, even of the
    fast tier or one folder, pay for jsii's start; such imports belong inside the tests."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", COLLECT_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "jsii imported during collection: False" in result.stdout, result.stdout[-2000:]


def e2e_modules_without_the_marker(folder: Path) -> list[str]:
    """Test modules in ``folder`` whose module-level ``pytestmark`` does not carry ``pytest.mark.e2e``."""
    missing = []
    for path in sorted(folder.glob("test_*.py")):
        marks = [ast.unparse(node.value) for node in ast.parse(path.read_text()).body if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)]
        if not any("pytest.mark.e2e" in mark for mark in marks):
            missing.append(path.name)
    return missing


def test_every_e2e_module_is_out_of_the_fast_tier():
    """make test-fast deselects by marker; an e2e module without it runs a whole pipeline in the fast tier."""
    assert e2e_modules_without_the_marker(ROOT / "tests" / "e2e") == [], "add pytest.mark.e2e to the module's pytestmark"


def test_the_e2e_marker_check_sees_a_module_without_it(tmp_path):
    (tmp_path / "test_marked.py").write_text("import pytest\npytestmark = [pytest.mark.e2e, pytest.mark.timeout(9)]\n")
    (tmp_path / "test_unmarked.py").write_text("import pytest\npytestmark = pytest.mark.timeout(9)\n")
    assert e2e_modules_without_the_marker(tmp_path) == ["test_unmarked.py"]
