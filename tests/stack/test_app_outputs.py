"""The app as users run it: cdktf.json, main.py's exit codes, and the stack outputs (issue item 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tfjson import find, only, ref

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- cdktf.json
def test_cdktf_json_is_the_python_template_without_provider_generation():
    config = json.loads((ROOT / "cdktf.json").read_text())
    assert config["language"] == "python"
    assert config["app"] == "pipenv run python main.py"
    # The provider is the prebuilt cdktf-cdktf-provider-aws package: nothing to generate.
    assert config.get("terraformProviders", []) == []


# --------------------------------------------------------------------------- main.py
def _run_main(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ENVIRONMENT_SUFFIX", "TF_STATE", "CDKTF_"))}
    environ.update(env, CDKTF_OUTDIR=str(tmp_path / "out"))
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def test_main_exits_2_listing_every_problem_without_a_traceback(tmp_path):
    # One subprocess (a jsii start costs seconds): the context comes in the way the cdktf CLI passes it.
    context = {"orderPipeline": {"prod": {"event_source_maximum_concurrency": 500}, "staging": {"log_retention_days": 8}}}
    result = _run_main(tmp_path, CDKTF_CONTEXT_JSON=json.dumps(context))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    for setting, value in (("event_source_maximum_concurrency", "500"), ("log_retention_days", "8")):
        assert f"{setting}: " in result.stderr and f"(given {value})" in result.stderr
    assert result.stderr.count("Fix: ") == 2
    assert not list((tmp_path / "out").rglob("cdk.tf.json")), "nothing may be synthesized from a bad config"


# --------------------------------------------------------------------------- outputs
REQUIRED_OUTPUTS = {
    # output -> (resource type, physical-name attribute and value, attribute the output must reference)
    "OrdersTableName": ("aws_dynamodb_table", {"name": "orders-table-{s}"}, "name"),
    "OrderQueueUrl": ("aws_sqs_queue", {"name": "order-queue-{s}"}, "url"),
    "DLQUrl": ("aws_sqs_queue", {"name": "order-dlq-{s}"}, "url"),
    "OrderTopicArn": ("aws_sns_topic", {"name": "order-events-{s}"}, "arn"),
    "AlarmTopicArn": ("aws_sns_topic", {"name": "order-alarms-{s}"}, "arn"),
    "ApiHandlerFunctionName": ("aws_lambda_function", {"function_name": "orders-api-handler-{s}"}, "function_name"),
    "OrderProcessorFunctionName": ("aws_lambda_function", {"function_name": "order-processor-{s}"}, "function_name"),
}


@pytest.mark.parametrize("output", sorted(REQUIRED_OUTPUTS))
def test_output_references_the_right_resource_in_every_stack(stacks, output):
    rtype, match, attr = REQUIRED_OUTPUTS[output]
    for name, doc in stacks.items():
        suffix = name.removeprefix("orders-")
        logical, _ = find(doc, rtype, **{k: v.format(s=suffix) for k, v in match.items()})
        assert doc["output"][output]["value"] == ref(rtype, logical, attr), f"{name}: {output}"
        assert doc["output"][output].get("description"), f"{name}: {output} has no description"


def test_api_endpoint_output_is_the_stage_invoke_url(dev):
    stage_id, _ = only(dev, "aws_api_gateway_stage")
    assert dev["output"]["ApiEndpoint"]["value"] == ref("aws_api_gateway_stage", stage_id, "invoke_url")


def test_every_stack_writes_exactly_the_outputs_of_the_contract(stacks, account_stack):
    """pipeline_config.output_keys is what ordersctl, the local pipeline and the rehearsal read."""
    from pipeline_config import output_keys

    for name, doc in stacks.items():
        assert {key: output["description"] for key, output in doc["output"].items()} == output_keys.ENVIRONMENT_OUTPUTS, name
    assert set(account_stack["output"]) == {output_keys.API_GATEWAY_CLOUDWATCH_ROLE_ARN}
