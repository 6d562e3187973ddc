"""Prove a refactoring changes no byte of what ``main.py`` synthesizes (or list exactly what it changes).

    python -m tools.synth_compare --base main          # or: make synth-compare BASE=main

Synthesizes the project at ``--base`` (a git revision, exported with ``git archive`` into a
temp dir) and the working tree, with the SAME interpreter and environment, for several
configurations (``VARIANTS``: the default synth, a synth exercising the optional branches,
a review environment, the S3 and HCP backends), then compares every
``stacks/<stack>/cdk.tf.json`` byte for byte.

Two differences are expected and normalised before comparing: the Lambda package's content
hash when ``handlers/`` changed (it names the asset folder and is ``source_code_hash``; each
side's own hash becomes ``<handlers-package>``, and the summary says whether the package
changed), and the tree's own path (in the local backend's state path; it becomes ``<root>``).
Any other difference is listed as a JSON path (``resource.aws_x.name.attribute``); exit 1,
unless every one matches an ``--allow`` pattern (a change made on purpose).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_PLACEHOLDER = "<handlers-package>"
ROOT_PLACEHOLDER = "<root>"

#: name -> extra environment of one synth. Each exercises branches the default synth does not.
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "options": {
        "CDKTF_CONTEXT_JSON": json.dumps(
            {
                "orderPipeline": {
                    "dev": {
                        "api_authorization": "API_KEY",
                        "alarm_email": "oncall@example.com",
                        "alarm_sns_topic_arns": ["arn:aws:sns:us-east-1:123456789012:oncall"],
                        "manage_api_gateway_account": True,
                        "processor_reserved_concurrency": "off",
                        "powertools_layer_arn": "arn:aws:lambda:us-east-1:123456789012:layer:powertools:3",
                        "api_data_trace_enabled": True,
                        "alarm_evaluation_periods": 3,
                        "alarm_period_seconds": 300,
                    },
                    "staging": {"api_authorization": "NONE", "event_source_maximum_concurrency": 10, "region": "eu-west-1", "batch_size": 50},
                    "prod": {"alarm_destination_check": "off", "table_deletion_protection": False, "tags": {"CostCenter": "42"}},
                }
            }
        )
    },
    "review-environment": {"ENVIRONMENT_SUFFIX": "pr-42"},
    "s3-backend": {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "acme-terraform-state", "TF_STATE_LOCK_TABLE": "locks", "TF_STATE_KMS_KEY_ID": "alias/state"},
    "cloud-backend": {"TF_STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme"},
}
#: Variables of the caller's shell that would change a synth; both sides run without them.
_DROPPED = ("ENVIRONMENT_SUFFIX", "CDKTF_", "TF_STATE_", "TF_CLOUD_")


def export_revision(revision: str, destination: Path) -> Path:
    """Write the tracked files of ``revision`` into ``destination`` (no .git, no build outputs)."""
    archive = destination.with_suffix(".tar")
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), revision], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    archive.unlink()
    return destination


def synth(tree: Path, outdir: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python main.py`` in ``tree`` into ``outdir``, with this interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env.update(extra_env, CDKTF_OUTDIR=str(outdir), PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    return subprocess.run([sys.executable, "main.py"], cwd=tree, env=env, capture_output=True, text=True, timeout=900)


def package_hashes(document: dict) -> set[str]:
    """The Lambda package content hashes a stack refers to (``source_code_hash`` of its functions)."""
    functions = document.get("resource", {}).get("aws_lambda_function", {})
    return {f["source_code_hash"] for f in functions.values() if isinstance(f.get("source_code_hash"), str)}


def normalised(path: Path, tree: Path) -> tuple[str, set[str]]:
    """A stack's JSON text with its package hash and its tree's path replaced by placeholders, and the hashes replaced."""
    text = path.read_text(encoding="utf-8").replace(str(tree.resolve()), ROOT_PLACEHOLDER)
    hashes = package_hashes(json.loads(text))
    for digest in hashes:
        text = text.replace(digest, PACKAGE_PLACEHOLDER)
    return text, hashes


def stack_differences(old_text: str, new_text: str) -> list[str]:
    """Where two normalised stack documents differ: JSON paths, or a note when only order or layout differs."""
    if old_text == new_text:
        return []
    paths = list(differing_paths(json.loads(old_text), json.loads(new_text)))
    # Same values, other bytes: key order or whitespace moved. Not a behaviour change, but not
    # byte-identical either, so it is reported rather than hidden.
    return paths or ["(same JSON values; key order or layout differs)"]


def differing_paths(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """JSON paths (dotted; list items as [i]) where ``old`` and ``new`` differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            where = f"{prefix}.{key}" if prefix else key
            if key not in old:
                yield f"{where} (added)"
            elif key not in new:
                yield f"{where} (removed)"
            else:
                yield from differing_paths(old[key], new[key], where)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            yield from differing_paths(a, b, f"{prefix}[{index}]")
    elif old != new:
        yield prefix


def compare_variant(base: Path, work: Path, name: str, env: dict[str, str], scratch: Path) -> tuple[list[str], bool, int]:
    """Synthesize one variant on both sides; return (differences, package changed, stacks compared)."""
    outputs = {}
    for side, tree in (("base", base), ("work", work)):
        outdir = scratch / name / side
        outdir.parent.mkdir(parents=True, exist_ok=True)
        done = synth(tree, outdir, env)
        if done.returncode != 0:
            raise SystemExit(f"[{name}] synth of the {side} tree failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        outputs[side] = outdir / "stacks"
    old_stacks = sorted(p.name for p in outputs["base"].iterdir())
    new_stacks = sorted(p.name for p in outputs["work"].iterdir())
    if old_stacks != new_stacks:
        return [f"stacks differ: base {old_stacks} vs work {new_stacks}"], False, 0
    differences: list[str] = []
    package_changed = False
    for stack in old_stacks:
        old_file, new_file = (outputs[side] / stack / "cdk.tf.json" for side in ("base", "work"))
        if old_file.read_bytes() == new_file.read_bytes():
            continue
        (old, old_hashes), (new, new_hashes) = normalised(old_file, base), normalised(new_file, work)
        package_changed |= old_hashes != new_hashes
        differences += [f"{stack}: {path}" for path in stack_differences(old, new)]
    return differences, package_changed, len(old_stacks)


def main(argv: list[str] | None = None) -> int:
    """Compare every variant; print a summary; exit 1 when anything but the package hash differs."""
    parser = argparse.ArgumentParser(prog="python -m tools.synth_compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="main", help="git revision to compare against (default main)")
    parser.add_argument("--only", default=",".join(VARIANTS), help=f"comma-separated variants (default all: {','.join(VARIANTS)})")
    parser.add_argument("--allow", action="append", default=[], metavar="REGEX", help="a difference made on purpose: JSON paths matching it are listed but do not fail (repeatable)")
    args = parser.parse_args(argv)
    allowed = [re.compile(pattern) for pattern in args.allow]
    chosen = [v.strip() for v in args.only.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        parser.error(f"--only: unknown variant(s) {unknown}; choose from {','.join(VARIANTS)}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="synth-compare-") as tmp:
        scratch = Path(tmp)
        base = export_revision(args.base, scratch / "base-tree")
        for name in chosen:
            differences, package_changed, count = compare_variant(base, ROOT, name, VARIANTS[name], scratch)
            note = " (Lambda package content changed; its hash was normalised)" if package_changed else ""
            if differences:
                unexpected = [d for d in differences if not any(pattern.search(d) for pattern in allowed)]
                failed |= bool(unexpected)
                print(f"[{name}] {len(differences)} difference(s) in {count} stacks, {len(unexpected)} not allowed{note}:")
                print("\n".join(f"    {line}{'' if line in unexpected else '  (allowed)'}" for line in differences))
            else:
                print(f"[{name}] {count} stacks identical{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
