"""checkov (a real policy scanner) over every synthesized stack: zero failed checks.

Skips live in ONE file, ``.checkov.yaml`` at the repo root (checkov reads it by
itself when run there), each with a one-line reason on the same line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".checkov.yaml"
SKIP_LINE = re.compile(r"^\s*-\s*(CKV2?_AWS_\d+)\s*#\s*(\S.*)$")


def skipped_checks() -> dict[str, str]:
    """Check id -> reason, from .checkov.yaml."""
    skips = {}
    for line in CONFIG.read_text().splitlines():
        match = SKIP_LINE.match(line)
        if match:
            skips[match.group(1)] = match.group(2).strip()
    return skips


def checkov_binary() -> str:
    candidate = Path(sys.executable).with_name("checkov")
    return str(candidate) if candidate.exists() else (shutil.which("checkov") or "checkov")


def run_checkov(directory: Path) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
    result = subprocess.run(
        [
            checkov_binary(),
            "--directory", str(directory),
            "--framework", "terraform_json",
            "--config-file", str(CONFIG),
            "--skip-download",
            "--output", "json",
            "--quiet",
            "--compact",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_every_skip_has_a_reason():
    raw_ids = re.findall(r"CKV2?_AWS_\d+", CONFIG.read_text())
    skips = skipped_checks()
    assert sorted(set(raw_ids)) == sorted(skips), "every skipped check needs '- ID  # reason' on one line"
    assert all(len(reason) > 15 for reason in skips.values())


#: Top-level blocks checkov 3.2's terraform_json parser cannot read: it expects every top-level
#: value to be an object, and Terraform writes repeated label-less blocks as a list (it crashes
#: with "'list' object has no attribute 'items'"). They hold no resources to check.
UNREADABLE_BLOCKS = ("removed",)


def scannable_copy(stack_dir: Path, destination: Path) -> Path:
    """``stack_dir``'s cdk.tf.json without the blocks checkov cannot parse, in ``destination``."""
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    for block in UNREADABLE_BLOCKS:
        doc.pop(block, None)
    destination.mkdir(parents=True)
    (destination / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
    return destination


@pytest.fixture(scope="module")
def checkov_reports(synth_dir, tmp_path_factory) -> dict[str, dict]:
    reports = {}
    scan_root = tmp_path_factory.mktemp("checkov")
    for stack_dir in sorted((synth_dir / "stacks").iterdir()):
        reports[stack_dir.name] = run_checkov(scannable_copy(stack_dir, scan_root / stack_dir.name))
    return reports


def test_only_blocks_without_resources_are_left_out_of_the_scan(all_stacks):
    for stack, doc in all_stacks.items():
        for block in UNREADABLE_BLOCKS:
            assert all(set(entry) <= {"from", "lifecycle"} for entry in doc.get(block, [])), stack


def test_checkov_finds_zero_failed_checks(checkov_reports, stacks):
    failures = []
    for stack, report in checkov_reports.items():
        summary = report.get("summary", {})
        # The account-level stack is three resources (a role, its policy, the account setting).
        minimum = 50 if stack in stacks else 5
        assert summary.get("passed", 0) > minimum, f"{stack}: checkov passed suspiciously few checks: {summary}"
        for check in report.get("results", {}).get("failed_checks", []):
            failures.append(f"{stack}: {check['check_id']} {check['check_name']} @ {check['resource']}")
    assert failures == [], "\n".join(failures)


def test_checkov_catches_a_weakened_stack(synth_dir, tmp_path):
    # A scanner that passes everything proves nothing: strip the encryption and point-in-time
    # recovery from the real dev stack, and checkov must flag exactly those resources.
    doc = json.loads((synth_dir / "stacks" / "orders-dev" / "cdk.tf.json").read_text())
    for queue in doc["resource"]["aws_sqs_queue"].values():
        queue.pop("kms_master_key_id", None)
        queue["sqs_managed_sse_enabled"] = False
    for table in doc["resource"]["aws_dynamodb_table"].values():
        table.pop("point_in_time_recovery", None)
    for block in UNREADABLE_BLOCKS:
        doc.pop(block, None)
    (tmp_path / "cdk.tf.json").write_text(json.dumps(doc))
    report = run_checkov(tmp_path)
    failed = {c["check_id"] for c in report.get("results", {}).get("failed_checks", [])}
    assert {"CKV_AWS_27", "CKV_AWS_28"} <= failed
