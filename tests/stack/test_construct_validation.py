"""Construct-level validation: bad props raise one ConfigError naming the setting, the value and the fix."""

from __future__ import annotations

import pytest

from constructs_lib.encrypted_topic import EncryptedTopic, EncryptedTopicProps
from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.framework import App, TerraformStack, Token
from constructs_lib.lambda_package import HandlersPackage, HandlersPackageProps
from constructs_lib.orders_table import OrdersTable, OrdersTableProps
from constructs_lib.python_function import PythonFunction, PythonFunctionProps
from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps
from constructs_lib.provider import DataAwsRegion
from constructs_lib.sqs_event_source import SqsEventSource, SqsEventSourceProps
from pipeline_config import ConfigError


@pytest.fixture()
def stack(tmp_path):
    """A fresh, empty stack (nothing is synthesized)."""
    return TerraformStack(App(outdir=str(tmp_path)), "scratch")


@pytest.fixture()
def package(stack, tmp_path):
    """A tiny handlers package staged under tmp_path."""
    source = tmp_path / "handlers"
    source.mkdir()
    (source / "app.py").write_text("def lambda_handler(event, context):\n    return event\n")
    return HandlersPackage(stack, "pkg", HandlersPackageProps(source_dir=str(source), staging_dir=str(tmp_path / "staging")))


def _settings(error: ConfigError) -> list[str]:
    return [p.setting for p in error.problems]


# --------------------------------------------------------------------------- SqsEventSource
def _esm(**overrides) -> SqsEventSourceProps:
    base = dict(
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        queue_visibility_timeout_seconds=180,
        function_name="fn",
        function_timeout_seconds=30,
        function_reserved_concurrency=100,
    )
    return SqsEventSourceProps(**{**base, **overrides})


def test_visibility_timeout_below_6x_function_timeout_is_rejected_with_the_numbers(stack):
    with pytest.raises(ConfigError) as caught:
        SqsEventSource(stack, "esm", _esm(queue_visibility_timeout_seconds=60))
    message = str(caught.value)
    assert "queue_visibility_timeout_seconds" in message
    assert "queue visibility timeout must be at least 6 x the processor timeout = 180 s (given 60). Fix:" in message
    assert "raise the queue's visibility timeout to 180 s" in message


def test_event_source_reports_every_problem_at_once(stack):
    with pytest.raises(ConfigError) as caught:
        SqsEventSource(
            stack,
            "esm",
            _esm(batch_size=20, maximum_batching_window_seconds=0, maximum_concurrency=150, queue_visibility_timeout_seconds=10),
        )
    assert sorted(_settings(caught.value)) == ["maximum_batching_window_seconds", "maximum_concurrency", "queue_visibility_timeout_seconds"]
    message = str(caught.value)
    assert "reserved concurrency (100)" in message and "(given 150)" in message
    assert "at least 1 s when batch_size is above 10" in message and "(given 0)" in message


@pytest.mark.parametrize(
    ("setting", "value"),
    [("batch_size", 0), ("batch_size", 10_001), ("maximum_batching_window_seconds", 301), ("maximum_concurrency", 1), ("maximum_concurrency", 1001)],
)
def test_event_source_ranges(stack, setting, value):
    with pytest.raises(ConfigError) as caught:
        SqsEventSource(stack, "esm", _esm(function_reserved_concurrency=None, **{setting: value}))
    assert _settings(caught.value) == [setting]
    assert f"(given {value})" in str(caught.value) and f"set {setting} to a value in" in str(caught.value)


def test_event_source_valid_props_and_no_scaling_config_when_unset(stack):
    source = SqsEventSource(stack, "esm", _esm(maximum_concurrency=None))
    assert source.resource.scaling_config.internal_value is None


# --------------------------------------------------------------------------- QueueWithDeadLetterQueue
def test_dlq_retention_must_exceed_queue_retention(stack):
    with pytest.raises(ConfigError) as caught:
        QueueWithDeadLetterQueue(
            stack, "q", QueueWithDeadLetterQueueProps(queue_name="q", message_retention_seconds=86_400, dlq_message_retention_seconds=86_400)
        )
    assert _settings(caught.value) == ["dlq_message_retention_seconds"]
    message = str(caught.value)
    assert "must be longer than message_retention_seconds (86400)" in message and "(given 86400)" in message and "Fix: raise it above 86400" in message


def test_queue_collects_range_problems(stack):
    with pytest.raises(ConfigError) as caught:
        QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q", max_receive_count=0, visibility_timeout_seconds=50_000))
    assert sorted(_settings(caught.value)) == ["max_receive_count", "visibility_timeout_seconds"]


def test_queue_without_key_falls_back_to_sqs_managed_sse(stack):
    queue = QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q"))
    assert queue.queue.sqs_managed_sse_enabled_input is True
    assert queue.queue.kms_master_key_id_input is None
    assert queue.dlq_name == "q-dlq"


# --------------------------------------------------------------------------- PythonFunction
def test_function_collects_every_problem(stack, package):
    with pytest.raises(ConfigError) as caught:
        PythonFunction(
            stack,
            "fn",
            PythonFunctionProps(
                function_name="fn",
                handler="app.lambda_handler",
                code=package,
                timeout_seconds=901,
                memory_mb=64,
                reserved_concurrency=-1,
                environment={"1BAD": "x", "AWS_REGION": "us-east-1"},
            ),
        )
    settings = _settings(caught.value)
    assert sorted(set(settings)) == ["environment", "memory_mb", "reserved_concurrency", "timeout_seconds"]
    assert settings.count("environment") == 2
    message = str(caught.value)
    assert "timeout_seconds: must be a whole number between 1 and 900 s (given 901). Fix: set timeout_seconds to a value in [1, 900]" in message
    assert "(given 64)" in message and "(given -1)" in message and "'1BAD'" in message and "'AWS_REGION'" in message


def test_function_requires_code_and_a_name(stack):
    with pytest.raises(ConfigError) as caught:
        PythonFunction(stack, "fn", PythonFunctionProps(function_name=""))
    assert sorted(_settings(caught.value)) == ["code", "function_name"]


def test_function_skips_validation_of_unresolved_tokens(stack, package):
    region = DataAwsRegion(stack, "region").region  # a real token, known only at apply time
    function = PythonFunction(
        stack,
        "fn",
        PythonFunctionProps(function_name=region, handler=region, code=package, memory_mb=Token.as_number(region), timeout_seconds=Token.as_number(region)),
    )
    assert function.resource is not None


def test_event_source_skips_checks_on_unresolved_numbers(stack):
    number = Token.as_number(DataAwsRegion(stack, "region").region)
    SqsEventSource(stack, "esm", _esm(batch_size=number, queue_visibility_timeout_seconds=number, maximum_concurrency=number))


def test_function_with_zero_reserved_concurrency_is_allowed(stack, package):
    PythonFunction(stack, "fn", PythonFunctionProps(function_name="fn", code=package, reserved_concurrency=0))


# --------------------------------------------------------------------------- others
def test_key_alias_must_be_a_customer_alias(stack):
    with pytest.raises(ConfigError) as caught:
        EncryptionKey(stack, "key", EncryptionKeyProps(alias_name="alias/aws/sns", region="us-east-1"))
    assert _settings(caught.value) == ["alias_name"]
    assert "'alias/aws/sns'" in str(caught.value) and "Fix: use e.g. 'alias/orders-key-dev'" in str(caught.value)


def test_topic_requires_a_key_and_valid_emails(stack):
    with pytest.raises(ConfigError) as caught:
        EncryptedTopic(stack, "t", EncryptedTopicProps(topic_name="t", email_subscriptions=("not-an-email",)))
    assert sorted(_settings(caught.value)) == ["email_subscriptions", "kms_key_arn"]


def test_topic_email_subscriptions(stack):
    topic = EncryptedTopic(stack, "t", EncryptedTopicProps(topic_name="t", kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/x", email_subscriptions=("a@example.com", "b@example.com")))
    assert len([c for c in topic.node.children if c.node.id.startswith("email-")]) == 2


def test_table_rejects_bad_name_and_flag(stack):
    with pytest.raises(ConfigError) as caught:
        OrdersTable(stack, "t", OrdersTableProps(table_name="ab", deletion_protection="yes"))
    assert sorted(_settings(caught.value)) == ["deletion_protection", "table_name"]


def test_key_requires_the_region(stack):
    with pytest.raises(ConfigError) as caught:
        EncryptionKey(stack, "key", EncryptionKeyProps(alias_name="alias/orders-key-x"))
    assert _settings(caught.value) == ["region"]
    assert "Fix: pass the stack's region" in str(caught.value)
