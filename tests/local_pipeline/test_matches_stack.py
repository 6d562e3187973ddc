"""The local emulator's resources match the SYNTHESIZED stack (names, keys, queue and batching settings).

The emulator builds its resources from ``config_for(suffix)`` without importing the constructs
(that would start jsii); this test is what keeps the two from drifting apart.
"""

from __future__ import annotations

import json

import pytest

from local_pipeline.emulator import dlq_attributes, order_queue_attributes, orders_table_definition
from pipeline_config.environments import config_for
from tests.tfjson import find, only, resources


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
    assert [
        (g["IndexName"], [k["AttributeName"] for k in g["KeySchema"]], g["Projection"]["ProjectionType"])
        for g in local["GlobalSecondaryIndexes"]
    ] == [(g["name"], [g["hash_key"], g["range_key"]], g["projection_type"]) for g in table["global_secondary_index"]]


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
