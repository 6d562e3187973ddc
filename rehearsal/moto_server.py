"""A moto server for the deploy rehearsal, with the emulator gaps that block ``terraform apply`` patched.

Run as its own process: ``python -m rehearsal.moto_server -H 127.0.0.1 -p <port>``. The patches
change moto, never the stack: each one names the moto behaviour it works around, and
``tests/rehearsal/test_moto_gaps.py`` proves on stock moto that each is still needed, so a moto
upgrade that fixes one makes that test fail and the patch can go.

Only this process is patched; the local pipeline and the e2e tests run stock moto.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

#: moto loads AWS managed IAM policies (e.g. AmazonAPIGatewayPushToCloudWatchLogs, which the
#: API Gateway account role attaches) only when this is set.
MANAGED_POLICIES_ENV = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}

#: Every patch applied, as (moto behaviour, what the patch does); printed by the harness.
PATCHES: tuple[tuple[str, str], ...] = (
    (
        "SQS SetQueueAttributes without 'Policy' resets the queue's Policy (moto 5.2.5, Queue._set_attributes)",
        ("keep the current Policy when a SetQueueAttributes call does not name it; otherwise aws_sqs_queue_policy and aws_sqs_queue_redrive_policy undo each other and the provider waits forever"),
    ),
    (
        "SQS GetQueueAttributes never returns RedriveAllowPolicy (moto 5.2.5: not in Queue.BASE_ATTRIBUTES)",
        "return the stored RedriveAllowPolicy; otherwise aws_sqs_queue_redrive_allow_policy waits forever for it",
    ),
    (
        "SQS GetQueueAttributes returns RedrivePolicy re-serialized with spaces (moto 5.2.5: json.dumps in Queue.attributes); SQS returns it compact",
        (
            "return it compact, as SQS does; otherwise every plan after an apply shows the queue's and the redrive policy's "
            "redrive_policy as changed (formatting only), and an upgrade applies that non-change, waiting ~25 s for SQS propagation"
        ),
    ),
    (
        "AWS managed IAM policies exist only with MOTO_IAM_LOAD_MANAGED_POLICIES=true",
        "set MOTO_IAM_LOAD_MANAGED_POLICIES=true for the server",
    ),
)


def apply_patches() -> None:
    """Patch moto's SQS model in this process (idempotent)."""
    from moto.sqs.models import Queue

    if getattr(Queue, "_rehearsal_patched", False):
        return
    original_set_attributes = Queue._set_attributes

    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        # moto ends _set_attributes with `self.policy = attributes.get("Policy")`: an update that
        # only sets RedrivePolicy wipes the Policy. Real SQS changes only the attributes named.
        kept = getattr(self, "policy", None)
        original_set_attributes(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = kept
        if attributes.get("RedriveAllowPolicy") == "":
            # Real SQS drops a cleared attribute from GetQueueAttributes; an empty string left in
            # place makes the provider wait forever when it deletes the redrive-allow policy.
            self.redrive_allow_policy = None

    Queue._set_attributes = _set_attributes  # type: ignore[method-assign]  # moto internals: the patch replaces the model method
    original_attributes = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        result = original_attributes.fget(self)  # type: ignore[attr-defined]  # moto declares attributes a property under its own type: ignore
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]  # moto internals: the patch replaces the property
    # _set_attributes already stores RedriveAllowPolicy as `redrive_allow_policy`; listing it makes
    # GetQueueAttributes accept the name and return the value (None is left out of responses).
    Queue.redrive_allow_policy = None  # type: ignore[attr-defined]  # moto internals: a class default for the attribute it stores
    if "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    Queue._rehearsal_patched = True  # type: ignore[attr-defined]  # our marker on moto's class: the patch runs once


#: Test-only fault injection: KMS CreateKey fails with ValidationException when this is "1", so
#: the tests can prove that a failed apply is reported, cleaned up and exits non-zero. The key is
#: created first and most resources depend on it, so the failing apply is short.
REJECT_KEY_ENV = "REHEARSAL_MOTO_REJECT_KMS_KEY"


def apply_fault_injection() -> None:
    """Make KMS CreateKey fail (tests of the harness's failure path only)."""
    from moto.kms.exceptions import ValidationException
    from moto.kms.models import KmsBackend

    def create_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ValidationException(f"CreateKey is rejected by the rehearsal's fault injection ({REJECT_KEY_ENV}=1)")

    KmsBackend.create_key = create_key  # type: ignore[method-assign]  # moto internals: the fault injection replaces the method


def main(argv: list[str] | None = None) -> int:
    """Start moto's server with the patches (arguments as ``moto_server``)."""
    for name, value in MANAGED_POLICIES_ENV.items():
        os.environ.setdefault(name, value)
    # werkzeug logs every request at INFO: thousands of lines during an apply.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    apply_patches()
    if os.environ.get(REJECT_KEY_ENV) == "1":
        apply_fault_injection()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
