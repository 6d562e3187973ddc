"""``HandlersPackage``: the Lambda code archive, staged from a clean, content-addressed copy of ``handlers/``."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.framework import AssetType, Construct, TerraformAsset
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigProblem

#: Directory names never shipped: caches and test suites.
EXCLUDED_DIR_NAMES = frozenset({"__pycache__", "tests", "test", "node_modules"})
#: File suffixes never shipped: compiled bytecode (it differs per machine and would change the hash).
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

_STAGED: dict[tuple[str, str], tuple[Path, str, Path]] = {}
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

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting."""
        if not Path(self.source_dir).is_dir():
            return [ConfigProblem("source_dir", self.source_dir, "is not a directory", "point source_dir at the handlers/ directory")]
        return []


def is_shipped(relative: Path) -> bool:
    """True when a path under the source dir belongs in the package (no caches, tests or dotfiles)."""
    for part in relative.parts[:-1]:
        if part.startswith(".") or part in EXCLUDED_DIR_NAMES:
            return False
    name = relative.name
    if name.startswith(".") or name.endswith(EXCLUDED_SUFFIXES):
        return False
    if name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))):
        return False
    return True


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


def build_zip(staged_dir: Path, digest: str) -> Path:
    """Zip the staged files (sorted, fixed timestamps) once per content hash; return the zip's path.

    Built here rather than by cdktf's ARCHIVE asset type: cdktf zips the directory again in
    node for every stack (about 0.25 s each, most of a synth), and its zips embed mtimes.
    """
    target = staged_dir.parent / f"{digest}-zip" / ZIP_NAME
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
        source = Path(props.source_dir).resolve()
        staging_root = Path(props.staging_dir).resolve() if props.staging_dir else source.parent / ".build" / "handlers-src"
        key = (str(source), str(staging_root))
        with _LOCK:  # stage once per process, however many stacks use the package
            if key not in _STAGED:
                staged, digest = stage(source, staging_root)
                _STAGED[key] = (staged, digest, build_zip(staged, digest))
            staged_dir, digest, zip_path = _STAGED[key]

        # A FILE asset of the prebuilt zip: cdktf copies it into each stack's assets/.
        asset = TerraformAsset(self, "asset", path=str(zip_path), type=AssetType.FILE, asset_hash=digest)
        self.zip_path: Path = zip_path
        self.asset: TerraformAsset = asset
        self.staged_dir: Path = staged_dir
        self.asset_path: str = asset.path
        # Only a trigger for the provider (>= 5.x keeps it apart from the computed code_sha256),
        # so our own hash works and, unlike a zip's hash, ignores mtimes.
        self.source_code_hash: str = digest
