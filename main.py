"""CDKTF app: one ``OrderPipelineStack`` per selected environment, plus the account-level stacks.

The configuration comes from ``cdktf.json``'s ``context`` with ``CDKTF_CONTEXT_JSON``
on top, read the way the cdktf CLI does (``pipeline_config.context``), so ``python
main.py`` and ``cdktf synth`` build the same stacks. ``ENVIRONMENT_SUFFIX`` (or context
``environmentSuffix``) picks one environment, or ``account`` the account-level stacks;
otherwise every environment in ``pipeline_config.environments`` is synthesized into
``cdktf.out/stacks/orders-<suffix>/cdk.tf.json``, next to ``orders-account-<region>``.

Streams: the summary goes to stdout; warnings and errors to stderr (the cdktf CLI shows
every stderr line as [ERROR]). Exit 2 on any configuration problem, before anything is written.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from pipeline_config import ConfigError
from pipeline_config.context import read_context
from pipeline_config.selection import select_stacks
from stacks.app import build_app

__all__ = ["build_app", "main", "prune_stale_stacks"]


def prune_stale_stacks(outdir: Path, keep: Iterable[str]) -> tuple[list[Path], list[Path]]:
    """Delete ``<outdir>/stacks/<dir>`` of stacks not in ``keep`` (an earlier, wider synth left them).

    cdktf's manifest lists only this synth's stacks; a folder it does not list would be
    deployed by hand by mistake. A folder holding Terraform state is never deleted: it is
    returned as kept, for a warning. Returns (removed, kept).
    """
    removed: list[Path] = []
    kept: list[Path] = []
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        return removed, kept
    wanted = set(keep)
    for folder in sorted(p for p in stacks_dir.iterdir() if p.is_dir() and p.name not in wanted):
        if any(folder.rglob("*.tfstate")) or any(folder.rglob("*.tfstate.backup")):
            kept.append(folder)
            continue
        shutil.rmtree(folder)
        removed.append(folder)
    return removed, kept


def main() -> int:
    """Synthesize, or exit 2 with every configuration problem listed."""
    try:
        selection = select_stacks(os.environ, read_context())
        app = build_app(selection=selection)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from constructs_lib.support.lambda_package import drain_warnings  # jsii is running by now (build_app)

    for warning in (*selection.warnings, *drain_warnings()):
        print(f"warning: {warning}", file=sys.stderr)
    app.synth()
    outdir = Path(app.outdir)
    removed, kept = prune_stale_stacks(outdir, selection.stack_names)
    for folder in kept:
        print(
            f"warning: {folder} is not part of this synth but holds Terraform state (*.tfstate); it was left in place. Fix: move that state where its backend expects it, then delete the folder",
            file=sys.stderr,
        )
    lines = [f"Synthesized {', '.join(selection.stack_names)} into {outdir}/stacks/<stack>/cdk.tf.json"]
    if removed:
        lines.append(f"Removed stacks an earlier synth left behind: {', '.join(folder.name for folder in removed)}")
    if selection.account_stacks and selection.environments:
        first = ", ".join(a.stack_name for a in selection.account_stacks)
        lines.append(f"Deploy {first} before the environments: their API stages log through its role (README, 'Deploy')")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
