"""The Lambda-faithful environment of the handler-init benchmark: what a python3.12 function of the stack imports from.

Three folders and nothing else on ``sys.path`` (plus the interpreter's own standard library):

* ``task``: the deployment zip, built by what ``HandlersPackage`` ships
  (``constructs_lib.support.lambda_package.build_package``: sources plus their python3.12 bytecode when
  the synth found a Python 3.12) and unzipped, as Lambda unzips it into ``/var/task``, which is
  read-only: nothing a cold start compiles is kept; the probe runs with ``-B`` so that stays true.
* ``layer``: the Powertools layer the stack pins, rebuilt the way its publisher builds it
  (``pip install --target`` of the release, then boto3/botocore and their dependencies removed,
  as ``layer_v3/docker/Dockerfile`` of aws-powertools/powertools-lambda-python does), with the
  extras our functions use (``tracer``: aws-xray-sdk; ``validation``: fastjsonschema).
* ``runtime``: boto3 and its dependencies, as the python3.12 runtime ships them in ``/var/runtime``.

Everything is cached under ``.build/lambda-env/`` (git-ignored) and reused while the inputs
(interpreter, versions, zip content) are the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.measure import PYTHON, ROOT, BenchError

CACHE_ROOT = ROOT / ".build" / "lambda-env"
#: The runtime the stack deploys (constructs_lib.python_function: python3.12).
LAMBDA_PYTHON = "3.12"
#: The extras of the layer our functions use: Tracer (aws-xray-sdk) and validation (fastjsonschema).
LAYER_EXTRAS = "tracer,validation"
#: What the layer's build removes after ``pip install`` (the runtime provides them), as
#: powertools-lambda-python's layer_v3/docker/Dockerfile does: ``rm -rf boto* s3transfer*
#: *dateutil* urllib3* six* jmespath*``. ``bin`` holds console scripts no import needs.
LAYER_STRIPPED_PREFIXES = ("boto", "s3transfer", "python_dateutil", "dateutil", "urllib3", "six", "jmespath", "bin")
#: What the layer carries besides Powertools, per Powertools release. The publisher builds the layer
#: with ``pip install`` when it releases, so each dependency is the newest final release on PyPI
#: uploaded before that Powertools release (upload times from ``https://pypi.org/pypi/<name>/json``).
#: Not the dev pins of Pipfile.lock: those were resolved later, and differ where it matters (wrapt
#: 2.5.2 imports asyncio at import time; 2.0.1, in the layer, does not).
LAYER_CARRIES = {
    "3.23.0": {
        "released": "2025-11-13T16:44:23Z",
        "pins": ("aws-xray-sdk==2.15.0", "wrapt==2.0.1", "fastjsonschema==2.21.2", "typing-extensions==4.15.0"),
    },
}


@dataclass(frozen=True)
class LambdaEnv:
    """The three folders of the Lambda-faithful environment and how they were made."""

    python: str
    """Interpreter the probes run with (python3.12 when found)."""
    python_version: str
    python_note: str
    """Why this interpreter, and what that means for the figures."""
    task_dir: str
    layer_dir: str
    runtime_dir: str
    zip_path: str
    zip_sha256: str
    zip_bytecode: str
    """Who compiled the zip's python3.12 bytecode (``Python 3.12.1``), or ``none``: sources only."""
    layer: str
    """e.g. ``AWSLambdaPowertoolsPythonV3-python312-x86_64:27 = aws-lambda-powertools[tracer,validation]==3.23.0``."""
    boto3_version: str
    boto3_note: str
    powertools_names: dict
    """``POWERTOOLS_SERVICE_NAME`` per function and ``POWERTOOLS_METRICS_NAMESPACE``, as the stack sets them."""

    def sys_path(self) -> list[str]:
        """The import path a handler sees, in Lambda's order: function code, layer, runtime."""
        return [self.task_dir, self.layer_dir, self.runtime_dir]

    def describe(self) -> dict:
        """JSON-ready description for the results."""
        return asdict(self)


def powertools_release() -> tuple[int, str]:
    """(layer version the stack pins, Powertools release it carries).

    The release is the dev pin in Pipfile.lock, which tests/handlers/test_powertools_pin.py ties
    to ``PipelineConfig.powertools_layer_version``: one source for both.
    """
    from pipeline_config import PipelineConfig

    locked = json.loads((ROOT / "Pipfile.lock").read_text())["develop"]["aws-lambda-powertools"]["version"]
    return PipelineConfig().powertools_layer_version, locked.lstrip("=")


def layer_requirements(powertools: str) -> list[str]:
    """What ``pip install`` gets for the layer folder: the release and its dependencies as the layer carries them."""
    if powertools not in LAYER_CARRIES:
        raise BenchError(
            f"bench/lambda_env.py LAYER_CARRIES has no entry for Powertools {powertools} (the release Pipfile.lock pins). "
            "Fix: add one with that release's upload time and, for each of aws-xray-sdk, wrapt, fastjsonschema and "
            "typing-extensions, the newest final release uploaded before it (https://pypi.org/pypi/<name>/json)"
        )
    return [f"aws-lambda-powertools[{LAYER_EXTRAS}]=={powertools}", *LAYER_CARRIES[powertools]["pins"]]


def runtime_boto3_version() -> str:
    """boto3's version for the runtime folder: the one Pipfile.lock pins for the handlers ([packages])."""
    return json.loads((ROOT / "Pipfile.lock").read_text())["default"]["boto3"]["version"].lstrip("=")


def find_lambda_python() -> tuple[str, str, str]:
    """(interpreter, its version, note): python3.12 if this machine has one, else the bench's own.

    ``BENCH_LAMBDA_PYTHON`` first; then the interpreter the synth compiles the zip's bytecode with
    (``constructs_lib.support.bytecode.find_interpreter``: ``LAMBDA_BYTECODE_PYTHON``, ``python3.12`` on
    PATH, pyenv, ``/usr/bin``, ``/usr/local/bin``), so the probes run the Python that wrote the
    ``.pyc`` files they load.
    """
    from constructs_lib.support.bytecode import BytecodeError, find_interpreter, python_version

    explicit = os.environ.get("BENCH_LAMBDA_PYTHON", "")
    explicit_version = python_version(explicit) if explicit else None
    if explicit_version and explicit_version.startswith(LAMBDA_PYTHON + "."):
        found: tuple[str, str] | None = (explicit, explicit_version)
    else:
        try:
            interpreter, _ = find_interpreter(LAMBDA_PYTHON)
        except BytecodeError as exc:
            raise BenchError(f"{exc}. Fix: point LAMBDA_BYTECODE_PYTHON at a python{LAMBDA_PYTHON} executable, or unset it") from exc
        found = (interpreter.path, interpreter.version) if interpreter else None
    if found:
        return found[0], found[1], f"Python {found[1]}, the runtime's minor version (Lambda's python3.12 is a later 3.12 patch release)"
    version = python_version(PYTHON) or sys.version.split()[0]
    return (
        PYTHON,
        version,
        (
            f"ASSUMPTION: no Python {LAMBDA_PYTHON} on this machine (checked BENCH_LAMBDA_PYTHON, LAMBDA_BYTECODE_PYTHON, PATH, pyenv, "
            f"/usr/bin, /usr/local/bin); measured with Python {version}, and the zip ships sources only. Import costs differ "
            "between minor versions, so treat absolute figures as approximate"
        ),
    )


def build_lambda_env(log, *, cache_root: Path = CACHE_ROOT) -> LambdaEnv:
    """Build (or reuse) the three folders; raise ``BenchError`` naming what failed and how to fix it."""
    python, version, note = find_lambda_python()
    tag = f"py{'.'.join(version.split('.')[:2])}"
    layer_version, powertools = powertools_release()
    boto3_version = runtime_boto3_version()
    zip_path, digest, names, compiled_by, warnings = deployment_zip()
    for warning in warnings:
        log(f"handlers: warning from the package build: {warning}")
    variant = "source" if compiled_by == "none" else "bytecode"
    task_dir = _unzipped(zip_path, cache_root / f"task-{digest[:16]}-{variant}")
    layer_dir = _pip_folder(python, cache_root / tag / f"layer-powertools-{powertools}", layer_requirements(powertools), LAYER_STRIPPED_PREFIXES, log)
    runtime_dir = _pip_folder(python, cache_root / tag / f"runtime-boto3-{boto3_version}", [f"boto3=={boto3_version}"], (), log)
    return LambdaEnv(
        python=python,
        python_version=version,
        python_note=note,
        task_dir=str(task_dir),
        layer_dir=str(layer_dir),
        runtime_dir=str(runtime_dir),
        zip_path=str(zip_path),
        zip_sha256=digest,
        zip_bytecode=compiled_by,
        layer=f"AWSLambdaPowertoolsPythonV3-python312-x86_64:{layer_version} = {' '.join(layer_requirements(powertools))} (as released {LAYER_CARRIES[powertools]['released']})",
        boto3_version=boto3_version,
        boto3_note=(
            f"boto3 {boto3_version} from PyPI, the release Pipfile.lock pins for the handlers. AWS does not publish one "
            "runtime SDK version (it depends on the runtime version and the region: "
            "https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-sdk-included); the python3.12 "
            "runtime ships a boto3 1.x of the same design (service models load lazily, per client), so init costs of "
            "nearby releases differ little"
        ),
        powertools_names=names,
    )


def deployment_zip() -> tuple[Path, str, dict[str, str], str, list[str]]:
    """The Lambda zip exactly as the stack ships it (``build_package``, what ``HandlersPackage`` uses,
    with the default ``lambda_bytecode``), its content hash, the Powertools names each function
    gets (``orders_core.settings``, the one source the stack reads too), who compiled its
    bytecode (``"none"``: sources only) and the synth's packaging warnings.

    Run in a child of the project's Python: importing ``constructs_lib`` and ``stacks`` starts
    jsii's node process, which the bench process should not carry.
    """
    code = (
        "import json, pathlib; from constructs_lib.support.lambda_package import HandlersPackageProps, build_package, drain_warnings;"
        "from constructs_lib.python_function import RUNTIME; from pipeline_config import PipelineConfig;"
        "from pipeline_config.lambda_contract import API_SERVICE_NAME, METRICS_NAMESPACE, PROCESSOR_SERVICE_NAME;"
        "root = pathlib.Path.cwd();"
        "props = HandlersPackageProps(source_dir=str(root / 'handlers'), runtime=RUNTIME, bytecode=PipelineConfig().lambda_bytecode);"
        "_, digest, zip_path, compiled_by = build_package(props);"
        "names = {'api_handler': API_SERVICE_NAME, 'order_processor': PROCESSOR_SERVICE_NAME, 'namespace': METRICS_NAMESPACE};"
        "print(json.dumps([str(zip_path), digest, names, compiled_by, drain_warnings()]))"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(
            "building the deployment zip (constructs_lib.support.lambda_package.stage/build_zip) failed: "
            + result.stderr.strip()[-1500:]
            + "\nFix: make synth must work in this checkout (make env installs what it needs)"
        )
    path, digest, names, compiled_by, warnings = json.loads(result.stdout.strip().splitlines()[-1])
    return Path(path), digest, names, compiled_by, warnings


def _unzipped(zip_path: Path, target: Path) -> Path:
    if target.is_dir():
        return target  # named after the zip's content hash
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(tmp)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _pip_folder(python: str, target: Path, requirements: list[str], strip_prefixes: tuple[str, ...], log) -> Path:
    """``pip install --target`` into ``target`` once (pip compiles bytecode, as an installed package has it)."""
    stamp = target / ".complete"
    if stamp.is_file() and json.loads(stamp.read_text()) == {"python": python, "requirements": requirements}:
        return target
    log(f"handlers: installing {' '.join(requirements)} for {python} into {target.relative_to(ROOT)} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        cmd = [python, "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--target", str(tmp), *requirements]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} exited {result.returncode}: {result.stderr.strip()[-1500:]}\nFix: this needs PyPI (or a configured index) and pip for that interpreter")
        for entry in tmp.iterdir():
            if entry.name.startswith(strip_prefixes):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        (tmp / ".complete").write_text(json.dumps({"python": python, "requirements": requirements}))
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def source_only_copy(folder: str) -> str:
    """A copy of a folder without bytecode (what-ifs): the task as a synth without python3.12 ships
    it (``lambda_bytecode`` falls back to sources), or the layer as built by a Dockerfile that
    deletes ``__pycache__`` (this bench cannot download layer 27 to see which it is)."""
    source = Path(folder)
    target = source.with_name(source.name + "-source-only")
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=source.parent))
        try:
            shutil.copytree(source, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)
