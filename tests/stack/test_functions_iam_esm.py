"""Synthesized JSON of the Lambda functions, their IAM policies, the event source mapping and provider tags."""

from __future__ import annotations

import re

import pytest

from tests.tfjson import find, only, policy, ref, resources

API = "api_handler.app.lambda_handler"
PROCESSOR = "order_processor.app.lambda_handler"
TOKEN = re.compile(r"^\$\{(?:data\.)?[a-z0-9_]+\.[\w-]+\.[a-z_]+\}")


def _function(doc: dict, handler: str) -> tuple[str, dict]:
    return find(doc, "aws_lambda_function", handler=handler)


def _statements(doc: dict, handler: str) -> list[dict]:
    _, function = _function(doc, handler)
    role_ref = function["role"]  # ${aws_iam_role.<id>.arn}
    role_id = role_ref.split(".")[1]
    policies = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == ref("aws_iam_role", role_id, "id")]
    assert len(policies) == 1, "exactly one inline policy per function role"
    return policy(policies[0]["policy"])["Statement"]


def _allowed(statements: list[dict]) -> dict[str, set[str]]:
    """action -> resources allowed (Allow statements only)."""
    out: dict[str, set[str]] = {}
    for s in statements:
        if s["Effect"] != "Allow":
            continue
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        targets = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        for action in actions:
            out.setdefault(action, set()).update(targets)
    return out


# --------------------------------------------------------------------------- functions
@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_function_runtime_tracing_package_and_layer(dev, handler):
    _, function = _function(dev, handler)
    assert function["runtime"] == "python3.12"
    assert function["tracing_config"] == {"mode": "Active"}
    assert re.fullmatch(r"assets/[\w-]+/[0-9a-f]{64}/archive\.zip", function["filename"]), function["filename"]
    assert re.fullmatch(r"[0-9a-f]{64}", function["source_code_hash"])
    assert function["source_code_hash"] in function["filename"]  # the asset and the trigger agree
    assert function["layers"] == ["arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"]
    key_id, _ = only(dev, "aws_kms_key")
    assert function["kms_key_arn"] == ref("aws_kms_key", key_id, "arn")


@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_function_has_its_own_log_group_and_depends_on_it_and_its_policy(dev, handler):
    _, function = _function(dev, handler)
    log_id, log_group = find(dev, "aws_cloudwatch_log_group", name=f"/aws/lambda/{function['function_name']}")
    assert log_group["retention_in_days"] == 7
    key_id, _ = only(dev, "aws_kms_key")
    assert log_group["kms_key_id"] == ref("aws_kms_key", key_id, "arn")
    role_id = function["role"].split(".")[1]
    (policy_id,) = [n for n, p in resources(dev, "aws_iam_role_policy").items() if p["role"] == ref("aws_iam_role", role_id, "id")]
    assert set(function["depends_on"]) == {f"aws_cloudwatch_log_group.{log_id}", f"aws_iam_role_policy.{policy_id}"}


def test_prod_log_retention_follows_config(prod):
    for handler in (API, PROCESSOR):
        _, function = _function(prod, handler)
        _, log_group = find(prod, "aws_cloudwatch_log_group", name=f"/aws/lambda/{function['function_name']}")
        assert log_group["retention_in_days"] == 90


@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_function_environment_wires_table_queue_topic_and_powertools(dev, handler):
    _, function = _function(dev, handler)
    env = function["environment"]["variables"]
    table_id, _ = only(dev, "aws_dynamodb_table")
    queue_id, _ = find(dev, "aws_sqs_queue", name="order-queue-dev")
    topic_id, _ = find(dev, "aws_sns_topic", name="order-events-dev")
    assert env["ORDERS_TABLE_NAME"] == ref("aws_dynamodb_table", table_id, "name")
    assert env["ORDER_QUEUE_URL"] == ref("aws_sqs_queue", queue_id, "url")
    assert env["ORDER_TOPIC_ARN"] == ref("aws_sns_topic", topic_id, "arn")
    assert env["POWERTOOLS_SERVICE_NAME"].startswith("orders-")
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "OrderPipeline/dev"  # the environment's own (tests/stack/test_alarms.py)
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # The handler parses exactly these variables (its own contract, orders_core.settings).
    from orders_core.settings import Settings

    assert Settings.from_environ(env).to_environ() == {k: env[k] for k in ("ORDERS_TABLE_NAME", "ORDER_QUEUE_URL", "ORDER_TOPIC_ARN")}


def test_role_trusts_only_lambda_exactly_as_aws_documents_it(dev):
    for handler in (API, PROCESSOR):
        _, function = _function(dev, handler)
        role_id = function["role"].split(".")[1]
        role = resources(dev, "aws_iam_role")[role_id]
        assert role["name"] == f"{function['function_name']}-role"
        (statement,) = policy(role["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"
        # No condition: Lambda is not documented to send aws:SourceAccount (tests/security/test_conditions.py).
        assert "Condition" not in statement


# --------------------------------------------------------------------------- IAM least privilege
@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_every_resource_is_an_exact_reference_and_only_xray_uses_star(dev, handler):
    for statement in _statements(dev, handler):
        targets = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert all("*" not in a for a in actions), actions  # no wildcard actions
        for target in targets:
            if target == "*":
                assert set(actions) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
            else:
                assert TOKEN.match(target), f"{target} is not an exact resource reference"
                assert "*" not in target.replace(":*", "") and target.count(":*") <= 1


@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_logs_permission_is_limited_to_the_functions_own_log_group(dev, handler):
    _, function = _function(dev, handler)
    log_id, _ = find(dev, "aws_cloudwatch_log_group", name=f"/aws/lambda/{function['function_name']}")
    allowed = _allowed(_statements(dev, handler))
    assert allowed["logs:CreateLogStream"] == allowed["logs:PutLogEvents"] == {ref("aws_cloudwatch_log_group", log_id, "arn") + ":*"}
    # The stack creates it; Lambda may recreate exactly that group if it is deleted out of band.
    assert allowed["logs:CreateLogGroup"] == {ref("aws_cloudwatch_log_group", log_id, "arn")}


def test_api_handler_sends_reads_items_and_queries_only_the_index(dev):
    allowed = _allowed(_statements(dev, API))
    table_id, _ = only(dev, "aws_dynamodb_table")
    queue_id, _ = find(dev, "aws_sqs_queue", name="order-queue-dev")
    table_arn = ref("aws_dynamodb_table", table_id, "arn")
    assert allowed["sqs:SendMessage"] == {ref("aws_sqs_queue", queue_id, "arn")}
    assert allowed["dynamodb:GetItem"] == {table_arn}
    assert allowed["dynamodb:Query"] == {f"{table_arn}/index/CustomerIdIndex"}  # the GSI only, never the table
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "sns:Publish", "sqs:DeleteMessage", "sqs:ReceiveMessage"}
    assert not writes & set(allowed)


def test_processor_consumes_writes_and_publishes(dev):
    allowed = _allowed(_statements(dev, PROCESSOR))
    table_id, _ = only(dev, "aws_dynamodb_table")
    queue_id, _ = find(dev, "aws_sqs_queue", name="order-queue-dev")
    topic_id, _ = find(dev, "aws_sns_topic", name="order-events-dev")
    queue_arn = ref("aws_sqs_queue", queue_id, "arn")
    # exactly what Lambda documents for an SQS event source: no ChangeMessageVisibility
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed[action] == {queue_arn}, action
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem"):
        assert allowed[action] == {ref("aws_dynamodb_table", table_id, "arn")}, action
    assert allowed["sns:Publish"] == {ref("aws_sns_topic", topic_id, "arn")}
    unused = {"sqs:SendMessage", "sqs:ChangeMessageVisibility", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"}
    assert not unused & set(allowed)


@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_functions_may_use_exactly_the_pipeline_key_for_data_keys_and_decryption(dev, handler):
    key_id, _ = only(dev, "aws_kms_key")
    allowed = _allowed(_statements(dev, handler))
    kms = {action: targets for action, targets in allowed.items() if action.startswith("kms:")}
    # No kms:Encrypt (SQS and SNS producers need a data key, not Encrypt) and no DescribeKey.
    assert kms == {"kms:Decrypt": {ref("aws_kms_key", key_id, "arn")}, "kms:GenerateDataKey": {ref("aws_kms_key", key_id, "arn")}}


@pytest.mark.parametrize("handler", [API, PROCESSOR])
def test_statement_ids_are_unique(dev, handler):
    sids = [s["Sid"] for s in _statements(dev, handler) if "Sid" in s]
    assert len(sids) == len(set(sids))


# --------------------------------------------------------------------------- event source mapping
def test_event_source_mapping_batches_reports_failures_and_caps_concurrency(dev):
    _, mapping = only(dev, "aws_lambda_event_source_mapping")
    processor_id, processor = _function(dev, PROCESSOR)
    queue_id, _ = find(dev, "aws_sqs_queue", name="order-queue-dev")
    assert mapping["event_source_arn"] == ref("aws_sqs_queue", queue_id, "arn")
    assert mapping["function_name"] == ref("aws_lambda_function", processor_id, "function_name")
    assert mapping["batch_size"] == 10
    assert mapping["maximum_batching_window_in_seconds"] == 5
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert processor["reserved_concurrent_executions"] == 100
    assert 2 <= mapping["scaling_config"]["maximum_concurrency"] <= processor["reserved_concurrent_executions"]


def test_api_handler_has_no_reserved_concurrency(dev):
    _, api = _function(dev, API)
    assert "reserved_concurrent_executions" not in api


# --------------------------------------------------------------------------- provider tags
def test_provider_default_tags(stacks):
    for name, doc in stacks.items():
        (provider,) = doc["provider"]["aws"]
        (default_tags,) = provider["default_tags"]
        tags = default_tags["tags"]
        assert tags["Project"] == "order-pipeline"
        assert tags["Environment"] == name.removeprefix("orders-")
        assert tags["ManagedBy"] == "cdktf"


def test_a_review_environment_reserves_no_concurrency(review_stacks, dev):
    """pr-* stacks share the unreserved pool: no reservation, so no event-source cap tied to one either."""
    for name, doc in review_stacks.items():
        _, processor = _function(doc, PROCESSOR)
        assert "reserved_concurrent_executions" not in processor, name
        (mapping,) = resources(doc, "aws_lambda_event_source_mapping").values()
        assert "scaling_config" not in mapping, name
    # dev, whose settings the review environments otherwise take, does reserve.
    assert _function(dev, PROCESSOR)[1]["reserved_concurrent_executions"] == 100
