"""Prove a refactoring changes no byte of what ``main.py`` synthesizes (or list exactly what it changes).

    make synth-compare                 # against main; BASE=HEAD: only what is not committed yet
    make synth-compare BASE=v1.2 ARGS="--only default --allow 'aws_sqs_queue.*visibility'"

Synthesizes the project at ``--base`` (a git revision, exported with ``git archive`` into a
temp dir) and the working tree, with the SAME interpreter and environment, for several
configurations (``VARIANTS``: the default synth, a synth exercising the optional branches,
a review environment, the S3 and HCP backends), then compares every
``stacks/<stack>/cdk.tf.json`` byte for byte.

Two differences are expected and normalised before comparing: the Lambda package's content
hash when ``handlers/`` changed (it names the asset folder and is ``source_code_hash``; each
side's own hash becomes ``<handlers-package>``, and the summary says whether the package
changed), and the tree's own path (in the local backend's state path; it becomes ``<root>``).
Each stack is reported ``unchanged: <stack>`` or ``changed: <stack>`` followed by its differences,
one line each: ``<resource address>: <attribute path>: old -> new`` (``added ...``/``removed``
for a whole key or resource). Exit 0 when every stack is identical, 1 when a difference does
not match an ``--allow`` pattern (a change made on purpose), 2 when no comparison could be made
(an unknown revision, a synth that failed).
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

from pipeline_config.commands import make_usage

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
    """Write the tracked files of ``revision`` into ``destination`` (no .git, no build outputs); CompareError for an unknown revision."""
    archive = destination.with_suffix(".tar")
    done = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), revision], capture_output=True, text=True)
    if done.returncode != 0:
        raise CompareError(f"BASE: git cannot export revision {revision!r} ({done.stderr.strip()}). Fix: give a branch, tag or commit, e.g. BASE=main or BASE=HEAD")
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


#: Stands for a side of a difference that does not exist (an added or removed key).
ABSENT = object()


def stack_differences(old_text: str, new_text: str) -> list[str]:
    """How two normalised stack documents differ, one readable line each; a note when only key order or layout differs."""
    if old_text == new_text:
        return []
    lines = [describe(path, old, new) for path, old, new in differing_values(json.loads(old_text), json.loads(new_text))]
    # Same values, other bytes: key order or whitespace moved. Not a behaviour change, but not
    # byte-identical either, so it is reported rather than hidden.
    return lines or ["(same JSON values; key order or layout differs)"]


def differing_values(old: Any, new: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(path, old value, new value) wherever ``old`` and ``new`` differ; ABSENT on the side that lacks a key."""
    if 1 <= len(path) <= 2 and path[0] in ("resource", "data"):
        # A resource type (or the whole block) present on one side only: name each resource in it.
        old, new = ({} if side is ABSENT else side for side in (old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from differing_values(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from differing_values(a, b, (*path, f"[{index}]"))
    elif old != new:
        yield path, old, new


def describe(path: tuple[str, ...], old: Any, new: Any) -> str:
    """One difference as ``<resource address>: <attribute path>: old -> new`` (``added``/``removed`` for a whole key)."""
    if len(path) >= 3 and path[0] in ("resource", "data"):
        prefix = "data." if path[0] == "data" else ""
        where, attribute = f"{prefix}{path[1]}.{path[2]}", _dotted(path[3:])
    else:
        where, attribute = _dotted(path), ""
    head = f"{where}: {attribute}: " if attribute else f"{where}: "
    if old is ABSENT:
        return f"{head}added {_short(new)}"
    if new is ABSENT:
        return f"{head}removed (was {_short(old)})"
    return f"{head}{_short(old)} -> {_short(new)}"


def _dotted(parts: tuple[str, ...]) -> str:
    return "".join(part if part.startswith("[") else f".{part}" for part in parts).lstrip(".")


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CompareError(Exception):
    """The comparison could not be made (a bad revision, a synth that failed): exit 2, never a verdict."""


def compare_variant(base: Path, work: Path, name: str, env: dict[str, str], scratch: Path) -> tuple[dict[str, list[str]], bool]:
    """Synthesize one variant on both sides; return ({stack: its differences, [] when unchanged}, package changed)."""
    outputs = {}
    for side, tree in (("base", base), ("work", work)):
        outdir = scratch / name / side
        outdir.parent.mkdir(parents=True, exist_ok=True)
        done = synth(tree, outdir, env)
        if done.returncode != 0:
            raise CompareError(f"[{name}] synth of the {side} tree failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        outputs[side] = outdir / "stacks"
    old_stacks, new_stacks = ({p.name for p in outputs[side].iterdir()} for side in ("base", "work"))
    stacks: dict[str, list[str]] = {stack: ["the whole stack was added"] for stack in new_stacks - old_stacks}
    stacks.update({stack: ["the whole stack was removed"] for stack in old_stacks - new_stacks})
    package_changed = False
    for stack in old_stacks & new_stacks:
        old_file, new_file = (outputs[side] / stack / "cdk.tf.json" for side in ("base", "work"))
        if old_file.read_bytes() == new_file.read_bytes():
            stacks[stack] = []
            continue
        (old, old_hashes), (new, new_hashes) = normalised(old_file, base), normalised(new_file, work)
        package_changed |= old_hashes != new_hashes
        stacks[stack] = stack_differences(old, new)
    return dict(sorted(stacks.items())), package_changed


def report_variant(name: str, stacks: dict[str, list[str]], package_changed: bool, allowed: list[re.Pattern]) -> bool:
    """Print one variant's verdict per stack; True when a difference is not allowed."""
    note = "; the Lambda package's content changed (its hash is normalised, not compared)" if package_changed else ""
    print(f"[{name}] {len(stacks)} stacks{note}")
    failed = False
    for stack, lines in stacks.items():
        if not lines:
            print(f"  unchanged: {stack}")
            continue
        print(f"  changed: {stack}")
        for line in lines:
            ok = any(pattern.search(f"{stack}: {line}") for pattern in allowed)
            failed |= not ok
            print(f"      {line}{'  (allowed)' if ok else ''}")
    return failed


def main(argv: list[str] | None = None) -> int:
    """Compare every variant; print each stack's verdict; exit 0 identical, 1 a difference not allowed, 2 no comparison possible."""
    parser = argparse.ArgumentParser(prog="make synth-compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="main", help="git revision to compare against (default main; `make synth-compare BASE=REV`)")
    parser.add_argument("--only", default=",".join(VARIANTS), help=f"comma-separated variants (default all: {','.join(VARIANTS)})")
    parser.add_argument("--allow", action="append", default=[], metavar="REGEX", help="a difference made on purpose: '<stack>: <difference>' lines matching it are listed but do not fail (repeatable)")
    parser.usage = make_usage(parser, "synth-compare")
    args = parser.parse_args(argv)
    allowed = [re.compile(pattern) for pattern in args.allow]
    chosen = [v.strip() for v in args.only.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        parser.error(f"--only: unknown variant(s) {unknown}; choose from {','.join(VARIANTS)}")
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="synth-compare-") as tmp:
            scratch = Path(tmp)
            base = export_revision(args.base, scratch / "base-tree")
            for name in chosen:
                failed |= report_variant(name, *compare_variant(base, ROOT, name, VARIANTS[name], scratch), allowed)
    except CompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("different: see the lines above (exit 1)" if failed else f"identical to {args.base} (exit 0)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
