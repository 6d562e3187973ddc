"""``HandlersPackage``: the Lambda code archive, staged from a clean, content-addressed copy of ``handlers/``.

The archive ships the sources and, by default, their bytecode for the functions' runtime
(``constructs_lib.support.bytecode``): Lambda cannot write ``__pycache__`` in ``/var/task``, so without it
every cold start compiles the handlers again. ``source_code_hash`` covers the sources only:
bytecode is derived from them (and checked against them by Python at import), so a machine
that has no python3.12 and ships sources only plans no change against one that ships both.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.support.bytecode import BYTECODE_MODES, INTERPRETER_VAR, BytecodeError, Interpreter, cache_tag, compile_tree, find_interpreter, runtime_version
from constructs_lib.support.framework import AssetType, Construct, TerraformAsset
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigError, ConfigProblem

#: Directory names never shipped: caches and test suites.
EXCLUDED_DIR_NAMES = frozenset({"__pycache__", "tests", "test", "node_modules"})
#: File suffixes never copied from the source dir: bytecode there is whatever a local run left
#: (any Python version); the package's own is compiled for the runtime (``constructs_lib.support.bytecode``).
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

_STAGED: dict[tuple[str, str, str, str], tuple[Path, str, Path, str]] = {}
#: Warnings of this process's synth (one per distinct message), for main.py to print on stderr.
_WARNINGS: list[str] = []
_LOCK = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class HandlersPackageProps:
    """Settings of ``HandlersPackage``."""

    source_dir: str = "handlers"
    """Directory of the Lambda code (every function of the stack ships the same package). Default
    ``handlers`` (relative to the working directory); the stack passes an absolute path."""
    staging_dir: str | None = None
    """Where clean copies are staged, one sub-directory per content hash. ``None``:
    ``<parent of source_dir>/.build/handlers-src`` (git-ignored)."""
    runtime: str = "python3.12"
    """The functions' Lambda runtime: the bytecode is compiled for its Python version."""
    bytecode: str = "auto"
    """``"auto"``: ship bytecode when a Python of the runtime's version is found, else sources only
    (with a warning); ``"required"``: fail the synth without one; ``"off"``: sources only."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting."""
        problems = []
        if not Path(self.source_dir).is_dir():
            problems.append(ConfigProblem("source_dir", self.source_dir, "is not a directory", "point source_dir at the handlers/ directory"))
        if self.bytecode not in BYTECODE_MODES:
            problems.append(ConfigProblem("bytecode", self.bytecode, f"must be one of {', '.join(map(repr, BYTECODE_MODES))}", 'use "auto" (the default), "required" or "off"'))
        try:
            runtime_version(self.runtime)
        except ValueError as exc:
            problems.append(ConfigProblem("runtime", self.runtime, str(exc), "use a Python runtime such as 'python3.12'"))
        return problems


def is_shipped(relative: Path) -> bool:
    """True when a path under the source dir belongs in the package (no caches, tests or dotfiles)."""
    for part in relative.parts[:-1]:
        if part.startswith(".") or part in EXCLUDED_DIR_NAMES:
            return False
    name = relative.name
    if name.startswith(".") or name.endswith(EXCLUDED_SUFFIXES):
        return False
    is_test = name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")))
    return not is_test


def shipped_files(source_dir: Path) -> list[Path]:
    """Every file of the package, relative to ``source_dir``, in a stable (sorted) order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(source_dir):
        # Prune here so os.walk does not descend into caches/tests at all.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in EXCLUDED_DIR_NAMES)
        for name in files:
            relative = (Path(root) / name).relative_to(source_dir)
            if is_shipped(relative):
                found.append(relative)
    return sorted(found, key=lambda p: p.as_posix())


def content_hash(source_dir: Path, files: list[Path]) -> str:
    """sha256 over each shipped file's relative path and bytes: independent of mtimes and caches."""
    digest = hashlib.sha256()
    for relative in files:
        data = (source_dir / relative).read_bytes()
        digest.update(relative.as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def stage(source_dir: Path, staging_root: Path) -> tuple[Path, str]:
    """Copy the shipped files to ``staging_root/<hash>/`` (once; reused when present) and return (dir, hash)."""
    files = shipped_files(source_dir)
    digest = content_hash(source_dir, files)
    target = staging_root / digest
    if target.is_dir():
        return target, digest  # content-addressed: an existing dir holds exactly these files
    staging_root.mkdir(parents=True, exist_ok=True)
    # Build in a temp dir and rename it into place, so parallel synths never see half a copy.
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=staging_root))
    try:
        for relative in files:
            destination = tmp / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_dir / relative, destination)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # somebody else won the race: fine; anything else is real
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target, digest


ZIP_NAME = "archive.zip"
# A fixed timestamp and mode for every entry: the zip's bytes depend on content only.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644 << 16


def with_bytecode(staged_dir: Path, digest: str, interpreter: Interpreter) -> Path:
    """A copy of the staged sources plus their bytecode for ``interpreter``'s version, once per
    content hash and version (``<staging root>/<hash>-cpython-312``); return its path."""
    target = staged_dir.parent / f"{digest}-{interpreter.tag}"
    if target.is_dir():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-{interpreter.tag}-", dir=staged_dir.parent))
    try:
        shutil.copytree(staged_dir, tmp, dirs_exist_ok=True)
        compile_tree(interpreter, tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def build_zip(staged_dir: Path, digest: str, variant: str = "source") -> Path:
    """Zip the staged files (sorted, fixed timestamps) once per content hash and variant
    (``source``, or a bytecode tag such as ``cpython-312``); return the zip's path.

    Built here rather than by cdktf's ARCHIVE asset type: cdktf zips the directory again in
    node for every stack (about 0.25 s each, most of a synth), and its zips embed mtimes.
    """
    target = staged_dir.parent / f"{digest}-zip-{variant}" / ZIP_NAME
    if target.is_file():
        return target  # content-addressed, like the staged dir
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".archive-", suffix=".zip", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in staged_dir.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(path.relative_to(staged_dir).as_posix(), date_time=_ZIP_DATE_TIME)
                info.external_attr = _ZIP_FILE_MODE
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it 0600; the zip holds nothing secret
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


class HandlersPackage(Construct):
    """A ``TerraformAsset`` (zip archive) of a clean copy of the handlers, plus a stable content hash."""

    def __init__(self, scope: Construct, id: str, props: HandlersPackageProps | None = None) -> None:
        props = props or HandlersPackageProps()
        raise_problems(props, "HandlersPackage", id)
        super().__init__(scope, id)
        staged_dir, digest, zip_path, compiled_by = build_package(props, id)

        # A FILE asset of the prebuilt zip: cdktf copies it into each stack's assets/.
        asset = TerraformAsset(self, "asset", path=str(zip_path), type=AssetType.FILE, asset_hash=digest)
        self.zip_path: Path = zip_path
        self.asset: TerraformAsset = asset
        self.staged_dir: Path = staged_dir
        #: Who compiled the shipped bytecode (``"Python 3.12.1"``), or ``"none"``: sources only.
        self.bytecode_compiled_by: str = compiled_by
        self.asset_path: str = asset.path
        # Only a trigger for the provider (>= 5.x keeps it apart from the computed code_sha256),
        # so our own hash works and, unlike a zip's hash, ignores mtimes.
        self.source_code_hash: str = digest


def build_package(props: HandlersPackageProps, id: str = "handlers-package") -> tuple[Path, str, Path, str]:
    """Stage, compile and zip the package once per process and props: (staged dir, source hash,
    zip, who compiled its bytecode or ``"none"``). What ``HandlersPackage`` ships; the bench
    measures the same zip. ``ConfigError`` naming ``lambda_bytecode`` when compiling fails."""
    source = Path(props.source_dir).resolve()
    staging_root = Path(props.staging_dir).resolve() if props.staging_dir else source.parent / ".build" / "handlers-src"
    key = (str(source), str(staging_root), props.runtime, props.bytecode)
    with _LOCK:  # stage once per process, however many stacks use the package
        if key not in _STAGED:
            staged, digest = stage(source, staging_root)
            cached = _earlier_bytecode_build(props, staged, digest)
            if cached is not None:
                _STAGED[key] = cached
                return cached
            interpreter = _interpreter(props, id)
            if interpreter is None:
                _STAGED[key] = (staged, digest, build_zip(staged, digest), "none")
            else:
                try:
                    compiled = with_bytecode(staged, digest, interpreter)
                except BytecodeError as exc:
                    raise ConfigError(
                        [ConfigProblem("lambda_bytecode", props.bytecode, str(exc), 'fix the handler or the interpreter, or set "lambda_bytecode": "off"')],
                        context=f"HandlersPackage {id!r}",
                    ) from exc
                zip_path = build_zip(compiled, digest, interpreter.tag)
                _write_atomically(zip_path.with_name(COMPILED_BY_FILE), f"Python {interpreter.version}")
                _STAGED[key] = (compiled, digest, zip_path, f"Python {interpreter.version}")
        return _STAGED[key]


#: Beside a bytecode build's zip (not in it): who compiled it, so a later synth can reuse the build.
COMPILED_BY_FILE = "compiled-by.txt"


def _earlier_bytecode_build(props: HandlersPackageProps, staged: Path, digest: str) -> tuple[Path, str, Path, str] | None:
    """Under ``"auto"`` with no ``LAMBDA_BYTECODE_PYTHON``: the bytecode build an earlier synth made of
    exactly these sources (content-addressed), so this synth skips probing interpreters (about
    0.25 s of subprocesses with a pyenv shim on PATH). ``"required"`` and an explicit interpreter
    are always checked."""
    if props.bytecode != "auto" or os.environ.get(INTERPRETER_VAR, "").strip():
        return None
    tag = cache_tag(runtime_version(props.runtime))
    compiled = staged.parent / f"{digest}-{tag}"
    stamp = staged.parent / f"{digest}-zip-{tag}" / COMPILED_BY_FILE
    zip_path = stamp.with_name(ZIP_NAME)
    if compiled.is_dir() and zip_path.is_file() and stamp.is_file():
        return compiled, digest, zip_path, stamp.read_text().strip()
    return None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _interpreter(props: HandlersPackageProps, id: str) -> Interpreter | None:
    """The interpreter that compiles the package, or None for sources only (a warning under "auto")."""
    if props.bytecode == "off":
        return None
    minor = runtime_version(props.runtime)
    try:
        interpreter, checked = find_interpreter(minor)
    except BytecodeError as exc:  # an explicit LAMBDA_BYTECODE_PYTHON that is wrong: never ignored
        raise ConfigError(
            [ConfigProblem("lambda_bytecode", props.bytecode, str(exc), f"point {INTERPRETER_VAR} at a python{minor} executable, or unset it")], context=f"HandlersPackage {id!r}"
        ) from exc
    if interpreter is not None:
        return interpreter
    problem = f"no Python {minor} found to compile the handlers for {props.runtime} (checked {checked})"
    fix = f'install python{minor} (Ubuntu 24.04: apt install python{minor}; elsewhere pyenv install {minor}) or point {INTERPRETER_VAR} at one; or set "lambda_bytecode": "off" to ship sources only'
    if props.bytecode == "required":
        raise ConfigError([ConfigProblem("lambda_bytecode", "required", problem, fix)], context=f"HandlersPackage {id!r}")
    message = f"lambda_bytecode: {problem}; the functions ship sources only and compile them on every cold start. Fix: {fix}"
    if message not in _WARNINGS:
        _WARNINGS.append(message)
    return None


def drain_warnings() -> list[str]:
    """The packaging warnings of this process since the last call (main.py prints them on stderr)."""
    found = list(_WARNINGS)
    _WARNINGS.clear()
    return found
