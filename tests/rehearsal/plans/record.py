"""Record the plan fixtures of ``tests/rehearsal/test_plan_guard.py``: real plans of this stack, each with one kind of change injected.

``python -m tests.rehearsal.plans.record`` (minutes; needs terraform and the provider, like ``make
rehearse``) deploys dev to the rehearsal's moto, then for each scenario below edits the synthesized
``cdk.tf.json``, runs ``terraform plan`` against the deployed state and keeps what
``terraform show -json`` says about the changes (no-ops left out) in ``<scenario>.json``. The
drift fixtures are ``-refresh-only`` plans (``resource_drift`` and ``prior_state`` kept) of the
deployed stack changed behind Terraform's back: ``drift.json``, right after the first deploy, by the
rehearsal's own out-of-band changes (``rehearsal.drift_rehearsal.OUT_OF_BAND``) after the event
source mapping was paused and resumed, as the rehearsal's pipeline check does; ``drift-by-hand.json``,
once the code was applied again and the state refreshed (a stack some deploys old), by what a
person in the console might do (an inline policy added, code and environment changed, a mapping
disabled, a queue policy widened, ...). ``python -m tests.rehearsal.plans.record drift`` records
only what it names. ``aws-schema.json`` is the provider's schema of the stack's resource
types (descriptions left out). Re-record after a change to the stack that the tests should see.

The edits are made to the JSON, not to the Python code, so each scenario is exactly one kind of
change; the plans are Terraform's own, so their shape is what the guard reads in a pull request.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rehearsal.drift import load_schema
from rehearsal.drift_rehearsal import change_out_of_band
from rehearsal.provider_schema import ProviderSchema, trimmed_json
from rehearsal.runner import Rehearsal, RehearsalOptions
from rehearsal.terraform_cli import StateResource, read_state
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
    keep: dict[str, Any] = {key: plan[key] for key in ("format_version", "terraform_version") if key in plan}
    keep["resource_changes"] = [c for c in plan.get("resource_changes", []) if c["change"]["actions"] not in (["no-op"], ["read"])]
    if drift:
        keep["resource_drift"] = plan.get("resource_drift", [])
        keep["prior_state"] = plan.get("prior_state", {})
    return keep


def _one_of(state: list[StateResource], address_part: str) -> StateResource:
    (found,) = [r for r in state if address_part in r.address]
    return found


def by_hand(rehearsal: Rehearsal) -> None:
    """What a person in the console might change: each is drift the check must report (and nothing else)."""
    state = read_state(rehearsal.state_path)
    emulator = rehearsal.emulator
    assert emulator is not None, "record the plans against a rehearsal that started its emulator"

    def client(service: str) -> Any:
        return emulator.client(service, rehearsal.region)

    function = _one_of(state, "aws_lambda_function.api-handler")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    client("lambda").update_function_code(FunctionName=function.attributes["function_name"], ZipFile=package.getvalue())
    processor = _one_of(state, "aws_lambda_function.order-processor")
    variables = {**processor.attributes["environment"][0]["variables"], "DEBUG_BY_HAND": "1"}
    client("lambda").update_function_configuration(FunctionName=processor.attributes["function_name"], Environment={"Variables": variables})
    role = _one_of(state, "aws_iam_role.order-processor")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    client("iam").put_role_policy(RoleName=role.attributes["name"], PolicyName="added-by-hand", PolicyDocument=json.dumps(everything))
    dlq = _one_of(state, "aws_sqs_queue.order-queue_dlq")
    anyone = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": dlq.attributes["arn"]}]}
    client("sqs").set_queue_attributes(QueueUrl=dlq.attributes["url"], Attributes={"Policy": json.dumps(anyone)})
    mapping = _one_of(state, "aws_lambda_event_source_mapping")
    client("lambda").update_event_source_mapping(UUID=mapping.attributes["uuid"], Enabled=False)
    topic = _one_of(state, "aws_sns_topic.order-events")
    client("sns").set_topic_attributes(TopicArn=topic.attributes["arn"], AttributeName="DisplayName", AttributeValue="by hand")
    group = _one_of(state, "aws_cloudwatch_log_group.api-handler")
    client("logs").delete_retention_policy(logGroupName=group.attributes["name"])


def by_the_rehearsal(rehearsal: Rehearsal) -> None:
    """The mapping paused and resumed (as the pipeline check does), then the rehearsal's own out-of-band changes."""
    emulator = rehearsal.emulator
    assert emulator is not None, "record the plans against a rehearsal that started its emulator"

    def client(service: str) -> Any:
        return emulator.client(service, rehearsal.region)

    state = read_state(rehearsal.state_path)
    mapping = _one_of(state, "aws_lambda_event_source_mapping")
    time.sleep(1.5)  # so the mapping's last_modified moves
    for enabled in (False, True):
        client("lambda").update_event_source_mapping(UUID=mapping.attributes["uuid"], Enabled=enabled)
    for done in change_out_of_band(state, client):
        print(f"  out of band: {done.what}")


def record_drift(rehearsal: Rehearsal, name: str, change: Callable[[Rehearsal], None]) -> None:
    """Change the deployed stack out of band with ``change``, then record the refresh-only plan as ``<name>.json``."""
    work = rehearsal.work
    change(rehearsal)
    result = work.tf.run("plan", "-refresh-only", "-input=false", "-no-color", f"-out={name}.tfplan", timeout_seconds=600)
    assert result.ok, result.failure()
    (HERE / f"{name}.json").write_text(json.dumps(_trim(work.tf.show_json(f"{name}.tfplan"), drift=True), indent=1, sort_keys=True) + "\n")
    print(f"recorded {name}")


def settle(rehearsal: Rehearsal) -> None:
    """Put the code back (a plan of the base, applied) and record what AWS holds in the state: a stack some deploys after its first."""
    work = rehearsal.work
    rehearsal._plan(work, "settle.tfplan")
    for args in (("apply", "-input=false", "-no-color", "settle.tfplan"), ("apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")):
        result = work.tf.run(*args, timeout_seconds=900)
        assert result.ok, result.failure()


def main(argv: list[str] | None = None) -> int:
    """Deploy, record every scenario (or those named on the command line) and the drift plans, tear down."""
    wanted = set(sys.argv[1:] if argv is None else argv) or set(SCENARIOS) | {"drift", "drift-by-hand", "aws-schema"}
    workdir = Path(tempfile.mkdtemp(prefix="record-plans-"))
    rehearsal = Rehearsal(RehearsalOptions(workdir=workdir, pipeline_check=False))
    rehearsal.root = workdir
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
            if name not in wanted:
                continue
            doc = copy.deepcopy(base)
            edit(doc)
            (work.path / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
            plan = rehearsal._plan(work, f"{name}.tfplan")
            (HERE / f"{name}.json").write_text(json.dumps(_trim(plan), indent=1, sort_keys=True) + "\n")
            print(f"recorded {name}: {len(_trim(plan)['resource_changes'])} changes")
        (work.path / "cdk.tf.json").write_text(json.dumps(base, indent=2))
        if "drift" in wanted:
            record_drift(rehearsal, "drift", by_the_rehearsal)
            settle(rehearsal)
        if "drift-by-hand" in wanted:
            record_drift(rehearsal, "drift-by-hand", by_hand)
        if "aws-schema" in wanted:
            schema = ProviderSchema.from_json(load_schema(work.tf).as_json(), set(base["resource"]))
            (HERE / "aws-schema.json").write_text(trimmed_json(schema))
            print("recorded aws-schema")
    finally:
        if rehearsal.emulator is not None:
            rehearsal.emulator.stop()  # the emulator holds everything; nothing outlives it
    return 0


if __name__ == "__main__":
    sys.exit(main())
