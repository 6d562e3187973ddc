"""Synthesized JSON of the queue + DLQ, the orders table, the KMS key and the SNS topics."""

from __future__ import annotations

import json
import re

from tests.tfjson import find, only, policy, ref, resources


# --------------------------------------------------------------------------- queue + DLQ
def _queues(doc: dict) -> tuple[tuple[str, dict], tuple[str, dict]]:
    return find(doc, "aws_sqs_queue", name="order-queue-dev"), find(doc, "aws_sqs_queue", name="order-dlq-dev")


def test_redrive_is_a_separate_resource_pointing_at_the_dlq_with_max_receive_count_3(dev):
    (queue_id, _), (dlq_id, _) = _queues(dev)
    _, redrive = only(dev, "aws_sqs_queue_redrive_policy")
    assert redrive["queue_url"] == ref("aws_sqs_queue", queue_id, "url")
    assert policy(redrive["redrive_policy"]) == {"deadLetterTargetArn": ref("aws_sqs_queue", dlq_id, "arn"), "maxReceiveCount": 3}


def test_redrive_allow_policy_is_separate_and_only_admits_the_source_queue(dev):
    (queue_id, _), (dlq_id, _) = _queues(dev)
    _, allow = only(dev, "aws_sqs_queue_redrive_allow_policy")
    assert allow["queue_url"] == ref("aws_sqs_queue", dlq_id, "url")
    assert policy(allow["redrive_allow_policy"]) == {"redrivePermission": "byQueue", "sourceQueueArns": [ref("aws_sqs_queue", queue_id, "arn")]}


def test_no_queue_uses_the_inline_redrive_arguments(stacks):
    for doc in stacks.values():
        for queue in resources(doc, "aws_sqs_queue").values():
            assert "redrive_policy" not in queue and "redrive_allow_policy" not in queue


def test_dlq_keeps_messages_14_days_longer_than_the_queue(dev):
    (_, queue), (_, dlq) = _queues(dev)
    assert dlq["message_retention_seconds"] == 1_209_600
    assert dlq["message_retention_seconds"] > queue["message_retention_seconds"]


def test_both_queues_use_the_cmk_and_long_polling(dev):
    key_id, _ = only(dev, "aws_kms_key")
    for _, queue in _queues(dev):
        assert queue["kms_master_key_id"] == ref("aws_kms_key", key_id, "arn")
        assert queue["kms_data_key_reuse_period_seconds"] == 300
        assert queue["receive_wait_time_seconds"] == 20
        assert "sqs_managed_sse_enabled" not in queue


def test_both_queues_deny_requests_without_tls(dev):
    queue_policies = resources(dev, "aws_sqs_queue_policy")
    covered = set()
    for queue_id, _ in _queues(dev):
        hits = [p for p in queue_policies.values() if p["queue_url"] == ref("aws_sqs_queue", queue_id, "url")]
        assert len(hits) == 1, f"{queue_id} has {len(hits)} queue policies"
        (statement,) = policy(hits[0]["policy"])["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "sqs:*"
        assert statement["Resource"] == ref("aws_sqs_queue", queue_id, "arn")
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        covered.add(queue_id)
    assert len(covered) == 2


def test_queue_visibility_is_at_least_6x_processor_timeout(stacks):
    for name, doc in stacks.items():
        _, processor = find(doc, "aws_lambda_function", handler="order_processor.app.lambda_handler")
        suffix = name.removeprefix("orders-")
        _, queue = find(doc, "aws_sqs_queue", name=f"order-queue-{suffix}")
        assert queue["visibility_timeout_seconds"] >= 6 * processor["timeout"], name


# --------------------------------------------------------------------------- table
def test_table_keys_and_indexes(dev):
    _, table = only(dev, "aws_dynamodb_table")
    assert table["hash_key"] == "orderId" and "range_key" not in table
    assert {(a["name"], a["type"]) for a in table["attribute"]} == {("orderId", "S"), ("customerId", "S"), ("timestamp", "S"), ("unpublishedShard", "S"), ("createdAt", "S")}
    customer, unpublished = table["global_secondary_index"]
    assert customer == {"name": "CustomerIdIndex", "hash_key": "customerId", "range_key": "timestamp", "projection_type": "ALL"}
    assert unpublished == {"name": "UnpublishedIndex", "hash_key": "unpublishedShard", "range_key": "createdAt", "projection_type": "ALL"}


def test_the_sparse_index_is_keyed_by_what_the_handlers_write():
    """The handlers set unpublishedShard (and createdAt) on a stored order and remove the shard once published."""
    from constructs_lib.orders_table import UNPUBLISHED_INDEX_HASH_KEY, UNPUBLISHED_INDEX_RANGE_KEY
    from orders_core.adapters import UNPUBLISHED_INDEX_NAME as packaged_index
    from orders_core.model import CREATED_AT_ATTRIBUTE, UNPUBLISHED_SHARD_ATTRIBUTE
    from pipeline_config.naming import UNPUBLISHED_INDEX_NAME

    assert (UNPUBLISHED_INDEX_HASH_KEY, UNPUBLISHED_INDEX_RANGE_KEY) == (UNPUBLISHED_SHARD_ATTRIBUTE, CREATED_AT_ATTRIBUTE)
    assert packaged_index == UNPUBLISHED_INDEX_NAME


def test_table_is_on_demand_with_pitr_and_the_cmk(dev):
    key_id, _ = only(dev, "aws_kms_key")
    _, table = only(dev, "aws_dynamodb_table")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"]["enabled"] is True
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": ref("aws_kms_key", key_id, "arn")}


def test_table_deletion_protection_follows_the_environment(dev, prod):
    assert only(dev, "aws_dynamodb_table")[1]["deletion_protection_enabled"] is False
    assert only(prod, "aws_dynamodb_table")[1]["deletion_protection_enabled"] is True


#: What holds the data: prod-like environments mark it prevent_destroy (docs/rehearsal.md, "Native protections").
DATA_HOLDERS = ("aws_dynamodb_table", "aws_sqs_queue", "aws_kms_key")


def _prevent_destroy(doc: dict) -> dict[str, bool]:
    return {f"{rtype}.{name}": (resource.get("lifecycle") or {}).get("prevent_destroy") is True for rtype, resources in doc["resource"].items() for name, resource in resources.items()}


def test_prod_like_environments_prevent_destroying_exactly_what_holds_the_data(stacks):
    for name, doc in stacks.items():
        marked = sorted(address for address, on in _prevent_destroy(doc).items() if on)
        holders = sorted(address for address in _prevent_destroy(doc) if address.split(".")[0] in DATA_HOLDERS)
        assert marked == (holders if name in ("orders-staging", "orders-prod") else []), name
        assert len(holders) == 4, holders  # the table, both queues, the key


def test_prevent_destroy_and_the_key_window_are_settings(stacks):
    from pipeline_config.environments import config_for

    dev = config_for("dev", prevent_destroy=True, kms_deletion_window_days=14)
    assert dev.effective_prevent_destroy and dev.effective_kms_deletion_window_days == 14
    staging = config_for("staging", prevent_destroy=False)
    assert not staging.effective_prevent_destroy and staging.effective_kms_deletion_window_days == 30


# --------------------------------------------------------------------------- KMS key
def _key_statements(doc: dict) -> dict[str, dict]:
    _, key = only(doc, "aws_kms_key")
    return {s["Sid"]: s for s in policy(key["policy"])["Statement"]}


def test_key_rotates_and_its_deletion_window_is_30_days_in_prod_like_environments_7_elsewhere(dev, prod):
    key_id, key = only(dev, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 7
    assert only(prod, "aws_kms_key")[1]["deletion_window_in_days"] == 30
    _, alias = only(dev, "aws_kms_alias")
    assert alias["name"] == "alias/orders-key-dev"
    assert alias["target_key_id"] == ref("aws_kms_key", key_id, "key_id")


def test_key_policy_lets_the_account_administer_via_iam(dev):
    root = _key_statements(dev)["AccountRootAdministers"]
    assert re.fullmatch(
        r"arn:\$\{data\.aws_partition\.[\w-]+\.partition\}:iam::\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}:root",
        root["Principal"]["AWS"],
    ), root["Principal"]
    assert root["Action"] == "kms:*" and root["Effect"] == "Allow"


def test_key_policy_names_only_the_account_cloudwatch_alarms_and_logs(dev):
    # No sqs.amazonaws.com / sns.amazonaws.com: no AWS service sends to the queues, and no
    # encrypted queue is subscribed to a topic (constructs_lib/encryption_key.py cites AWS).
    assert list(_key_statements(dev)) == ["AccountRootAdministers", "CloudWatchAlarmsPublishToEncryptedTopics", "CloudWatchLogsEncryptThisStacksLogGroups"]
    principals = [s["Principal"] for s in _key_statements(dev).values()]
    assert "sqs.amazonaws.com" not in json.dumps(principals) and "sns.amazonaws.com" not in json.dumps(principals)


def test_key_policy_lets_cloudwatch_alarms_encrypt_for_sns_as_aws_documents_it(dev):
    cloudwatch = _key_statements(dev)["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # Deliberately no condition: none is documented for this path, and a wrong one drops alarms silently.
    assert "Condition" not in cloudwatch


def test_key_policy_lets_logs_encrypt_exactly_this_stacks_log_groups(dev):
    logs = _key_statements(dev)["CloudWatchLogsEncryptThisStacksLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}  # the config's region, known at synth time
    assert logs["Action"] == ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]  # no Describe*: it carries no context
    arns = logs["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"]
    prefix = re.compile(r"^arn:\$\{data\.aws_partition\.[\w-]+\.partition\}:logs:us-east-1:\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}:log-group:")
    assert all(prefix.match(arn) for arn in arns), arns
    api_id, _ = only(dev, "aws_api_gateway_rest_api")
    assert [prefix.sub("", arn) for arn in arns] == [
        "/aws/lambda/orders-api-handler-dev",
        "/aws/lambda/order-processor-dev",
        "/aws/lambda/order-event-sweeper-dev",
        "/aws/apigateway/orders-api-dev/access",
        "API-Gateway-Execution-Logs_" + ref("aws_api_gateway_rest_api", api_id, "id") + "/v1",
    ]
    # ...which are all the log groups the stack creates, and all use the key
    key_id, _ = only(dev, "aws_kms_key")
    groups = resources(dev, "aws_cloudwatch_log_group").values()
    assert sorted(g["name"] for g in groups) == sorted(prefix.sub("", arn) for arn in arns)
    assert all(g["kms_key_id"] == ref("aws_kms_key", key_id, "arn") for g in groups)


# --------------------------------------------------------------------------- topics
def test_both_topics_are_encrypted_with_the_cmk(dev):
    key_id, _ = only(dev, "aws_kms_key")
    topics = resources(dev, "aws_sns_topic")
    assert {t["name"] for t in topics.values()} == {"order-events-dev", "order-alarms-dev"}
    for topic in topics.values():
        assert topic["kms_master_key_id"] == ref("aws_kms_key", key_id, "arn")


def _topic_policy(doc: dict, topic_name: str) -> dict[str, dict]:
    topic_id, _ = find(doc, "aws_sns_topic", name=topic_name)
    _, topic_policy = find(doc, "aws_sns_topic_policy", arn=ref("aws_sns_topic", topic_id, "arn"))
    return {s["Sid"]: s for s in policy(topic_policy["policy"])["Statement"]}


def test_alarm_topic_policy_lets_only_this_environments_alarms_publish(dev):
    statement = _topic_policy(dev, "order-alarms-dev")["AllowCloudWatchAlarmsPublish"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    caller_id = next(iter(dev["data"]["aws_caller_identity"]))
    partition_id = next(iter(dev["data"]["aws_partition"]))
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:${data.aws_partition." + partition_id + ".partition}:cloudwatch:*:${data.aws_caller_identity." + caller_id + ".account_id}:alarm:orders-*-dev"}
    }
    # The pattern covers every alarm of the environment (their names come from names.alarm()).
    import fnmatch

    alarm_names = [a["alarm_name"] for a in resources(dev, "aws_cloudwatch_metric_alarm").values()]
    assert alarm_names and all(fnmatch.fnmatchcase(n, "orders-*-dev") for n in alarm_names)
    assert not fnmatch.fnmatchcase("orders-processor-errors-prod", "orders-*-dev")


def test_events_topic_does_not_admit_cloudwatch_and_both_deny_plain_http(dev):
    from constructs_lib.encrypted_topic import TOPIC_POLICY_ACTIONS  # inside: collecting starts no jsii

    events = _topic_policy(dev, "order-events-dev")
    assert not any(json.dumps(s).count("cloudwatch.amazonaws.com") for s in events.values())
    for name in ("order-events-dev", "order-alarms-dev"):
        deny = _topic_policy(dev, name)["DenyInsecureTransport"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Principal"] == "*"
        # Every action a topic policy may name, not only Publish (SNS rejects "sns:*" there).
        assert deny["Action"] == list(TOPIC_POLICY_ACTIONS) and len(deny["Action"]) == 11


def test_no_stack_reads_the_aws_region_data_source(stacks):
    # data.aws_region's attribute is `region` in provider 6 and `name` in 5: either pins the
    # stack to one major version. The region is known at synth time, so nothing reads it.
    for name, doc in stacks.items():
        assert "aws_region" not in doc.get("data", {}), name
        assert "data.aws_region." not in json.dumps(doc), name


def test_key_policy_names_the_regional_logs_principal(stacks):
    for name, doc in stacks.items():
        _, key = only(doc, "aws_kms_key")
        principals = [s["Principal"] for s in json.loads(key["policy"])["Statement"]]
        region = doc["provider"]["aws"][0]["region"]
        assert {"Service": f"logs.{region}.amazonaws.com"} in principals, name
