"""Settings parsed once from the environment; boto3 clients created once, honouring AWS_ENDPOINT_URL."""

from __future__ import annotations

import pytest

from orders_core import aws
from orders_core.settings import Settings, SettingsError


def test_missing_variables_are_all_named():
    with pytest.raises(SettingsError) as info:
        Settings.from_environ({"ORDERS_TABLE_NAME": "t"})
    assert info.value.missing == ("ORDER_QUEUE_URL", "ORDER_TOPIC_ARN")
    assert "ORDER_QUEUE_URL" in str(info.value) and "ORDER_TOPIC_ARN" in str(info.value)


def test_settings_are_read_on_first_use_and_cached_until_reset(handler_env, monkeypatch):
    first = aws.settings()
    assert first.orders_table_name == handler_env["ORDERS_TABLE_NAME"]
    monkeypatch.setenv("ORDERS_TABLE_NAME", "other")
    assert aws.settings() is first  # parsed once
    aws.reset()
    assert aws.settings().orders_table_name == "other"


@pytest.mark.parametrize("module", ["api_handler.app", "order_processor.app"])
def test_each_functions_clients_are_created_once_budgeted_and_honour_aws_endpoint_url(handler_env, monkeypatch, module):
    import importlib

    app = importlib.import_module(module)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:59999")
    aws.reset()
    clients = app.clients()
    assert app.clients() is clients
    assert clients.sqs.meta.service_model.service_name == "sqs"
    assert clients.dynamodb.meta.service_model.service_name == "dynamodb"
    assert clients.sns.meta.service_model.service_name == "sns"
    assert clients.dynamodb.meta.endpoint_url == "http://127.0.0.1:59999"
    # The function's own policy: botocore's retries off, the longest rung's timeouts on the main client.
    policy = clients.sqs.policy
    main = clients.sqs.rung(policy.attempt_timeouts_seconds[0])
    assert main.meta.config.read_timeout == policy.attempt_timeouts_seconds[0]
    assert main.meta.config.connect_timeout == policy.connect_timeout(policy.attempt_timeouts_seconds[0])
    assert main.meta.config.retries["total_max_attempts"] == 1
    aws.reset()
    assert app.clients() is not clients


def test_reset_also_drops_the_handlers_cached_services(handler_env):
    from api_handler import app as api_app
    from order_processor import app as processor_app

    api_service, processing_service = api_app.service(), processor_app.service()
    assert api_app.service() is api_service
    aws.reset()
    assert api_app.service() is not api_service
    assert processor_app.service() is not processing_service


@pytest.mark.parametrize("missing", ["ORDERS_TABLE_NAME", "ORDER_QUEUE_URL", "ORDER_TOPIC_ARN"])
@pytest.mark.parametrize("module", ["api_handler.app", "order_processor.app"])
def test_a_handler_without_a_variable_fails_naming_it(handler_env, monkeypatch, lambda_context, module, missing):
    """Given a function deployed without one variable, when invoked, then it fails with that name."""
    import importlib

    from orders_core import aws

    monkeypatch.delenv(missing)
    aws.reset()
    app = importlib.import_module(module)
    event = {"Records": []} if module == "order_processor.app" else {"httpMethod": "GET", "path": "/orders/o-1", "resource": "/orders/{orderId}", "pathParameters": {"orderId": "o-1"}}
    with pytest.raises(SettingsError, match=missing):
        app.lambda_handler(event, lambda_context)


@pytest.mark.slow
def test_processor_compiles_the_validator_at_init_and_api_handler_does_not():
    """Given a fresh interpreter, importing each handler shows where the schema compile happens."""
    import subprocess
    import sys
    from pathlib import Path

    handlers = Path(__file__).resolve().parents[2] / "handlers"
    probe = "import sys, importlib; m = importlib.import_module(sys.argv[1]);import orders_core.validation as v; print(v._validator is not None, 'fastjsonschema' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    results = {}
    for module in ("api_handler.app", "order_processor.app"):
        done = subprocess.run([sys.executable, "-c", probe, module], cwd=handlers, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        results[module] = done.stdout.split()
    assert results["order_processor.app"] == ["True", "True"]
    assert results["api_handler.app"] == ["False", "False"]
