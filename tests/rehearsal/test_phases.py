"""Phases fed canned plans through a fake terraform: the re-plan fails on a real change, the review blocks data loss.

The fake ``terraform`` answers ``plan`` (exit 0) and ``show -json <plan>`` (the canned JSON), so
each phase runs its real code path (TerraformRunner, the plan reader, the guard) without a cloud.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

from rehearsal.plan_guard import AllowEntry
from rehearsal.runner import Rehearsal, RehearsalOptions, WorkingCopy
from rehearsal.terraform_cli import TerraformRunner

TABLE = "aws_dynamodb_table.orders-table_B86164D2"


def _rehearsal(tmp_path: Path, plan: dict, **options) -> tuple[Rehearsal, io.StringIO]:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    binary = tmp_path / "terraform"
    binary.write_text(f'#!/bin/sh\ncase "$1" in\n  plan) echo "planned"; exit 0;;\n  show) cat {plan_file}; exit 0;;\nesac\nexit 1\n')
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    out = io.StringIO()
    rehearsal = Rehearsal(RehearsalOptions(workdir=tmp_path, **options), out=out)
    rehearsal.root = tmp_path
    rehearsal.report.stack = "orders-dev"
    rehearsal.copies["work"] = WorkingCopy("work", work, {}, TerraformRunner(str(binary), work, logs, {"PATH": "/usr/bin:/bin"}))
    return rehearsal, out


def _update(address: str, before: dict, after: dict) -> dict:
    return {"address": address, "type": address.split(".")[0], "mode": "managed", "change": {"actions": ["update"], "before": before, "after": after, "after_unknown": {}}}


def test_the_re_plan_fails_on_a_real_change_and_names_it(tmp_path):
    plan = {"resource_changes": [_update("aws_lambda_function.f", {"memory_size": 256}, {"memory_size": 512})]}
    rehearsal, out = _rehearsal(tmp_path, plan)
    assert rehearsal._phase("re-plan", rehearsal._replan) is False
    assert rehearsal.report.failure.startswith("re-plan: perpetual diff")
    assert "REAL: aws_lambda_function.f: update" in out.getvalue() and "memory_size: 256 -> 512" in out.getvalue()
    assert rehearsal.report.real_changes == 1 and not rehearsal.report.ok


def test_the_re_plan_passes_on_json_formatting_alone(tmp_path):
    plan = {"resource_changes": [_update("aws_sqs_queue.q", {"policy": '{"a": 1}'}, {"policy": '{"a":1}'})]}
    rehearsal, out = _rehearsal(tmp_path, plan)
    assert rehearsal._phase("re-plan", rehearsal._replan) is True
    assert "0 real changes, 1 emulator noise" in out.getvalue()


def _replace_table() -> dict:
    before = {"name": "orders-table-dev", "deletion_protection_enabled": False}
    after = {"name": "orders-v2-dev", "deletion_protection_enabled": False}
    change = {"actions": ["delete", "create"], "before": before, "after": after, "after_unknown": {}, "replace_paths": [["name"]]}
    return {"resource_changes": [{"address": TABLE, "type": "aws_dynamodb_table", "mode": "managed", "change": change, "action_reason": "replace_because_cannot_update"}]}


def test_the_review_blocks_data_loss_names_the_resource_and_the_forcing_attribute_and_writes_the_summary(tmp_path):
    review_file = tmp_path / "review.md"
    rehearsal, out = _rehearsal(tmp_path, _replace_table(), until="plan", review_file=review_file)
    rehearsal._plan(rehearsal.work, "first.tfplan")
    assert rehearsal._phase("review", rehearsal._review) is False
    text = out.getvalue()
    assert f"`{TABLE}` replace, forced by `name`" in text and "every stored order" in text
    assert f"allow-data-loss: {TABLE}" in text
    assert review_file.read_text().startswith("#### ⛔ Plan review: `orders-dev`")
    assert rehearsal.report.guard is not None and not rehearsal.report.guard.ok


def test_the_review_passes_a_data_loss_change_that_was_allowed_and_says_by_whom(tmp_path):
    allow = (AllowEntry.parse(f"orders-dev/{TABLE}", source="pull-request-description.md"),)
    rehearsal, out = _rehearsal(tmp_path, _replace_table(), until="plan", allow_data_loss=allow)
    rehearsal._plan(rehearsal.work, "first.tfplan")
    assert rehearsal._phase("review", rehearsal._review) is True
    assert f"allowed by `{TABLE}` in orders-dev (from pull-request-description.md)" in out.getvalue()
