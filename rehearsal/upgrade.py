"""The phases only an upgrade rehearsal (``--from REV``) runs, mixed into ``rehearsal.runner.Rehearsal``.

``base``: export and synthesize the revision (``rehearsal.base_revision``); the runner then plans
and applies it exactly like a fresh stack. ``seed``: orders into the deployment, through the base
revision's own Lambda package (``rehearsal.upgrade_data``). ``upgrade-plan``: the working tree's
plan against the same state; the runner's ``review`` phase puts the guard on it. ``upgrade``:
apply that saved plan. ``verify``: the orders, through the new package.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_config import output_keys
from rehearsal.base_revision import resolve_revision, synthesize_revision
from rehearsal.errors import PhaseFailed
from rehearsal.plan_review import read_changes
from rehearsal.upgrade_data import KINDS, RESULT_PREFIX
from rehearsal.workcopy import WorkingCopy, function_package

if TYPE_CHECKING:
    from rehearsal.runner import Rehearsal

UPGRADE_PLAN = "upgrade.tfplan"
#: Which data kind is lost when the resource holding it is destroyed: (resource type, output naming it, attribute of the resource).
DATA_HOLDERS = (
    ("stored", "aws_dynamodb_table", output_keys.ORDERS_TABLE_NAME, "name"),
    ("queued", "aws_sqs_queue", output_keys.ORDER_QUEUE_URL, "url"),
    ("dlq", "aws_sqs_queue", output_keys.DLQ_URL, "url"),
    ("events", "aws_sns_topic", output_keys.ORDER_TOPIC_ARN, "arn"),
)
_LABELS = {"stored": "stored", "queued": "queued", "dlq": "in DLQ"}


class UpgradePhases:
    """Phases of an upgrade rehearsal; they use the runner's working copies, state, emulator and report.

    Mixed into ``rehearsal.runner.Rehearsal`` only: each method declares ``self: Rehearsal``, so
    mypy checks its body against the runner's real attributes. mypy accepts only a protocol as
    a mixin's self-type ("erased type of self ... is not a supertype", code misc); a protocol
    would repeat the runner's attributes here, so each method carries that one ignore instead.
    """

    def _synth_base(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        revision = resolve_revision(str(self.options.from_rev))
        self.report.base = revision
        stack_dir = synthesize_revision(revision, self.options.suffix, self.root / "base-source", self.environ, stack=self.options.stack)
        self._stack_dirs["base"] = stack_dir
        return f"{revision.describe()}\n{stack_dir.name} synthesized from git archive {revision.short} with today's toolchain (the working tree is not touched)"

    def _has_pipeline(self: Rehearsal) -> bool:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        return output_keys.ORDERS_TABLE_NAME in self.report.outputs

    def _unpack(self: Rehearsal, label: str) -> Path:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        """The Lambda zip a working copy deploys, unpacked: the code the functions of that revision run."""
        copy = self.copies[label]
        archive = function_package(copy.doc, copy.path)
        if archive is None:
            raise PhaseFailed(f"the {label} stack deploys no Lambda function: nothing runs the orders")
        target = self.root / f"package-{label}"
        with zipfile.ZipFile(archive) as package:
            package.extractall(target)
        return target

    def _data_args(self: Rehearsal, step: str, package: Path) -> list[str]:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        assert self.emulator is not None
        args = [step, "--outputs", str(self.root / "outputs.json"), "--endpoint-url", self.emulator.endpoint_url, "--stack", self.report.stack]
        args += ["--package", str(package), "--record", str(self.root / "seed-record.json")]
        return [*args, "--stored", str(self.options.stored_orders), "--queued", str(self.options.queued_orders)]

    def _seed(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        if not self._has_pipeline():
            return "skipped: this stack has no order pipeline (e.g. the account-level stack)"
        self._base_outputs = dict(self.report.outputs)
        package = self._unpack("base")
        verdict = self._run_python("rehearsal.upgrade_data", self._data_args("seed", package), "seed.log", RESULT_PREFIX, "could not put orders into the base deployment")
        assert self.report.base is not None
        return f"{verdict}, through the Lambda package of {self.report.base.short}"

    def _upgrade_plan(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        plan = self._plan(self.work, UPGRADE_PLAN, text=True)
        changes = read_changes(plan)
        assert self.report.base is not None
        return f"{len(changes)} changes from {self.report.base.short} to the working tree, against the state that holds the orders (reviewed next)"

    def _upgrade(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        # The saved plan the guard reviewed, nothing else, as a deploy applies a reviewed plan.
        self.deployed: WorkingCopy | None = self.work  # Rehearsal.deployed's type: mypy takes this line for the mixin's own declaration
        result = self.work.tf.run("apply", "-input=false", "-json", UPGRADE_PLAN, timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform apply of the upgrade")
        self.report.outputs = self._outputs(self.work)
        done = result.changes
        return f"{done.get('add', '?')} added, {done.get('change', '?')} changed, {done.get('remove', '?')} destroyed"

    def _verify(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        if not self._has_pipeline() or not (self.root / "seed-record.json").exists():
            return "skipped: nothing was seeded"
        package = self._unpack("work")
        result_file = self.root / "verify-result.json"
        args = [*self._data_args("verify", package), "--result", str(result_file)]
        failure: PhaseFailed | None = None
        try:
            verdict = self._run_python("rehearsal.upgrade_data", args, "verify.log", RESULT_PREFIX, "the data did not survive the upgrade")
        except PhaseFailed as error:
            if not result_file.exists():
                raise
            verdict, failure = "", error
        result = json.loads(result_file.read_text(encoding="utf-8"))
        self.report.data = {kind: (result["found"][kind], result["expected"][kind]) for kind in KINDS}
        allowed = self._allowed_losses()
        unexplained = [text for kind, text in result["problems"] if kind not in allowed]
        for kind, address in sorted(allowed.items()):
            if any(k == kind for k, _ in result["problems"]):
                self.report.data_notes.append(f"{_LABELS.get(kind, kind)} lost as allowed ({address})")
        if unexplained or (failure is not None and not result["problems"]):
            raise PhaseFailed("the data did not survive the upgrade:\n" + "\n".join(f"  - {text}" for text in unexplained or [str(failure)]))
        kept = ", ".join(f"{found}/{total} {_LABELS[kind]}" for kind, (found, total) in self.report.data.items())
        return f"data kept: {kept}; the queued orders were processed by the new handlers and the DLQ message redriven by ordersctl" + (f" ({verdict})" if not kept else "")

    def _allowed_losses(self: Rehearsal) -> dict[str, str]:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        """Data kinds whose holder's destruction the guard allowed on purpose: ``kind -> address``."""
        base_outputs: dict[str, Any] = getattr(self, "_base_outputs", {})
        allowed: dict[str, str] = {}
        for change, _entry in self.report.guard.allowed if self.report.guard else ():
            before = change.change.before if isinstance(change.change.before, dict) else {}
            for kind, rtype, output, attribute in DATA_HOLDERS:
                if change.change.type == rtype and before.get(attribute) and before.get(attribute) == base_outputs.get(output):
                    allowed[kind] = change.change.address
        return allowed
