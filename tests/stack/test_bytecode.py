"""The Lambda package ships bytecode for the runtime: found interpreter, reproducible bytes, used by Python, never stale.

Tests that compile need a Python 3.12 (pyenv's on these machines); they skip, saying so, without one.
``constructs_lib.support.lambda_package`` is imported inside the tests (it starts jsii).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from constructs_lib.support import bytecode
from constructs_lib.support.bytecode import BytecodeError, Interpreter, compile_tree, find_interpreter
from pipeline_config import ConfigError
from tests.files import write_tree

PY312, _ = find_interpreter("3.12")
needs_312 = pytest.mark.skipif(PY312 is None, reason="no Python 3.12 on this machine (LAMBDA_BYTECODE_PYTHON, PATH, pyenv)")


def py312() -> Interpreter:
    """The Python 3.12 a ``needs_312`` test runs with (the mark skips it where there is none)."""
    assert PY312 is not None, "a test that needs Python 3.12 lacks the needs_312 mark"
    return PY312


@pytest.fixture()
def source(tmp_path) -> Path:
    return write_tree(
        tmp_path / "handlers",
        {
            "pkg/__init__.py": "",
            "pkg/app.py": "ALLOWED = {'a', 'b', 'c', 'd'}\n\ndef handler():\n    return sorted(ALLOWED)\n",
            "schemas/s.json": "{}\n",
        },
    )


def _package(tmp_path, source, staging: str = "staging", **props):
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps

    stack = TerraformStack(App(outdir=str(tmp_path / f"out-{staging}")), "s")
    return HandlersPackage(stack, "pkg", HandlersPackageProps(source_dir=str(source), staging_dir=str(tmp_path / staging), **props))


def _names(zip_path: Path) -> set[str]:
    return set(zipfile.ZipFile(zip_path).namelist())


# ------------------------------------------------------------------ finding the interpreter
def test_an_explicit_interpreter_of_another_version_is_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setenv(bytecode.INTERPRETER_VAR, sys.executable)  # the test runner: 3.11 here, never 3.12's bytecode
    minor = "3.99"
    with pytest.raises(BytecodeError, match=r"LAMBDA_BYTECODE_PYTHON=.* is Python 3\.\d+\.\d+, but the functions run python3\.99"):
        find_interpreter(minor)


def test_an_explicit_interpreter_that_does_not_run_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(bytecode.INTERPRETER_VAR, str(tmp_path / "python3.12"))
    with pytest.raises(BytecodeError, match="does not run"):
        find_interpreter("3.12")


def test_nothing_found_says_where_it_looked(monkeypatch):
    monkeypatch.delenv(bytecode.INTERPRETER_VAR, raising=False)
    monkeypatch.setattr(bytecode, "candidates", lambda minor, environ: ["/nonexistent/python3.12"])
    interpreter, checked = find_interpreter("3.12")
    assert interpreter is None
    assert "LAMBDA_BYTECODE_PYTHON" in checked and "pyenv" in checked


def test_the_running_interpreter_is_a_candidate_of_its_own_version(monkeypatch):
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert bytecode.candidates(minor, {"PATH": "", "PYENV_ROOT": "/nonexistent"})[0] == sys.executable
    monkeypatch.delenv(bytecode.INTERPRETER_VAR, raising=False)
    found, _ = find_interpreter(minor)
    assert found is not None and found.version.startswith(minor + ".")


def test_runtime_version_reads_python_runtimes_only():
    assert bytecode.runtime_version("python3.12") == "3.12"
    with pytest.raises(ValueError, match="not a Python Lambda runtime"):
        bytecode.runtime_version("nodejs20.x")


# ------------------------------------------------------------------ the package
def test_auto_without_an_interpreter_ships_sources_and_warns_once(monkeypatch, tmp_path, source):
    from constructs_lib.support import lambda_package

    lambda_package.drain_warnings()
    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: (None, "the places"))
    package = _package(tmp_path, source)
    _package(tmp_path, source, staging="again")
    assert not any(n.endswith(".pyc") for n in _names(package.zip_path))
    assert package.bytecode_compiled_by == "none"
    warnings = lambda_package.drain_warnings()
    assert len(warnings) == 1
    assert "no Python 3.12 found" in warnings[0] and "the places" in warnings[0] and '"lambda_bytecode": "off"' in warnings[0]


def test_required_without_an_interpreter_fails_the_synth_naming_the_setting(monkeypatch, tmp_path, source):
    from constructs_lib.support import lambda_package

    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: (None, "the places"))
    with pytest.raises(ConfigError, match=r"lambda_bytecode: no Python 3\.12 found .*\(given 'required'\)\. Fix: install python3\.12"):
        _package(tmp_path, source, bytecode="required")


def test_off_never_looks_for_an_interpreter(monkeypatch, tmp_path, source):
    from constructs_lib.support import lambda_package

    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: pytest.fail("looked for an interpreter"))
    package = _package(tmp_path, source, bytecode="off")
    assert not any(n.endswith(".pyc") for n in _names(package.zip_path))


def test_bad_props_are_reported_together(tmp_path, source):
    with pytest.raises(ConfigError) as caught:
        _package(tmp_path, source, bytecode="yes", runtime="nodejs20.x")
    assert "bytecode: must be one of 'auto', 'required', 'off'" in str(caught.value)
    assert "runtime: not a Python Lambda runtime" in str(caught.value)


@needs_312
def test_bytecode_does_not_change_the_source_code_hash(monkeypatch, tmp_path, source):
    """A machine without python3.12 (sources only) plans no change against one with it."""
    from constructs_lib.support import lambda_package

    with_bytecode = _package(tmp_path, source, staging="a")
    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: (None, "nowhere"))
    without = _package(tmp_path, source, staging="b")
    lambda_package.drain_warnings()
    assert with_bytecode.bytecode_compiled_by.startswith("Python 3.12.")
    assert with_bytecode.source_code_hash == without.source_code_hash
    assert _names(with_bytecode.zip_path) == _names(without.zip_path) | {"pkg/__pycache__/__init__.cpython-312.pyc", "pkg/__pycache__/app.cpython-312.pyc"}


@needs_312
def test_the_zip_with_bytecode_is_byte_for_byte_reproducible(tmp_path, source):
    """Separate staging dirs, separate interpreter runs (each with its own hash seed; the module has set literals), same bytes."""
    first = _package(tmp_path, source, staging="a").zip_path.read_bytes()
    second = _package(tmp_path, source, staging="b").zip_path.read_bytes()
    assert first == second


@needs_312
def test_python_uses_the_shipped_bytecode_and_ignores_it_once_the_source_changes(tmp_path, source):
    """Unzipped read-only like /var/task (-B: nothing written): the module is not compiled at import;
    after an edit of its source the stale bytecode is ignored (checked hash), never run."""
    package = _package(tmp_path, source)
    task = tmp_path / "task"
    zipfile.ZipFile(package.zip_path).extractall(task)
    probe = (
        "import sys\ncompiled = []\nsys.addaudithook(lambda e, a: compiled.append(a[1]) if e == 'compile' and isinstance(a[1], str) and a[1].endswith('app.py') else None)\n"
        "import pkg.app\nprint(len(compiled), pkg.app.handler())"
    )

    def run() -> str:
        done = subprocess.run([py312().path, "-B", "-c", f"import sys; sys.path.insert(0, {str(task)!r})\n" + probe], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run() == "0 ['a', 'b', 'c', 'd']"
    (task / "pkg" / "app.py").write_text("def handler():\n    return 'edited'\n")
    assert run() == "1 edited"


@needs_312
def test_a_handler_that_does_not_compile_fails_the_synth_naming_the_file(tmp_path, source):
    write_tree(source, {"pkg/broken.py": "def broken(:\n"})
    with pytest.raises(ConfigError, match=r"(?s)lambda_bytecode: compiling the handlers with Python 3\.12.*broken\.py"):
        _package(tmp_path, source)


@needs_312
def test_compile_tree_writes_checked_hash_bytecode_named_by_package_path(tmp_path, source):
    compiled = compile_tree(py312(), source)
    assert compiled == ["pkg/__init__.py", "pkg/app.py"]
    data = (source / "pkg" / "__pycache__" / "app.cpython-312.pyc").read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b11  # hash-based, checked against the source
    assert b"pkg/app.py" in data and str(tmp_path).encode() not in data  # no build-machine path inside


def test_an_interpreter_of_the_wrong_tag_is_refused(tmp_path, source):
    fake = Interpreter(sys.executable, "3.99.0")
    with pytest.raises(BytecodeError, match=r"writes cpython-3\d+ bytecode, expected cpython-399"):
        compile_tree(fake, source)


@needs_312
def test_a_later_synth_reuses_the_bytecode_build_without_probing_interpreters(monkeypatch, tmp_path, source):
    """ "auto": the next process finds the build of the same sources and skips the interpreter probes;
    "required" and an explicit LAMBDA_BYTECODE_PYTHON are checked every time."""
    from constructs_lib.support import lambda_package

    monkeypatch.delenv(bytecode.INTERPRETER_VAR, raising=False)
    first = _package(tmp_path, source)
    monkeypatch.setattr(lambda_package, "_STAGED", {})  # a new synth process
    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: pytest.fail("probed interpreters although the build exists"))
    again = _package(tmp_path, source)
    assert (again.zip_path, again.bytecode_compiled_by) == (first.zip_path, first.bytecode_compiled_by)
    assert again.bytecode_compiled_by.startswith("Python 3.12.")

    monkeypatch.setattr(lambda_package, "_STAGED", {})
    monkeypatch.setattr(lambda_package, "find_interpreter", lambda minor: (None, "nowhere"))
    with pytest.raises(ConfigError, match="given 'required'"):
        _package(tmp_path, source, bytecode="required")
    monkeypatch.setenv(bytecode.INTERPRETER_VAR, py312().path)
    probed: list[str] = []

    def find_explicit(minor):
        probed.append(minor)
        return py312(), "explicit"

    monkeypatch.setattr(lambda_package, "find_interpreter", find_explicit)
    _package(tmp_path, source)
    assert probed == ["3.12"]
