"""Destroy what the rehearsal applied, and prove on the way that each native protection refuses first.

Prod-like stacks protect their data (docs/rehearsal.md, "Native protections"), and the teardown is where the
rehearsal proves each protection is real:

1. ``lifecycle.prevent_destroy`` (table, queues, KMS key): the first ``terraform destroy`` must be
   refused for exactly the resources that carry it. The rehearsal then lifts it in its override
   file, as an operator would in code before tearing such a stack down, and destroys again.
2. DynamoDB deletion protection: the table's delete must be refused by the (emulated) service.
   The rehearsal lifts it in the emulator, as an operator would in the console, and destroys again.
3. The KMS deletion window: after the destroy, every key must be *pending deletion* for its window
   (not deleted), and its deletion must still be cancellable, which is what the window is for.

Without a protection (dev), the same code proves there was nothing to refuse, and still checks
the key's window.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rehearsal.terraform_cli import RunResult, TerraformRunner, read_state

_PREVENT_DESTROY = re.compile(r"Resource (\S+) has lifecycle\.prevent_destroy set")


class TeardownFailed(RuntimeError):
    """The destroy failed, left resources behind, or a protection did not refuse; the message says which."""


@dataclass
class Teardown:
    """``terraform destroy`` until the state is empty, proving each protection on the way (see the module docstring)."""

    tf: TerraformRunner
    state_file: Path
    protected: list[str]
    """Addresses whose configuration sets ``lifecycle.prevent_destroy``."""
    lift_prevent_destroy: Callable[[list[str]], None]
    """Writes the override that sets ``prevent_destroy = false`` on these addresses."""
    emulator: Any
    region: str
    timeout_seconds: float
    strict: bool = True
    """Fail when a protection did not refuse (the destroy phase); the cleanup after a failure only tears down."""
    notes: list[str] = field(default_factory=list)

    def run(self, *, refresh: bool) -> int:
        """Destroy everything in state; how many resources were destroyed. Notes say what each protection did."""
        state = read_state(self.state_file)
        # Terraform writes every attribute of the schema into the state: a key has key_id and id, a table its name.
        keys = [(r.attributes.get("key_id") or r.attributes["id"], r.attributes.get("deletion_window_in_days")) for r in state if r.type == "aws_kms_key"]
        protected_tables = [r.attributes["name"] for r in state if r.type == "aws_dynamodb_table" and r.attributes.get("deletion_protection_enabled")]
        in_state = {r.address for r in state}
        expected = sorted(set(self.protected) & in_state)
        result = self._destroy(refresh)
        # Terraform reports a refusal only for what it could plan: the key's comes once the
        # table and queues that depend on it may go. So lift what refused, and destroy again.
        refused: set[str] = set()
        for _ in range(len(expected) + 1):
            now = {m for d in result.diagnostics for m in _PREVENT_DESTROY.findall(f"{d.summary} {d.detail}")}
            if result.ok or not now:
                break
            refused |= now
            self.lift_prevent_destroy(sorted(refused))
            result = self._destroy(refresh)
        if self.strict and sorted(refused) != expected:
            raise TeardownFailed(f"lifecycle.prevent_destroy refused the destroy of {sorted(refused) or 'nothing'}, expected exactly {expected}")
        if refused:
            self.notes.append(f"lifecycle.prevent_destroy refused the destroy of {len(refused)} resources as it should ({', '.join(sorted(refused))}); lifted in the override file, destroyed again")
        table_refused = any("DeletionProtectionEnabled" in f"{d.summary} {d.detail}" for d in result.diagnostics)
        if not result.ok and table_refused and self.emulator is not None and self.emulator.running:
            self._lift_table_deletion_protection(protected_tables)
            self.notes.append(f"DynamoDB deletion protection refused the delete of {', '.join(protected_tables)} as it should; lifted in the emulator, destroyed again")
            result = self._destroy(refresh)
        elif self.strict and protected_tables and result.ok:
            raise TeardownFailed(f"DynamoDB deletion protection did not refuse the delete of {', '.join(protected_tables)}")
        if not result.ok:
            raise TeardownFailed(f"terraform destroy failed:\n    {result.failure()}")
        left = [r.address for r in read_state(self.state_file)]
        if left:
            raise TeardownFailed(f"destroy left {len(left)} resources in state: {', '.join(left)}")
        if self.emulator is not None and self.emulator.running:
            self._check_key_windows(keys)
        return len(in_state)

    def _destroy(self, refresh: bool) -> RunResult:
        # Right after a re-plan that refreshed everything, reading every resource again proves nothing new.
        args = ["destroy", "-auto-approve", "-input=false", "-json", *([] if refresh else ["-refresh=false"])]
        return self.tf.run(*args, timeout_seconds=self.timeout_seconds, json_stream=True)

    def _lift_table_deletion_protection(self, tables: list[str]) -> None:
        dynamodb = self.emulator.client("dynamodb", self.region)
        for table in tables:
            dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)

    def _check_key_windows(self, keys: list[tuple[str, int | None]]) -> None:
        """Every destroyed key is pending deletion for its window, and the deletion can still be cancelled."""
        kms = self.emulator.client("kms", self.region)
        for key_id, window in keys:
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            state, deletion = metadata.get("KeyState"), metadata.get("DeletionDate")
            if state != "PendingDeletion" or deletion is None:
                raise TeardownFailed(f"KMS key {key_id} is {state} after the destroy, expected PendingDeletion for its {window}-day deletion window")
            days = (deletion - datetime.now(UTC)) / timedelta(days=1)
            if window is not None and abs(days - int(window)) > 1:
                raise TeardownFailed(f"KMS key {key_id} is to be deleted in {days:.1f} days, expected its deletion window of {window} days")
            kms.cancel_key_deletion(KeyId=key_id)
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=int(window or 30))
            self.notes.append(f"the KMS deletion window held: key {key_id} is pending deletion for {window} days, not deleted, and its deletion could still be cancelled")
