"""The local emulator's resources match the SYNTHESIZED stack (names, keys, queue and batching settings).

The emulator builds its resources from ``config_for(suffix)`` without importing the constructs
(that would start jsii); this test is what keeps the two from drifting apart.
"""

from __future__ import annotations

import json

import pytest

from local_pipeline.emulator import dlq_attributes, order_queue_attributes, orders_table_definition
from pipeline_config.environments import config_for
from tests.tfjson import SAFE_SUBSTITUTIONS, find, only, render_gateway_template, resources, unescape_terraform


@pytest.fixture(scope="module")
def config():
    return config_for("dev")


def test_orders_table_matches_the_stack(dev, config):
    _, table = only(dev, "aws_dynamodb_table")
    local = orders_table_definition(config)
    assert local["TableName"] == table["name"]
    assert local["BillingMode"] == table["billing_mode"]
    assert local["KeySchema"] == [{"AttributeName": table["hash_key"], "KeyType": "HASH"}]
    assert {(a["AttributeName"], a["AttributeType"]) for a in local["AttributeDefinitions"]} == {(a["name"], a["type"]) for a in table["attribute"]}
    assert [(g["IndexName"], [k["AttributeName"] for k in g["KeySchema"]], g["Projection"]["ProjectionType"]) for g in local["GlobalSecondaryIndexes"]] == [
        (g["name"], [g["hash_key"], g["range_key"]], g["projection_type"]) for g in table["global_secondary_index"]
    ]


def test_queues_and_redrive_match_the_stack(dev, config):
    _, queue = find(dev, "aws_sqs_queue", name=config.names.order_queue)
    _, dlq = find(dev, "aws_sqs_queue", name=config.names.order_dlq)
    local = order_queue_attributes(config, dlq_arn="arn:dlq")
    assert int(local["VisibilityTimeout"]) == queue["visibility_timeout_seconds"]
    assert int(local["MessageRetentionPeriod"]) == queue["message_retention_seconds"]
    assert int(dlq_attributes(config)["MessageRetentionPeriod"]) == dlq["message_retention_seconds"]
    (redrive,) = resources(dev, "aws_sqs_queue_redrive_policy").values()
    assert json.loads(local["RedrivePolicy"])["maxReceiveCount"] == json.loads(redrive["redrive_policy"])["maxReceiveCount"]


def test_poller_settings_match_the_event_source_mapping(dev, config):
    _, mapping = only(dev, "aws_lambda_event_source_mapping")
    assert mapping["batch_size"] == config.batch_size
    assert mapping["maximum_batching_window_in_seconds"] == config.batching_window_seconds
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]


def test_topics_match_the_stack(dev, config):
    names = {t["name"] for t in resources(dev, "aws_sns_topic").values()}
    assert {config.names.order_events_topic, config.names.alarm_topic} <= names


def test_the_local_gateway_errors_have_the_stacks_body(dev):
    """The local API's own errors render the stack's DEFAULT_4XX/5XX template: same fields, same values."""
    from local_pipeline.api_events import BAD_REQUEST_BODY, INTEGRATION_FAILURE, MISSING_AUTHENTICATION_TOKEN, gateway_response

    templates = {r["response_type"]: r["response_templates"]["application/json"] for r in resources(dev, "aws_api_gateway_gateway_response").values()}
    for error in (MISSING_AUTHENTICATION_TOKEN, BAD_REQUEST_BODY, INTEGRATION_FAILURE):
        template = unescape_terraform(templates["DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX"])
        substitutions = {**SAFE_SUBSTITUTIONS, "$context.error.messageString": json.dumps(error.message), "$context.error.responseType": error.response_type}
        local = gateway_response(error, SAFE_SUBSTITUTIONS["$context.requestId"])
        assert json.loads(local.body) == json.loads(render_gateway_template(template, substitutions)), error
