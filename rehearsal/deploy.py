"""Deploying through the rehearsal's entry point: apply exactly the plan the guard reviewed, mixed into ``rehearsal.runner.Rehearsal``.

The deploy workflow runs two steps of one entry point, with the review summary in between:

1. ``--target aws --until plan --workdir DIR``: synthesize, plan and save, review with the guard.
   The review is recorded next to the saved plan (``REVIEW_RECORD``): the stack, the guard's
   verdict and the plan file's SHA-256.
2. ``--target aws --apply-reviewed DIR``: refuses unless the record says the guard passed, for
   this stack, and the plan file is byte for byte the one reviewed; then ``terraform apply`` of
   that file (Terraform itself refuses a plan whose state has moved on: "Saved plan is stale"),
   and the outputs, in the shape ``cdktf output --outputs-file`` writes, for ``ordersctl smoke``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rehearsal.errors import PhaseFailed
from rehearsal.plan_guard import Review
from rehearsal.terraform_cli import TerraformRunner, terraform_env
from rehearsal.toolchain import PLUGIN_CACHE_ENV_VAR, Terraform
from rehearsal.workcopy import WorkingCopy

if TYPE_CHECKING:
    from rehearsal.runner import Rehearsal

REVIEW_RECORD = "reviewed-plan.json"
CLI_CONFIG_ENV_VAR = "TF_CLI_CONFIG_FILE"


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DeployPhases:
    """Record a review next to its saved plan; later, apply exactly that plan.

    Mixed into ``rehearsal.runner.Rehearsal`` only: each method declares ``self: Rehearsal``, so
    mypy checks its body against the runner's real attributes. mypy accepts only a protocol as
    a mixin's self-type ("erased type of self ... is not a supertype", code misc); a protocol
    would repeat the runner's attributes here, so each method carries that one ignore instead.
    """

    def _record_review(self: Rehearsal, result: Review, plan_file: str) -> None:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        copy = self.work
        plan = copy.path / plan_file
        record = {
            "stack": self.report.stack,
            "suffix": self.options.suffix,
            "plan": str(plan.relative_to(self.root)),
            "sha256": file_digest(plan),
            "guard": {"ok": result.ok, "verdict": result.verdict(), "changes": result.action_summary()},
            "cli_config": copy.tf.env.get(CLI_CONFIG_ENV_VAR),
            "plugin_cache": copy.tf.env.get(PLUGIN_CACHE_ENV_VAR),
            "reviewed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (self.root / REVIEW_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    def _load_reviewed(self: Rehearsal, terraform: Terraform) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        path = self.root / REVIEW_RECORD
        if not path.is_file():
            raise PhaseFailed(f"apply_reviewed: no reviewed plan in {self.root} (no {REVIEW_RECORD}). Fix: run --target aws --until plan --workdir {self.root} first; it plans, reviews and records")
        record = json.loads(path.read_text(encoding="utf-8"))
        if not record.get("guard", {}).get("ok"):
            raise PhaseFailed(
                f"the guard did not pass this plan ({record.get('guard', {}).get('verdict', '?')}): it is never applied. Fix: allow the change on purpose (allow-data-loss) and plan again"
            )
        if record.get("suffix") != self.options.suffix or (self.options.stack and record.get("stack") != self.options.stack):
            raise PhaseFailed(
                f"the reviewed plan in {self.root} is for {record.get('stack')} (--env {record.get('suffix')}), not for --env {self.options.suffix}{' --stack ' + self.options.stack if self.options.stack else ''}. Fix: give the workdir of this stack's plan"
            )
        plan = self.root / record["plan"]
        if not plan.is_file() or file_digest(plan) != record.get("sha256"):
            raise PhaseFailed(f"{plan} is not the plan the guard reviewed (missing, or its SHA-256 differs): nothing applied. Fix: plan and review again")
        work = plan.parent
        env = terraform_env(
            self.environ, Path(record["cli_config"]) if record.get("cli_config") else None, extra={PLUGIN_CACHE_ENV_VAR: record["plugin_cache"]} if record.get("plugin_cache") else None
        )
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        doc = json.loads((work / "cdk.tf.json").read_text(encoding="utf-8"))
        self._log_counter[0] = len(list(logs.iterdir()))
        self.copies["work"] = WorkingCopy("work", work, doc, TerraformRunner(terraform.path, work, logs, env, counter=self._log_counter, progress=self._progress_line))
        self.report.stack = record["stack"]
        self._reviewed_plan = plan.name
        return f"{record['stack']}: {record['guard']['verdict']}; {record['guard']['changes']}; plan {plan.name} sha256 {record['sha256'][:12]} (reviewed {record.get('reviewed_at', '?')})"

    def _apply_reviewed(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        result = self.work.tf.run("apply", "-input=false", "-json", self._reviewed_plan, timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform apply of the reviewed plan")
        done = result.changes
        text = f"{done.get('add', '?')} added, {done.get('change', '?')} changed, {done.get('remove', '?')} destroyed"
        if self.options.outputs_file is not None:
            outputs = self._outputs(self.work)
            write_outputs_file(Path(self.options.outputs_file), self.report.stack, outputs)
            text += f"; {len(outputs)} outputs written to {self.options.outputs_file}"
        return text


def write_outputs_file(path: Path, stack: str, outputs: dict[str, Any]) -> None:
    """``{stack: {output: value}}``: the shape ``cdktf output --outputs-file`` writes and ``ordersctl`` reads."""
    path.write_text(json.dumps({stack: outputs}, indent=2) + "\n", encoding="utf-8")
