"""Record the plan fixtures of ``tests/rehearsal/test_plan_guard.py``: real plans of this stack, each with one kind of change injected.

``python -m tests.rehearsal.plans.record`` (minutes; needs terraform and the provider, like ``make
rehearse``) deploys dev to the rehearsal's moto, then for each scenario below edits the synthesized
``cdk.tf.json``, runs ``terraform plan`` against the deployed state and keeps what
``terraform show -json`` says about the changes (no-ops left out) in ``<scenario>.json``. The
``drift`` scenario changes the deployed queue behind Terraform's back and records a
``-refresh-only`` plan. Re-record after a change to the stack that the classifier tests should see.

The edits are made to the JSON, not to the Python code, so each scenario is exactly one kind of
change; the plans are Terraform's own, so their shape is what the guard reads in a pull request.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from rehearsal.runner import Rehearsal, RehearsalOptions
from rehearsal.terraform_cli import read_state
from rehearsal.toolchain import find_terraform

HERE = Path(__file__).resolve().parent


def _one(doc: dict[str, Any], rtype: str, name_part: str) -> dict[str, Any]:
    matches = [r for n, r in doc["resource"][rtype].items() if name_part in n]
    assert len(matches) == 1, (rtype, name_part, list(doc["resource"][rtype]))
    return matches[0]


def _edit_policy(resource: dict[str, Any], attribute: str, edit: Callable[[dict[str, Any]], None]) -> None:
    policy = json.loads(resource[attribute])
    edit(policy)
    resource[attribute] = json.dumps(policy)


def table_renamed(doc: dict[str, Any]) -> None:
    _one(doc, "aws_dynamodb_table", "orders-table")["name"] = "orders-v2-dev"


def queue_renamed(doc: dict[str, Any]) -> None:
    _one(doc, "aws_sqs_queue", "order-queue_39")["name"] = "order-queue-v2-dev"


def key_replaced(doc: dict[str, Any]) -> None:
    _one(doc, "aws_kms_key", "encryption-key")["multi_region"] = True


def identities_renamed(doc: dict[str, Any]) -> None:
    _one(doc, "aws_kms_alias", "alias")["name"] = "alias/orders-key-v2-dev"
    _one(doc, "aws_sns_topic", "order-events")["name"] = "order-events-v2-dev"
    _one(doc, "aws_cloudwatch_log_group", "orders-api_access-logs")["name"] = "/aws/apigateway/orders-api-v2-dev"


def serving_replaced(doc: dict[str, Any]) -> None:
    _one(doc, "aws_lambda_function", "api-handler")["function_name"] = "orders-api-handler-v2-dev"
    _one(doc, "aws_api_gateway_stage", "stage")["stage_name"] = "v2"


def security(doc: dict[str, Any]) -> None:
    def more_actions(policy: dict[str, Any]) -> None:
        policy["Statement"].append({"Effect": "Allow", "Action": ["dynamodb:DeleteTable"], "Resource": "*"})

    _edit_policy(_one(doc, "aws_iam_role_policy", "api-handler"), "policy", more_actions)

    def another_trusted_service(policy: dict[str, Any]) -> None:
        policy["Statement"][0]["Principal"] = {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}

    _edit_policy(_one(doc, "aws_iam_role", "order-processor"), "assume_role_policy", another_trusted_service)

    def anyone_sends(policy: dict[str, Any]) -> None:
        policy["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"})

    _edit_policy(_one(doc, "aws_sqs_queue_policy", "queue-policy"), "policy", anyone_sends)
    _one(doc, "aws_api_gateway_method", "get-order")["authorization"] = "NONE"
    table = _one(doc, "aws_dynamodb_table", "orders-table")
    table["point_in_time_recovery"] = {"enabled": False}
    table["deletion_protection_enabled"] = False
    _one(doc, "aws_api_gateway_method_settings", "method-settings")["settings"]["data_trace_enabled"] = True
    _one(doc, "aws_kms_key", "encryption-key")["enable_key_rotation"] = False


def routine(doc: dict[str, Any]) -> None:
    for function in doc["resource"]["aws_lambda_function"].values():
        function["memory_size"] = 512
    _one(doc, "aws_cloudwatch_metric_alarm", "queue-depth")["threshold"] = 600
    for group in doc["resource"]["aws_cloudwatch_log_group"].values():
        group["retention_in_days"] = 14


SCENARIOS: dict[str, Callable[[dict[str, Any]], None]] = {
    "table-renamed": table_renamed,
    "queue-renamed": queue_renamed,
    "key-replaced": key_replaced,
    "identities-renamed": identities_renamed,
    "serving-replaced": serving_replaced,
    "security": security,
    "routine": routine,
}


def _base(doc: dict[str, Any]) -> None:
    # Deployed with deletion protection on, so turning it off is a change to record.
    _one(doc, "aws_dynamodb_table", "orders-table")["deletion_protection_enabled"] = True


def _trim(plan: dict[str, Any], *, drift: bool = False) -> dict[str, Any]:
    keep = {key: plan[key] for key in ("format_version", "terraform_version") if key in plan}
    keep["resource_changes"] = [c for c in plan.get("resource_changes", []) if c["change"]["actions"] not in (["no-op"], ["read"])]
    if drift:
        keep["resource_drift"] = plan.get("resource_drift", [])
    return keep


def main() -> int:
    """Deploy, record every scenario and the drift plan, tear down."""
    rehearsal = Rehearsal(RehearsalOptions(workdir=Path(tempfile.mkdtemp(prefix="record-plans-")), pipeline_check=False))
    rehearsal.root = Path(rehearsal.options.workdir)
    terraform = find_terraform()
    steps = [rehearsal._synth, lambda: rehearsal._prepare(terraform), rehearsal._init, rehearsal._start_emulator]
    try:
        for step in steps:
            print(step())
        work = rehearsal.work
        original = copy.deepcopy(work.doc)
        base = copy.deepcopy(original)
        _base(base)
        (work.path / "cdk.tf.json").write_text(json.dumps(base, indent=2))
        rehearsal._plan(work, "first.tfplan")
        print(rehearsal._apply())
        for name, edit in SCENARIOS.items():
            doc = copy.deepcopy(base)
            edit(doc)
            (work.path / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
            plan = rehearsal._plan(work, f"{name}.tfplan")
            (HERE / f"{name}.json").write_text(json.dumps(_trim(plan), indent=1, sort_keys=True) + "\n")
            print(f"recorded {name}: {len(_trim(plan)['resource_changes'])} changes")
        (work.path / "cdk.tf.json").write_text(json.dumps(base, indent=2))
        queue_url = next(r.attributes["url"] for r in read_state(rehearsal.state_path) if r.address.endswith("order-queue_391EF9A8"))
        assert rehearsal.emulator is not None
        rehearsal.emulator.client("sqs", rehearsal.region).set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "99"})
        result = work.tf.run("plan", "-refresh-only", "-input=false", "-no-color", "-out=drift.tfplan", timeout_seconds=600)
        assert result.ok, result.failure()
        (HERE / "drift.json").write_text(json.dumps(_trim(work.tf.show_json("drift.tfplan"), drift=True), indent=1, sort_keys=True) + "\n")
        print("recorded drift")
    finally:
        if rehearsal.emulator is not None:
            rehearsal.emulator.stop()  # the emulator holds everything; nothing outlives it
    return 0


if __name__ == "__main__":
    sys.exit(main())
