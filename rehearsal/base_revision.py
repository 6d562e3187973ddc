"""The base of an upgrade rehearsal: any git revision, exported and synthesized without touching the working tree.

``git archive`` writes the revision's files into a temp dir (the repository and the working tree
are only read); ``python main.py`` of that copy then synthesizes the stack with today's toolchain
(this environment's Python packages, Node and Terraform). A revision that today's toolchain
cannot synthesize is reported as such, and the rehearsal stops before deploying anything.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rehearsal.workcopy import ROOT, WorkCopyError, synthesize

REVISION_HINT = "give a commit, branch or tag of this repository, e.g. --from HEAD, --from HEAD~1, --from main, or a pull request's merge base ($(git merge-base origin/main HEAD))"


class BaseRevisionError(WorkCopyError):
    """The base revision does not exist, cannot be exported, or does not synthesize with today's toolchain."""


@dataclass(frozen=True)
class BaseRevision:
    """A resolved ``--from`` revision."""

    spec: str
    """As given, e.g. ``HEAD~1`` or ``main``."""
    commit: str
    short: str
    subject: str

    def describe(self) -> str:
        """``<short> (<spec>): <subject>``, the spec left out when it is the commit itself."""
        named = "" if self.commit.startswith(self.spec) else f" ({self.spec})"
        subject = self.subject if len(self.subject) <= 72 else self.subject[:69] + "..."
        return f"{self.short}{named}: {subject}"


def _git(*args: str, repo: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError as error:
        raise BaseRevisionError("--from needs git, which is not on PATH. Fix: install git") from error


def resolve_revision(spec: str, repo: Path = ROOT) -> BaseRevision:
    """The commit ``spec`` names in ``repo``; BaseRevisionError (naming the fix) when there is none."""
    if not spec or spec.startswith("-"):
        raise BaseRevisionError(f"--from: {spec!r} is not a git revision. Fix: {REVISION_HINT}")
    inside = _git("rev-parse", "--is-inside-work-tree", repo=repo)
    if inside.returncode != 0:
        raise BaseRevisionError(f"--from needs the project's git history, but {repo} is not a git work tree ({inside.stderr.strip()}). Fix: run the rehearsal in a git clone of the project")
    found = _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", repo=repo)
    if found.returncode != 0:
        shallow = _git("rev-parse", "--is-shallow-repository", repo=repo).stdout.strip() == "true"
        extra = " This clone is shallow: fetch more history first (git fetch --deepen=50, or actions/checkout with fetch-depth: 0)." if shallow else ""
        raise BaseRevisionError(f"--from: {spec!r} is not a commit of this repository.{extra} Fix: {REVISION_HINT}")
    commit = found.stdout.strip()
    shown = _git("show", "-s", "--format=%h%x00%s", commit, repo=repo).stdout.strip().split("\x00")
    short, subject = [*shown, "", ""][:2]
    return BaseRevision(spec=spec, commit=commit, short=short or commit[:7], subject=subject)


def export_revision(revision: BaseRevision, destination: Path, repo: Path = ROOT) -> Path:
    """Write the revision's files into ``destination`` (``git archive``; the repository is only read)."""
    try:
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", revision.commit], capture_output=True, timeout=300, check=False)
    except FileNotFoundError as error:
        raise BaseRevisionError("--from needs git, which is not on PATH. Fix: install git") from error
    if archive.returncode != 0:
        raise BaseRevisionError(f"git archive {revision.short} failed: {archive.stderr.decode(errors='replace').strip()}")
    destination.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []

    def safe(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        # tarfile's "data" filter: nothing outside the destination. A committed link that points
        # outside (an absolute symlink to someone's virtualenv, say) is left out, not followed.
        try:
            return tarfile.data_filter(member, path)
        except tarfile.FilterError:
            skipped.append(member.name)
            return None

    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(destination, filter=safe)
    except (tarfile.TarError, OSError) as error:
        raise BaseRevisionError(f"could not unpack git archive {revision.short} into {destination}: {error}") from error
    return destination


def synthesize_revision(revision: BaseRevision, suffix: str, workdir: Path, environ: Mapping[str, str] | None = None, *, stack: str | None = None) -> Path:
    """Export the revision into ``workdir/source`` and synthesize its stack into ``workdir/cdktf.out``; the stack's directory."""
    source = export_revision(revision, workdir / "source")
    if not (source / "main.py").is_file():
        raise BaseRevisionError(f"the base revision {revision.describe()} has no main.py: it is not a revision of this project. Fix: {REVISION_HINT}")
    try:
        return synthesize(suffix, workdir / "cdktf.out", environ, project=source, stack=stack)
    except WorkCopyError as error:
        raise BaseRevisionError(
            f"the base revision {revision.describe()} cannot be synthesized by today's toolchain, so it cannot be rehearsed as the "
            f"base of an upgrade (nothing was deployed). Fix: choose a newer --from revision.\n{error}"
        ) from error
