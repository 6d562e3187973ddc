"""HandlersPackage staging: a clean, deterministic, content-addressed copy of the handlers.

``constructs_lib.support.lambda_package`` is imported inside the tests: importing it starts jsii, and
collecting the tests must not.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pipeline_config import ConfigError
from tests.files import write_tree


def stage(source: Path, staging_root: Path) -> tuple[Path, str]:
    """``constructs_lib.support.lambda_package.stage``, imported on first use."""
    from constructs_lib.support.lambda_package import stage as real_stage

    return real_stage(source, staging_root)


@pytest.fixture()
def source(tmp_path) -> Path:
    """A handlers-like tree with code, a schema, and everything that must NOT ship."""
    return write_tree(
        tmp_path / "handlers",
        {
            "api_handler/app.py": "print('api')\n",
            "order_processor/app.py": "print('processor')\n",
            "schemas/order.schema.json": "{}\n",
            "api_handler/__pycache__/app.cpython-312.pyc": "bytecode",
            "order_processor/app.pyc": "bytecode",
            "tests/test_app.py": "def test(): pass\n",
            "api_handler/test_logic.py": "def test(): pass\n",
            "conftest.py": "",
            ".env": "SECRET=1\n",
            ".hidden/notes.txt": "x\n",
        },
    )


def _files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_stage_copies_only_shipped_files(source, tmp_path):
    staged, digest = stage(source, tmp_path / "staging")
    assert staged == tmp_path / "staging" / digest
    assert _files(staged) == {"api_handler/app.py", "order_processor/app.py", "schemas/order.schema.json"}


def test_hash_ignores_mtimes_and_caches_but_not_content(source, tmp_path):
    _, first = stage(source, tmp_path / "a")
    os.utime(source / "api_handler" / "app.py", (1, 1))
    write_tree(source, {"order_processor/__pycache__/x.cpython-312.pyc": "new cache", "tests/test_more.py": "x"})
    _, second = stage(source, tmp_path / "b")
    assert second == first
    (source / "api_handler" / "app.py").write_text("print('changed')\n")
    _, third = stage(source, tmp_path / "c")
    assert third != first


def test_hash_changes_when_a_file_is_renamed(source, tmp_path):
    _, first = stage(source, tmp_path / "a")
    (source / "schemas" / "order.schema.json").rename(source / "schemas" / "renamed.json")
    _, second = stage(source, tmp_path / "b")
    assert second != first


def test_package_is_staged_once_per_process(source, tmp_path, monkeypatch):
    from constructs_lib.support import lambda_package
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps

    calls = []
    real_stage = lambda_package.stage

    def counted_stage(*args):
        calls.append(args)
        return real_stage(*args)

    monkeypatch.setattr(lambda_package, "stage", counted_stage)
    props = HandlersPackageProps(source_dir=str(source), staging_dir=str(tmp_path / "staging"))
    app = App(outdir=str(tmp_path / "out"))
    first = HandlersPackage(TerraformStack(app, "one"), "pkg", props)
    second = HandlersPackage(TerraformStack(app, "two"), "pkg", props)
    assert len(calls) == 1
    assert first.source_code_hash == second.source_code_hash
    assert first.staged_dir == second.staged_dir


def test_missing_source_dir_is_a_config_error(tmp_path):
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps

    with pytest.raises(ConfigError) as caught:
        HandlersPackage(TerraformStack(App(outdir=str(tmp_path)), "s"), "pkg", HandlersPackageProps(source_dir=str(tmp_path / "nope")))
    assert "source_dir" in str(caught.value) and "is not a directory" in str(caught.value)


def test_synthesized_asset_is_the_staged_archive(synth_dir, dev):
    from tests.tfjson import find

    _, function = find(dev, "aws_lambda_function", handler="order_processor.app.lambda_handler")
    archive = synth_dir / "stacks" / "orders-dev" / function["filename"]
    assert archive.is_file()
    import zipfile

    names = set(zipfile.ZipFile(archive).namelist())
    assert "schemas/order.schema.json" in names
    assert not any(n.startswith("tests/") or "/tests/" in n for n in names)
    # Bytecode: exactly one cpython-312 file per shipped source when this machine has a python3.12
    # (the synth compiled it), none otherwise; never a cache the working tree happened to hold.
    from constructs_lib.support.bytecode import find_interpreter

    sources = {n for n in names if n.endswith(".py")}
    compiled = {n for n in names if n.endswith(".pyc")}
    expected = {f"{os.path.dirname(n)}/__pycache__/{os.path.basename(n)[:-3]}.cpython-312.pyc".lstrip("/") for n in sources}
    assert compiled == (expected if find_interpreter("3.12")[0] else set())


def test_the_zip_is_built_once_and_is_byte_for_byte_reproducible(tmp_path):
    """Same content -> same zip bytes (no mtimes), so a re-synth never changes the artifact."""
    import os
    import time

    from constructs_lib.support.lambda_package import build_zip

    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "app.py").write_text("print('hi')\n")
    (source / "b.json").write_text("{}\n")
    staged_a, digest_a = stage(source, tmp_path / "stage-a")
    zip_a = build_zip(staged_a, digest_a)
    time.sleep(1.1)
    os.utime(source / "pkg" / "app.py")  # a newer mtime only
    staged_b, digest_b = stage(source, tmp_path / "stage-b")
    zip_b = build_zip(staged_b, digest_b)
    assert digest_a == digest_b
    assert zip_a.read_bytes() == zip_b.read_bytes()
    assert zipfile.ZipFile(zip_a).namelist() == ["b.json", "pkg/app.py"]
    assert oct(zip_a.stat().st_mode & 0o777) == "0o644"
    (source / "pkg" / "app.py").write_text("print('changed')\n")
    staged_c, digest_c = stage(source, tmp_path / "stage-c")
    assert build_zip(staged_c, digest_c).read_bytes() != zip_a.read_bytes()


def test_the_package_carries_the_route_table_and_reads_it_alone(tmp_path):
    """The handler's router reads handlers/schemas/routes.json at init: the staged package must hold it,
    and orders_core.routes must load it with nothing but the package on the path (as in Lambda)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    staged, _ = stage(root / "handlers", tmp_path / "staging")
    assert (staged / "schemas" / "routes.json").read_bytes() == (root / "handlers" / "schemas" / "routes.json").read_bytes()
    probe = "import json, sys; sys.path[:0] = [sys.argv[1]]; from orders_core.routes import ROUTES; print(json.dumps([[r.http_method, r.path, r.operation] for r in ROUTES]))"
    # -I: no current directory, no PYTHONPATH, no user site; only the staged package is added.
    result = subprocess.run([sys.executable, "-I", "-c", probe, str(staged)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    from handlers.orders_core.routes import ROUTES

    assert json.loads(result.stdout) == [[r.http_method, r.path, r.operation] for r in ROUTES]
