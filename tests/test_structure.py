"""The code's structure: every contract written once (and every unavoidable copy tied to it), short functions.

Read with ``ast``: nothing here imports the stack or starts jsii.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline_config import output_keys
from pipeline_config.naming import CUSTOMER_INDEX_NAME, stack_name, suffix_of_stack

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


def string_constants(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every string literal that is data: not a type annotation, not an ``__all__`` entry."""
    found: list[tuple[int, str]] = []

    class Strings(ast.NodeVisitor):
        def visit_Constant(self, node: ast.Constant) -> None:
            if isinstance(node.value, str):
                found.append((node.lineno, node.value))

        def visit_arg(self, node: ast.arg) -> None:  # annotations of parameters are skipped
            pass

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            for child in (*node.decorator_list, *node.args.defaults, *node.args.kw_defaults, *node.body):
                if child is not None:
                    self.visit(child)

        visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

        def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
            if node.value is not None:
                self.visit(node.value)

        def visit_Assign(self, node: ast.Assign) -> None:
            if not any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets):
                self.generic_visit(node)

    Strings().visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def contracts() -> dict[str, tuple[str, set[str]]]:
    """Contract value -> (its one source, files allowed a tied copy)."""
    from orders_core import settings  # the handlers/ folder is on sys.path (conftest)

    found: dict[str, tuple[str, set[str]]] = {}
    for name in dir(output_keys):
        value = getattr(output_keys, name)
        if name.isupper() and isinstance(value, str) and not name.endswith("_DESCRIPTION"):
            found[value] = ("pipeline_config/output_keys.py", set())
    # (The service names are left out: "orders-api" is also the REST API's name component.)
    for value in [*settings.ENV_VARS, settings.METRICS_NAMESPACE]:
        found[value] = ("handlers/orders_core/settings.py", set())
    # The Lambda package ships alone, so it keeps a copy of the index name (tied below).
    found[CUSTOMER_INDEX_NAME] = ("pipeline_config/naming.py", {"handlers/orders_core/adapters.py"})
    return found


def test_every_contract_is_written_once():
    """An output key, an environment variable name, the metrics namespace or the GSI name
    spelled out anywhere but its source is a copy that can drift."""
    table = contracts()
    assert len(table) > 20, table
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
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
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
