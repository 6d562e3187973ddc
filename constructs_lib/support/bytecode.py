"""Bytecode for the Lambda package: the handlers compiled by the runtime's Python version, at synth time.

Lambda's ``/var/task`` is read-only, so a function that ships only sources compiles them on every
cold start (about 110 M instructions for these handlers, a third of their own init; docs/cold-start.md, "Cold start and memory size"). The package therefore ships ``__pycache__/*.cpython-312.pyc``
next to each source, compiled by a Python of the runtime's minor version (bytecode is specific
to it: Python ignores a ``.pyc`` whose magic number is not its own).

Each file is compiled with ``PycInvalidationMode.CHECKED_HASH``: Python uses it only while it
matches the source's hash (not an mtime, which a zip does not keep), so an edited source is
never shadowed by stale bytecode, and a ``.pyc`` can never change what runs. The bytes are
reproducible: each code object's file name is the path inside the package, not the build
machine's, and since Python 3.11 marshal writes set constants in a fixed order whatever the hash
seed (checked with seeds 1-4; a test builds the zip twice and compares the bytes).

The interpreter is looked up in this order: ``LAMBDA_BYTECODE_PYTHON`` (an explicit choice:
it must be that version), ``python3.12`` on ``PATH``, pyenv's versions (``$PYENV_ROOT`` or
``~/.pyenv``), ``/usr/bin`` and ``/usr/local/bin``. The running interpreter counts when it is
that version.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline_config.rules import LAMBDA_BYTECODE_MODES as BYTECODE_MODES  # noqa: F401 -- re-exported: the setting's values, written once, read by lambda_package

#: Points at the interpreter that compiles the handlers (for example a pyenv or deadsnakes python3.12).
INTERPRETER_VAR = "LAMBDA_BYTECODE_PYTHON"

# Runs in the runtime-version interpreter: compile every .py under argv[1] next to it.
_COMPILE = r"""
import json, os, py_compile, sys
root = sys.argv[1]
done = []
for base, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        if name.endswith(".py"):
            path = os.path.join(base, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            py_compile.compile(path, dfile=relative, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
            done.append(relative)
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "tag": sys.implementation.cache_tag, "compiled": done}))
"""


class BytecodeError(RuntimeError):
    """Compiling failed (a syntax error in a handler, or an interpreter that does not run)."""


@dataclass(frozen=True)
class Interpreter:
    """A Python that compiles for the runtime: its path and full version (e.g. ``3.12.1``)."""

    path: str
    version: str

    @property
    def tag(self) -> str:
        """The ``__pycache__`` tag of its bytecode, e.g. ``cpython-312``."""
        return cache_tag(".".join(self.version.split(".")[:2]))


def cache_tag(minor: str) -> str:
    """``"3.12"`` -> ``"cpython-312"``: the ``__pycache__`` tag of that version's bytecode."""
    return "cpython-" + minor.replace(".", "")


def runtime_version(runtime: str) -> str:
    """``"python3.12"`` -> ``"3.12"``."""
    if not runtime.startswith("python") or runtime.count(".") != 1:
        raise ValueError(f"not a Python Lambda runtime: {runtime!r} (expected e.g. 'python3.12')")
    return runtime.removeprefix("python")


def python_version(path: str) -> str | None:
    """``path``'s full version (``3.12.1``), or None when it does not run (a pyenv shim without that version exits 127)."""
    try:
        done = subprocess.run([path, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def candidates(minor: str, environ: dict[str, str]) -> list[str]:
    """Where a ``python<minor>`` is looked for, in order (explicit variable excluded)."""
    pyenv_root = environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = [sys.executable] if f"{sys.version_info.major}.{sys.version_info.minor}" == minor else []
    on_path = shutil.which(f"python{minor}", path=environ.get("PATH", os.defpath))
    found += [on_path] if on_path else []
    found += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{minor}.*", "bin", f"python{minor}")), reverse=True)
    found += [f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}"]
    return list(dict.fromkeys(found))


def find_interpreter(minor: str, environ: dict[str, str] | None = None) -> tuple[Interpreter | None, str]:
    """(a Python ``minor`` interpreter or None, what was checked). An explicit ``LAMBDA_BYTECODE_PYTHON``
    that is not usable is an error (``BytecodeError``), never silently replaced."""
    environ = dict(os.environ if environ is None else environ)
    explicit = environ.get(INTERPRETER_VAR, "").strip()
    if explicit:
        version = python_version(explicit)
        if version is None:
            raise BytecodeError(f"{INTERPRETER_VAR}={explicit!r} does not run")
        if ".".join(version.split(".")[:2]) != minor:
            raise BytecodeError(f"{INTERPRETER_VAR}={explicit!r} is Python {version}, but the functions run python{minor} (bytecode is specific to a minor version)")
        return Interpreter(explicit, version), f"{INTERPRETER_VAR}"
    checked = candidates(minor, environ)
    for path in checked:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            version = python_version(path)
            if version and ".".join(version.split(".")[:2]) == minor:
                return Interpreter(path, version), path
    return None, f"{INTERPRETER_VAR} (unset), python{minor} on PATH, pyenv versions, /usr/bin, /usr/local/bin"


def compile_tree(interpreter: Interpreter, root: Path) -> list[str]:
    """Compile every ``.py`` under ``root`` in place (``__pycache__`` next to it); return the files compiled."""
    env = {"PATH": os.environ.get("PATH", os.defpath)}  # -I: no PYTHON* variables, no user site, no cwd on sys.path
    try:
        done = subprocess.run([interpreter.path, "-I", "-c", _COMPILE, str(root)], capture_output=True, text=True, timeout=300, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BytecodeError(f"compiling the handlers with {interpreter.path} failed: {exc}") from exc
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-6:]
        raise BytecodeError(f"compiling the handlers with Python {interpreter.version} ({interpreter.path}) failed:\n" + "\n".join(last))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["tag"] != interpreter.tag:
        raise BytecodeError(f"{interpreter.path} writes {result['tag']} bytecode, expected {interpreter.tag}")
    return result["compiled"]
