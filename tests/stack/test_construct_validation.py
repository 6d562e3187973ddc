"""Construct-level validation: bad props raise one ConfigError naming the setting, the value and the fix.

Construct classes are imported inside the tests: importing them starts jsii, and collection must not.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from pipeline_config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def stack(tmp_path):
    """A fresh, empty stack (nothing is synthesized)."""
    from constructs_lib.support.framework import App, TerraformStack

    return TerraformStack(App(outdir=str(tmp_path)), "scratch")


@pytest.fixture()
def package(stack, tmp_path):
    """A tiny handlers package staged under tmp_path."""
    from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps

    source = tmp_path / "handlers"
    source.mkdir()
    (source / "app.py").write_text("def lambda_handler(event, context):\n    return event\n")
    return HandlersPackage(stack, "pkg", HandlersPackageProps(source_dir=str(source), staging_dir=str(tmp_path / "staging")))


def _settings(error: ConfigError) -> list[str]:
    return [p.setting for p in error.problems]


# --------------------------------------------------------------------------- one validation shape
def _construct_classes() -> list[tuple[str, ast.ClassDef, ast.ClassDef | None]]:
    """(module, construct class, its props class) for every construct in constructs_lib."""
    found = []
    for path in sorted((ROOT / "constructs_lib").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
        for node in classes.values():
            if any(isinstance(base, ast.Name) and base.id == "Construct" for base in node.bases):
                found.append((path.name, node, classes.get(f"{node.name}Props")))
    return found


def test_every_construct_validates_its_props_one_way_before_entering_the_tree():
    """Props.problems() lists every problem; the construct's first statement is raise_problems(props, ...)."""
    constructs = _construct_classes()
    assert len(constructs) >= 10, constructs
    for module, construct, props in constructs:
        assert props is not None, f"{module}: {construct.name} has no {construct.name}Props dataclass"
        assert any(isinstance(item, ast.FunctionDef) and item.name == "problems" for item in props.body), f"{module}: {props.name} has no problems()"
        init = next(item for item in construct.body if isinstance(item, ast.FunctionDef) and item.name == "__init__")
        calls = [ast.unparse(statement) for statement in init.body if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)]
        first_call = calls[0] if calls else ""
        assert first_call.startswith("raise_problems(props,"), f"{module}: {construct.name}.__init__ must call raise_problems(props, ...) first, before super().__init__ (found {first_call!r})"


def test_the_error_names_the_construct_and_its_id(stack):
    from constructs_lib.orders_table import OrdersTable, OrdersTableProps

    with pytest.raises(ConfigError, match=r"^Invalid OrdersTable 't' props \(1 problem\(s\)\)"):
        OrdersTable(stack, "t", OrdersTableProps(table_name="ab"))
    assert stack.node.try_find_child("t") is None, "a construct with bad props must not enter the tree"


# --------------------------------------------------------------------------- SqsEventSource
def _token_int(number: float) -> int:
    """A token number where a prop declares int: the token stands for an int known at apply time."""
    # jsii types Token.as_number as int | float (a JavaScript number); the value is the token's marker.
    return cast(int, number)


def _esm(stack, package, *, visibility: int = 180, timeout: int = 30, reserved: int | None = 100, **props):
    """An event source on a fresh queue and function with these timeouts and reservation."""
    from constructs_lib.python_function import PythonFunction, PythonFunctionProps
    from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps
    from constructs_lib.sqs_event_source import SqsEventSource, SqsEventSourceProps

    queue = QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q", visibility_timeout_seconds=visibility))
    function = PythonFunction(stack, "fn", PythonFunctionProps(function_name="fn", code=package, timeout_seconds=timeout, reserved_concurrency=reserved))
    return SqsEventSource(stack, "esm", SqsEventSourceProps(queue=queue, function=function, **props))


def test_visibility_timeout_below_6x_function_timeout_is_rejected_with_the_numbers(stack, package):
    with pytest.raises(ConfigError) as caught:
        _esm(stack, package, visibility=60, timeout=30)
    message = str(caught.value)
    assert (
        "queue.visibility_timeout_seconds: must be at least 6 x function.timeout_seconds = 180 s, or messages reappear "
        "while a batch is still being processed (given 60). Fix: raise it to 180 or lower function.timeout_seconds to 10 or less"
    ) in message


def test_event_source_reports_every_problem_at_once(stack, package):
    with pytest.raises(ConfigError) as caught:
        _esm(stack, package, visibility=10, batch_size=20, maximum_batching_window_seconds=0, maximum_concurrency=150)
    assert sorted(_settings(caught.value)) == ["maximum_batching_window_seconds", "maximum_concurrency", "queue.visibility_timeout_seconds"]
    message = str(caught.value)
    assert "must not exceed function.reserved_concurrency (100)" in message and "(given 150)" in message
    assert "at least 1 s when batch_size is above 10" in message and "(given 0)" in message


@pytest.mark.parametrize(
    ("setting", "value"),
    [("batch_size", 0), ("batch_size", 10_001), ("maximum_batching_window_seconds", 301), ("maximum_concurrency", 1), ("maximum_concurrency", 1001)],
)
def test_event_source_ranges(stack, package, setting, value):
    with pytest.raises(ConfigError) as caught:
        _esm(stack, package, reserved=None, **{setting: value})
    assert _settings(caught.value) == [setting]
    assert f"(given {value})" in str(caught.value) and f"set {setting} to a value in" in str(caught.value)


def test_event_source_requires_the_queue_and_the_function(stack):
    from constructs_lib.sqs_event_source import SqsEventSource, SqsEventSourceProps

    with pytest.raises(ConfigError) as caught:
        SqsEventSource(stack, "esm", SqsEventSourceProps())
    assert _settings(caught.value) == ["queue", "function"]


def test_maximum_concurrency_follows_the_functions_reservation(stack, package):
    assert _esm(stack, package, reserved=40).resource.scaling_config.maximum_concurrency_input == 40


def test_no_reservation_means_no_scaling_config(stack, package):
    source = _esm(stack, package, reserved=None)
    assert source.maximum_concurrency is None and source.resource.scaling_config.internal_value is None


def test_a_reservation_of_one_cannot_carry_the_event_sources_minimum(stack, package):
    with pytest.raises(ConfigError) as caught:
        _esm(stack, package, reserved=1)
    assert _settings(caught.value) == ["function.reserved_concurrency"]


def test_the_event_source_grants_the_function_what_consuming_takes(stack, package):
    import json

    source = _esm(stack, package)
    function = next(c for c in stack.node.children if c.node.id == "fn")
    statements = json.loads(function.role_policy.policy_input)["Statement"]
    assert [s["Sid"] for s in statements] == ["WriteOwnLogs", "RecreateOwnLogGroup", "XRayTracing", "ConsumeOrderQueue"]
    assert source.resource is not None


def test_event_source_skips_checks_on_unresolved_numbers(stack, package):
    from constructs_lib.support.framework import Token
    from constructs_lib.support.provider import DataAwsRegion

    number = _token_int(Token.as_number(DataAwsRegion(stack, "region").region))
    _esm(stack, package, visibility=number, timeout=number, batch_size=number, maximum_concurrency=number)


# --------------------------------------------------------------------------- QueueWithDeadLetterQueue
def test_dlq_retention_must_exceed_queue_retention(stack):
    from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps

    with pytest.raises(ConfigError) as caught:
        QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q", message_retention_seconds=86_400, dlq_message_retention_seconds=86_400))
    assert _settings(caught.value) == ["dlq_message_retention_seconds"]
    message = str(caught.value)
    assert "must be longer than message_retention_seconds (86400)" in message and "(given 86400)" in message and "Fix: raise it above 86400" in message


def test_queue_collects_range_problems(stack):
    from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps

    with pytest.raises(ConfigError) as caught:
        QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q", max_receive_count=0, visibility_timeout_seconds=50_000))
    assert sorted(_settings(caught.value)) == ["max_receive_count", "visibility_timeout_seconds"]


def test_queue_without_key_falls_back_to_sqs_managed_sse(stack):
    from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps

    queue = QueueWithDeadLetterQueue(stack, "q", QueueWithDeadLetterQueueProps(queue_name="q"))
    assert queue.queue.sqs_managed_sse_enabled_input is True
    assert queue.queue.kms_master_key_id_input is None
    assert queue.dlq_name == "q-dlq"


# --------------------------------------------------------------------------- PythonFunction
def test_function_collects_every_problem(stack, package):
    from constructs_lib.python_function import PythonFunction, PythonFunctionProps

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
    from constructs_lib.python_function import PythonFunction, PythonFunctionProps

    with pytest.raises(ConfigError) as caught:
        PythonFunction(stack, "fn", PythonFunctionProps(function_name=""))
    assert sorted(_settings(caught.value)) == ["code", "function_name"]


def test_function_skips_validation_of_unresolved_tokens(stack, package):
    from constructs_lib.python_function import PythonFunction, PythonFunctionProps
    from constructs_lib.support.framework import Token
    from constructs_lib.support.provider import DataAwsRegion

    region = DataAwsRegion(stack, "region").region  # a real token, known only at apply time
    number = _token_int(Token.as_number(region))
    function = PythonFunction(
        stack,
        "fn",
        PythonFunctionProps(function_name=region, handler=region, code=package, memory_mb=number, timeout_seconds=number),
    )
    assert function.resource is not None


def test_function_with_zero_reserved_concurrency_is_allowed(stack, package):
    from constructs_lib.python_function import PythonFunction, PythonFunctionProps

    PythonFunction(stack, "fn", PythonFunctionProps(function_name="fn", code=package, reserved_concurrency=0))


def test_grants_added_later_extend_the_one_role_policy_with_unique_sids(stack, package):
    import json

    from constructs_lib.python_function import PythonFunction, PythonFunctionProps

    function = PythonFunction(stack, "fn", PythonFunctionProps(function_name="fn", code=package))
    grant = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}
    function.add_to_role_policy([grant])
    function.add_to_role_policy([grant])
    assert [s["Sid"] for s in json.loads(function.role_policy.policy_input)["Statement"]] == ["WriteOwnLogs", "RecreateOwnLogGroup", "XRayTracing", "Read", "Read2"]
    with pytest.raises(ConfigError, match="must be IAM statement dicts"):
        function.add_to_role_policy([{"Sid": "NoEffect"}])


# --------------------------------------------------------------------------- others
def test_key_alias_must_be_a_customer_alias(stack):
    from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps

    with pytest.raises(ConfigError) as caught:
        EncryptionKey(stack, "key", EncryptionKeyProps(alias_name="alias/aws/sns", region="us-east-1"))
    assert _settings(caught.value) == ["alias_name"]
    assert "'alias/aws/sns'" in str(caught.value) and "Fix: use e.g. 'alias/orders-key-dev'" in str(caught.value)


def test_topic_requires_a_key_and_valid_emails(stack):
    from constructs_lib.encrypted_topic import EncryptedTopic, EncryptedTopicProps

    with pytest.raises(ConfigError) as caught:
        EncryptedTopic(stack, "t", EncryptedTopicProps(topic_name="t", email_subscriptions=("not-an-email",)))
    assert sorted(_settings(caught.value)) == ["email_subscriptions", "encryption_key"]


def test_topic_email_subscriptions(stack):
    from constructs_lib.encrypted_topic import EncryptedTopic, EncryptedTopicProps

    topic = EncryptedTopic(
        stack, "t", EncryptedTopicProps(topic_name="t", encryption_key=SimpleNamespace(key_arn="arn:aws:kms:us-east-1:123456789012:key/x"), email_subscriptions=("a@example.com", "b@example.com"))
    )
    assert len([c for c in topic.node.children if c.node.id.startswith("email-")]) == 2


def test_table_rejects_bad_name_and_flag(stack):
    from constructs_lib.orders_table import OrdersTable, OrdersTableProps

    with pytest.raises(ConfigError) as caught:
        OrdersTable(stack, "t", OrdersTableProps(table_name="ab", deletion_protection="yes"))  # type: ignore[arg-type]  # a wrong type on purpose: the props must name it
    assert sorted(_settings(caught.value)) == ["deletion_protection", "table_name"]


def test_key_requires_the_region(stack):
    from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps

    with pytest.raises(ConfigError) as caught:
        EncryptionKey(stack, "key", EncryptionKeyProps(alias_name="alias/orders-key-x"))
    assert _settings(caught.value) == ["region"]
    assert "Fix: pass the stack's region" in str(caught.value)


def test_account_settings_and_package_validate_like_the_others(stack, tmp_path):
    from constructs_lib.api_gateway_account import ApiGatewayAccountSettings, ApiGatewayAccountSettingsProps
    from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps

    with pytest.raises(ConfigError, match=r"(?s)ApiGatewayAccountSettings 'acct' props.*role_name"):
        ApiGatewayAccountSettings(stack, "acct", ApiGatewayAccountSettingsProps(role_name="x" * 65))
    with pytest.raises(ConfigError, match=r"(?s)HandlersPackage 'pkg2' props.*source_dir: is not a directory"):
        HandlersPackage(stack, "pkg2", HandlersPackageProps(source_dir=str(tmp_path / "missing")))


# --------------------------------------------------------------------------- objects, not ARN strings
_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/x"


@pytest.mark.parametrize(
    "module, props_class, setting, value",
    [
        ("constructs_lib.queue_with_dlq", "QueueWithDeadLetterQueueProps", "encryption_key", _KEY_ARN),
        ("constructs_lib.python_function", "PythonFunctionProps", "encryption_key", _KEY_ARN),
        ("constructs_lib.encrypted_topic", "EncryptedTopicProps", "encryption_key", _KEY_ARN),
        ("constructs_lib.rest_api", "OrdersRestApiProps", "log_encryption_key", _KEY_ARN),
        ("constructs_lib.rest_api", "OrdersRestApiProps", "handler", "arn:aws:apigateway:us-east-1:lambda:path/fn"),
        ("constructs_lib.alarms", "PipelineAlarmsProps", "alarm_topic", "arn:aws:sns:us-east-1:123456789012:alarms"),
    ],
)
def test_a_construct_prop_given_an_arn_string_names_setting_value_and_fix(module, props_class, setting, value):
    """The props take the construct (EncryptionKey, PythonFunction, EncryptedTopic) and read its ARN inside;
    an ARN string (what they took before) is refused with the setting, the value and the fix."""
    import importlib

    props = getattr(importlib.import_module(module), props_class)(**{setting: value})
    problem = next(p for p in props.problems() if p.setting == setting)
    assert problem.value == value
    assert "construct, not an ARN string" in problem.problem
    assert problem.fix.startswith("pass ")


def test_the_stack_passes_construct_objects_not_arn_strings():
    """No ``*_arn=`` prop is passed by the stack except those whose docstrings say why a string stays."""
    source = (ROOT / "stacks" / "order_pipeline_stack.py").read_text()
    passed = {node.arg for node in ast.walk(ast.parse(source)) if isinstance(node, ast.keyword) and node.arg and node.arg.endswith(("_arn", "_arns"))}
    # order_topic_arn: a Lambda environment variable's value (function_environment), not a construct prop;
    # additional_topic_arns: topics outside the stack (configuration); alarm_arns: alarms of several constructs.
    assert passed <= {"additional_topic_arns", "alarm_arns", "order_topic_arn"}, passed
