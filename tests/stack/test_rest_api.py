"""OrdersRestApi: properties of the synthesized REST API (dev/prod stacks + small scratch stacks)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline_config import ApiAuthorization, ConfigError
from pipeline_config.environments import config_for
from pipeline_config.lambda_contract import ApiRoute, read_routes
from tests.tfjson import RAW_VALIDATION_ERROR, SAFE_SUBSTITUTIONS, SIGV4_MESSAGE_STRING, find, only, ref, refs_in, render_gateway_template, resources, unescape_terraform

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "handlers" / "schemas" / "order.schema.json"
EXPECTED_ROUTES = {
    ("POST", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("GET", "/customers/{customerId}/orders"),
}
PUSH_POLICY_SUFFIX = ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def order_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def route_of(doc: dict, method: dict) -> tuple[str, str]:
    """(HTTP method, full path) of a method, walking its resource's parents up to the root."""
    by_ref = {ref("aws_api_gateway_resource", name, "id"): r for name, r in resources(doc, "aws_api_gateway_resource").items()}
    parts = []
    current = method["resource_id"]
    while current in by_ref:
        parts.append(by_ref[current]["path_part"])
        current = by_ref[current]["parent_id"]
    rest_api_name, _ = only(doc, "aws_api_gateway_rest_api")
    assert current == ref("aws_api_gateway_rest_api", rest_api_name, "root_resource_id"), "path does not end at the API root"
    return method["http_method"], "/" + "/".join(reversed(parts))


def methods_by_route(doc: dict) -> dict[tuple[str, str], tuple[str, dict]]:
    return {route_of(doc, m): (name, m) for name, m in resources(doc, "aws_api_gateway_method").items()}


def api_handler(doc: dict, suffix: str) -> str:
    name, _ = find(doc, "aws_lambda_function", function_name=f"orders-api-handler-{suffix}")
    return name


# ------------------------------------------------------------------ scratch stacks (built once)
@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> dict[str, dict]:
    """Three small stacks holding only the API, synthesized in ONE app: API_KEY (without the
    account singleton, the default), NONE owning the account singleton, and AWS_IAM with a changed schema."""
    from constructs_lib.rest_api import OrdersRestApi, OrdersRestApiProps
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.provider import AwsProvider

    outdir = tmp_path_factory.mktemp("rest-api-scratch")
    app = App(outdir=str(outdir))
    changed_schema = order_schema()
    changed_schema["properties"]["note"] = {"type": "string", "maxLength": 200}
    variants: dict[str, dict[str, Any]] = {
        "apikey": {"authorization": ApiAuthorization.API_KEY, "quota_limit_per_day": 5000, "throttle_rate_limit": 10.0, "throttle_burst_limit": 20},
        "open": {"authorization": ApiAuthorization.NONE, "data_trace_enabled": True, "manage_account": True},
        "schema-changed": {"order_schema": changed_schema},
    }
    for stack_id, overrides in variants.items():
        stack = TerraformStack(app, stack_id)
        AwsProvider(stack, "aws", region="us-east-1")
        props: dict[str, Any] = {
            "api_name": f"orders-api-{stack_id}",
            "handler": SimpleNamespace(function_name="orders-api-handler-x", invoke_arn="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/fn/invocations"),
            "order_schema": order_schema(),
            "routes": read_routes(),
        }
        props.update(overrides)
        OrdersRestApi(stack, "orders-api", OrdersRestApiProps(**props))
    app.synth()
    return {sid: json.loads((outdir / "stacks" / sid / "cdk.tf.json").read_text()) for sid in variants}


# ------------------------------------------------------------------ routes and integrations
def test_endpoint_is_regional(dev):
    _, api = only(dev, "aws_api_gateway_rest_api")
    assert api["endpoint_configuration"]["types"] == ["REGIONAL"]
    assert api["name"] == "orders-api-dev"


def test_exactly_the_three_routes_exist(dev):
    assert set(methods_by_route(dev)) == EXPECTED_ROUTES


def test_the_synthesized_routes_are_the_route_table(dev):
    """Methods, body validation and invoke permissions: exactly the routes of handlers/schemas/routes.json."""
    from handlers.orders_core.routes import ROUTES

    routes = methods_by_route(dev)
    assert set(routes) == {(route.http_method, route.path) for route in ROUTES}
    validated = {route for route, (_, method) in routes.items() if method.get("request_models")}
    assert validated == {(route.http_method, route.path) for route in ROUTES if route.validate_body}
    api_name, _ = only(dev, "aws_api_gateway_rest_api")
    execution_arn = ref("aws_api_gateway_rest_api", api_name, "execution_arn")
    permitted = {p["source_arn"][len(execution_arn) :] for p in resources(dev, "aws_lambda_permission").values() if p["principal"] == "apigateway.amazonaws.com"}
    assert permitted == {f"/v1/{route.http_method}{route.source_arn_path}" for route in ROUTES}


def test_a_route_added_to_the_table_is_built_with_nothing_else_changed(trigger_variants):
    """The construct reads the table (no copy): the variant with one more route synthesizes one more method."""

    assert set(methods_by_route(trigger_variants["route-added"])) == {
        *((route.http_method, route.path) for route in read_routes()),
        ("DELETE", "/orders/{orderId}"),
    }


def test_every_route_is_a_lambda_proxy_to_the_api_handler(dev):
    handler = api_handler(dev, "dev")
    integrations = resources(dev, "aws_api_gateway_integration")
    assert len(integrations) == len(EXPECTED_ROUTES)
    by_method = {(i["resource_id"], i["http_method"]): i for i in integrations.values()}
    for route, (name, method) in methods_by_route(dev).items():
        integration = by_method[(method["resource_id"], ref("aws_api_gateway_method", name, "http_method"))]
        assert integration["type"] == "AWS_PROXY", route
        assert integration["integration_http_method"] == "POST", route
        assert integration["uri"] == ref("aws_lambda_function", handler, "invoke_arn"), route


def test_path_parameters_are_required(dev):
    routes = methods_by_route(dev)
    assert routes[("GET", "/orders/{orderId}")][1]["request_parameters"] == {"method.request.path.orderId": True}
    assert routes[("GET", "/customers/{customerId}/orders")][1]["request_parameters"] == {"method.request.path.customerId": True}
    assert not routes[("POST", "/orders")][1].get("request_parameters")


# ------------------------------------------------------------------ request validation
def test_post_orders_body_is_validated_against_the_schema_file(dev):
    model_name, model = only(dev, "aws_api_gateway_model")
    assert model["content_type"] == "application/json"
    assert json.loads(unescape_terraform(model["schema"])) == order_schema()

    validator_name, validator = only(dev, "aws_api_gateway_request_validator")
    assert validator["validate_request_body"] is True
    assert validator["validate_request_parameters"] is True

    _, post = methods_by_route(dev)[("POST", "/orders")]
    assert post["request_models"] == {"application/json": ref("aws_api_gateway_model", model_name, "name")}
    # Every method (GETs too: their path parameters are required) goes through the validator.
    for route, (_, method) in methods_by_route(dev).items():
        assert method["request_validator_id"] == ref("aws_api_gateway_request_validator", validator_name, "id"), route


def test_template_markers_in_the_schema_are_escaped_for_terraform():
    from constructs_lib.rest_api import terraform_literal

    assert terraform_literal('{"pattern":"^a${b}%{c}$"}') == '{"pattern":"^a$${b}%%{c}$"}'
    assert unescape_terraform(terraform_literal("x${y}%{z}")) == "x${y}%{z}"


# ------------------------------------------------------------------ authorization
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_aws_iam_is_the_default_on_every_method(env, request):
    doc = request.getfixturevalue(env)
    for route, (_, method) in methods_by_route(doc).items():
        assert method["authorization"] == "AWS_IAM", route
        assert not method.get("api_key_required"), route
    for rtype in ("aws_api_gateway_api_key", "aws_api_gateway_usage_plan", "aws_api_gateway_usage_plan_key"):
        assert resources(doc, rtype) == {}, rtype


def test_api_key_mode_requires_a_key_with_usage_plan_throttle_and_daily_quota(scratch):
    doc = scratch["apikey"]
    assert set(methods_by_route(doc)) == EXPECTED_ROUTES
    for route, (_, method) in methods_by_route(doc).items():
        assert method["authorization"] == "NONE", route
        assert method["api_key_required"] is True, route

    key_name, _ = only(doc, "aws_api_gateway_api_key")
    plan_name, plan = only(doc, "aws_api_gateway_usage_plan")
    api_name, _ = only(doc, "aws_api_gateway_rest_api")
    stage_name, _ = only(doc, "aws_api_gateway_stage")
    assert plan["api_stages"] == [{"api_id": ref("aws_api_gateway_rest_api", api_name, "id"), "stage": ref("aws_api_gateway_stage", stage_name, "stage_name")}]
    assert plan["throttle_settings"] == {"rate_limit": 10, "burst_limit": 20}
    assert plan["quota_settings"] == {"limit": 5000, "period": "DAY"}
    _, plan_key = only(doc, "aws_api_gateway_usage_plan_key")
    assert plan_key == {
        **plan_key,
        "key_id": ref("aws_api_gateway_api_key", key_name, "id"),
        "key_type": "API_KEY",
        "usage_plan_id": ref("aws_api_gateway_usage_plan", plan_name, "id"),
    }


def test_none_mode_opens_methods_without_keys(scratch):
    doc = scratch["open"]
    for route, (_, method) in methods_by_route(doc).items():
        assert method["authorization"] == "NONE", route
        assert not method.get("api_key_required"), route
    assert resources(doc, "aws_api_gateway_api_key") == {}


def test_data_trace_follows_the_prop(scratch):
    assert only(scratch["open"], "aws_api_gateway_method_settings")[1]["settings"]["data_trace_enabled"] is True
    assert only(scratch["apikey"], "aws_api_gateway_method_settings")[1]["settings"]["data_trace_enabled"] is False


# ------------------------------------------------------------------ deployment
def test_deployment_is_replaced_before_destroy_and_waits_for_methods_and_integrations(dev):
    name, deployment = only(dev, "aws_api_gateway_deployment")
    assert deployment["lifecycle"]["create_before_destroy"] is True
    depends = set(deployment["depends_on"])
    for rtype in ("aws_api_gateway_method", "aws_api_gateway_integration"):
        expected = {f"{rtype}.{n}" for n in resources(dev, rtype)}
        assert expected and expected <= depends, rtype
    _, stage = only(dev, "aws_api_gateway_stage")
    assert stage["deployment_id"] == ref("aws_api_gateway_deployment", name, "id")


#: API Gateway resources that are not part of what a deployment snapshots (the stage and what hangs off it).
NOT_DEFINITION = {
    "aws_api_gateway_rest_api",
    "aws_api_gateway_deployment",
    "aws_api_gateway_stage",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_account",
    "aws_api_gateway_api_key",
    "aws_api_gateway_usage_plan",
    "aws_api_gateway_usage_plan_key",
}
META = {"//", "depends_on", "lifecycle", "provider", "count", "for_each"}
TRIGGER = re.compile(r'\$\{sha1\(jsonencode\(\["([0-9a-f]{64})", (.*)\]\)\)\}')


def definition_arguments(doc: dict) -> list[tuple[str, dict]]:
    """(construct id, arguments) of every API-definition resource in a synthesized stack."""
    return [
        (resource["//"]["metadata"]["path"].rsplit("/", 1)[1], {key: value for key, value in resource.items() if key not in META})
        for rtype, named in doc["resource"].items()
        if rtype.startswith("aws_api_gateway_") and rtype not in NOT_DEFINITION
        for resource in named.values()
    ]


def expected_trigger(doc: dict) -> tuple[str, list[str]]:
    """The digest and references the trigger must hold, recomputed from the synthesized arguments alone."""
    references: list[str] = []

    def literal(value):
        if isinstance(value, dict):
            return {key: literal(value[key]) for key in sorted(value)}
        if isinstance(value, list):
            return [literal(item) for item in value]
        if isinstance(value, str) and "${" in value:
            references.append(value[2:-1])  # "${aws_x.name.attr}" -> the reference Terraform evaluates
            return "<ref>"
        return value

    canonical = [[cid, literal(arguments)] for cid, arguments in sorted(definition_arguments(doc), key=lambda part: part[0])]
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()).hexdigest()
    return digest, references


def trigger_of(doc: dict) -> str:
    return only(doc, "aws_api_gateway_deployment")[1]["triggers"]["redeployment"]


@pytest.fixture(scope="module")
def trigger_variants(tmp_path_factory) -> dict[str, dict]:
    """The API alone, in one app, as built and after each kind of change a redeploy must follow."""
    from unittest import mock

    from constructs_lib import rest_api
    from constructs_lib.support.framework import App, TerraformStack
    from constructs_lib.support.provider import AwsProvider

    changed_schema = order_schema()
    changed_schema["properties"]["note"] = {"type": "string", "maxLength": 200}
    extra_route = ApiRoute("delete-order", "DELETE", "/orders/{orderId}")
    variants: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "base": ({}, {}),
        "base-again": ({}, {}),
        "schema-changed": ({"order_schema": changed_schema}, {}),
        "route-added": ({"routes": (*read_routes(), extra_route)}, {}),
        "api-key": ({"authorization": ApiAuthorization.API_KEY}, {}),
        "gateway-response-changed": ({}, {"GATEWAY_RESPONSE_TEMPLATE": '{"message":$context.error.messageString}'}),
        "stage-throttle-changed": ({"throttle_rate_limit": 7.0}, {}),
    }
    outdir = tmp_path_factory.mktemp("trigger-variants")
    app = App(outdir=str(outdir))
    for stack_id, (overrides, module_patches) in variants.items():
        stack = TerraformStack(app, stack_id)
        AwsProvider(stack, "aws", region="us-east-1")
        props: dict[str, Any] = {
            "api_name": "orders-api-x",
            "handler": SimpleNamespace(function_name="orders-api-handler-x", invoke_arn="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/fn/invocations"),
            "order_schema": order_schema(),
            "routes": read_routes(),
        }
        with mock.patch.multiple(rest_api, **module_patches) if module_patches else contextlib.nullcontext():
            rest_api.OrdersRestApi(stack, "orders-api", rest_api.OrdersRestApiProps(**{**props, **overrides}))
    app.synth()
    return {sid: json.loads((outdir / "stacks" / sid / "cdk.tf.json").read_text()) for sid in variants}


def test_the_trigger_hashes_every_argument_of_every_resource_of_the_api_definition(dev, scratch):
    """Recomputed from the synthesized JSON alone: a resource or argument added to the definition without
    going into the trigger makes this fail."""
    for doc in (dev, *scratch.values()):
        match = TRIGGER.fullmatch(trigger_of(doc))
        assert match, trigger_of(doc)
        digest, references = expected_trigger(doc)
        assert match.group(1) == digest
        assert match.group(2).split(", ") == references
        assert any(r.startswith("aws_api_gateway_model.") for r in references) and len(references) > 10
    # The handler's invoke ARN is a trigger of its own too (a replaced function redeploys).
    _, deployment = only(dev, "aws_api_gateway_deployment")
    assert deployment["triggers"]["handler_invoke_arn"] == ref("aws_lambda_function", api_handler(dev, "dev"), "invoke_arn")


def test_changing_a_route_the_model_auth_or_a_gateway_response_changes_the_trigger(trigger_variants):
    base = trigger_of(trigger_variants["base"])
    assert trigger_of(trigger_variants["base-again"]) == base, "the same API must not redeploy"
    for variant in ("schema-changed", "route-added", "api-key", "gateway-response-changed"):
        assert trigger_of(trigger_variants[variant]) != base, variant
    # A stage setting is not part of the snapshot: no new deployment for it.
    assert trigger_of(trigger_variants["stage-throttle-changed"]) == base


# ------------------------------------------------------------------ stage and logging
def test_stage_logs_json_access_logs_to_its_own_encrypted_log_group_with_xray(dev):
    _, stage = only(dev, "aws_api_gateway_stage")
    assert stage["stage_name"] == "v1"
    assert stage["xray_tracing_enabled"] is True
    log_name, log_group = find(dev, "aws_cloudwatch_log_group", name="/aws/apigateway/orders-api-dev/access")
    assert stage["access_log_settings"]["destination_arn"] == ref("aws_cloudwatch_log_group", log_name, "arn")
    assert log_group["retention_in_days"] == config_for("dev").log_retention_days
    assert any(r.startswith("aws_kms_key.") for r in refs_in(log_group["kms_key_id"]))


def test_execution_logs_go_to_a_precreated_encrypted_expiring_log_group_the_stage_waits_for(dev, prod):
    # Left to API Gateway, API-Gateway-Execution-Logs_<api-id>/<stage> would be created on first
    # write: unencrypted, never expiring, unknown to Terraform and left behind by a destroy.
    for doc, retention in ((dev, 7), (prod, 90)):
        api_id, _ = only(doc, "aws_api_gateway_rest_api")
        key_id, _ = only(doc, "aws_kms_key")
        name = "API-Gateway-Execution-Logs_" + ref("aws_api_gateway_rest_api", api_id, "id") + "/v1"
        group_id, group = find(doc, "aws_cloudwatch_log_group", name=name)
        assert group["retention_in_days"] == retention
        assert group["kms_key_id"] == ref("aws_kms_key", key_id, "arn")
        for rtype in ("aws_api_gateway_stage", "aws_api_gateway_method_settings"):
            assert f"aws_cloudwatch_log_group.{group_id}" in only(doc, rtype)[1]["depends_on"], rtype


def test_prod_access_logs_keep_prod_retention(prod):
    _, log_group = find(prod, "aws_cloudwatch_log_group", name="/aws/apigateway/orders-api-prod/access")
    assert log_group["retention_in_days"] == config_for("prod").log_retention_days == 90


def test_access_log_format_is_json_of_context_variables(dev):
    _, stage = only(dev, "aws_api_gateway_stage")
    fmt = json.loads(stage["access_log_settings"]["format"])
    required = {"requestId", "ip", "caller", "user", "requestTime", "httpMethod", "resourcePath", "status",
                "protocol", "responseLength", "integrationError", "xrayTraceId"}  # fmt: skip
    assert required <= set(fmt)
    assert all(isinstance(v, str) and v.startswith("$context.") for v in fmt.values())


def test_method_settings_log_and_throttle_every_method(dev, prod):
    _, dev_settings = only(dev, "aws_api_gateway_method_settings")
    assert dev_settings["method_path"] == "*/*"
    stage_name, _ = only(dev, "aws_api_gateway_stage")
    assert dev_settings["stage_name"] == ref("aws_api_gateway_stage", stage_name, "stage_name")
    s = dev_settings["settings"]
    assert (s["logging_level"], s["metrics_enabled"]) == ("INFO", True)
    assert (s["throttling_rate_limit"], s["throttling_burst_limit"]) == (100, 200)
    assert s["data_trace_enabled"] is config_for("dev").api_data_trace_enabled

    p = only(prod, "aws_api_gateway_method_settings")[1]["settings"]
    assert p["data_trace_enabled"] is False  # prod: full bodies are customer data
    assert (p["throttling_rate_limit"], p["throttling_burst_limit"]) == (500, 1000)


def test_gateway_errors_have_json_bodies_whatever_the_message(dev):
    """Every gateway error body is valid JSON: the catch-alls carry API Gateway's fixed texts, the rest a fixed message."""
    from constructs_lib import rest_api

    responses = {r["response_type"]: r for r in resources(dev, "aws_api_gateway_gateway_response").values()}
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX", *rest_api.FIXED_GATEWAY_MESSAGES}
    hostile = {**SAFE_SUBSTITUTIONS, "$context.error.messageString": SIGV4_MESSAGE_STRING}
    for kind, response in responses.items():
        template = unescape_terraform(response["response_templates"]["application/json"])
        substitutions = SAFE_SUBSTITUTIONS if kind.startswith("DEFAULT_") else hostile
        body = json.loads(render_gateway_template(template, {**substitutions, "$context.error.responseType": kind}))
        assert set(body) == {"message", "error", "requestId"} and body["error"] == kind, kind
        assert "validationErrorString" not in template, kind
        if not kind.startswith("DEFAULT_"):
            assert "messageString" not in template and body["message"] == rest_api.FIXED_GATEWAY_MESSAGES[kind], kind


def test_the_sigv4_and_access_errors_have_fixed_messages():
    """The SigV4 errors (AWS_IAM is the default auth) quote what the client sent; so does ACCESS_DENIED (caller, path)."""
    from constructs_lib import rest_api

    assert {"INVALID_SIGNATURE", "INCOMPLETE_SIGNATURE", "ACCESS_DENIED"} <= set(rest_api.FIXED_GATEWAY_MESSAGES)


def test_a_sigv4_message_would_break_the_catch_all_template():
    """Why those types are fixed: messageString is quoted, not escaped, and a SigV4 message holds newlines and quotes."""
    from constructs_lib import rest_api

    with pytest.raises(json.JSONDecodeError):
        json.loads(render_gateway_template(rest_api.GATEWAY_RESPONSE_TEMPLATE, {**SAFE_SUBSTITUTIONS, "$context.error.messageString": SIGV4_MESSAGE_STRING}))


def test_the_validation_error_string_would_break_the_json_body():
    """Why it is not in the template: substituted raw inside a JSON string, the validator's own quotes end it."""
    broken = '{"message":"Invalid request body","validationErrors":"$context.error.validationErrorString"}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.replace("$context.error.validationErrorString", RAW_VALIDATION_ERROR))


def test_invoke_url_output_is_the_stage_invoke_url(dev):
    stage_name, _ = only(dev, "aws_api_gateway_stage")
    assert dev["output"]["ApiEndpoint"]["value"] == ref("aws_api_gateway_stage", stage_name, "invoke_url")


# ------------------------------------------------------------------ account-level CloudWatch role
def test_a_designated_owner_attaches_the_role_before_the_account_setting(scratch):
    # Only when manage_account is on (one designated environment); else orders-account-<region> owns it.
    dev = scratch["open"]
    role_name, role = find(dev, "aws_iam_role", name="orders-api-open-apigw-cloudwatch")
    trust = json.loads(role["assume_role_policy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "apigateway.amazonaws.com"}]
    assert "Condition" not in trust["Statement"][0]  # AWS's documented trust (tests/security/test_conditions.py)

    attachment_name, attachment = find(dev, "aws_iam_role_policy_attachment", role=ref("aws_iam_role", role_name, "name"))
    assert attachment["policy_arn"].startswith("arn:${data.aws_partition.")
    assert attachment["policy_arn"].endswith(PUSH_POLICY_SUFFIX)

    account_name, account = only(dev, "aws_api_gateway_account")
    assert account["cloudwatch_role_arn"] == ref("aws_iam_role", role_name, "arn")
    assert account["depends_on"] == [f"aws_iam_role_policy_attachment.{attachment_name}"]

    # Execution logging fails on a first apply unless the account role is set first.
    for rtype in ("aws_api_gateway_stage", "aws_api_gateway_method_settings"):
        assert f"aws_api_gateway_account.{account_name}" in only(dev, rtype)[1]["depends_on"], rtype


def test_by_default_no_singleton_is_created(scratch, dev):
    doc = scratch["apikey"]
    assert resources(doc, "aws_api_gateway_account") == {}
    assert resources(doc, "aws_iam_role") == {}
    assert all("aws_api_gateway_account" not in d for d in only(doc, "aws_api_gateway_stage")[1]["depends_on"])
    assert resources(dev, "aws_api_gateway_account") == {}


# ------------------------------------------------------------------ Lambda permission
def test_permission_is_scoped_to_this_api_stage_and_routes(dev):
    api_name, _ = only(dev, "aws_api_gateway_rest_api")
    execution_arn = ref("aws_api_gateway_rest_api", api_name, "execution_arn")
    handler = api_handler(dev, "dev")
    permissions = resources(dev, "aws_lambda_permission")
    api_permissions = [p for p in permissions.values() if p["principal"] == "apigateway.amazonaws.com"]
    assert api_permissions, "no permission for API Gateway"
    suffixes = set()
    for permission in api_permissions:
        assert permission["action"] == "lambda:InvokeFunction"
        assert permission["function_name"] in (ref("aws_lambda_function", handler, "function_name"), "orders-api-handler-dev")
        assert permission["source_arn"].startswith(execution_arn + "/")
        suffixes.add(permission["source_arn"][len(execution_arn) :])
    assert suffixes == {"/v1/POST/orders", "/v1/GET/orders/*", "/v1/GET/customers/*/orders"}


# ------------------------------------------------------------------ props validation (no synth)
def valid_props(**overrides):
    from constructs_lib.rest_api import OrdersRestApiProps

    base = OrdersRestApiProps(
        api_name="orders-api-t",
        handler=SimpleNamespace(function_name="fn", invoke_arn="arn:aws:apigateway:us-east-1:lambda:path/fn"),
        order_schema=order_schema(),
        routes=read_routes(),
    )
    return dataclasses.replace(base, **overrides)


def test_valid_props_have_no_problems():
    assert valid_props().problems() == []


def test_every_problem_is_reported_at_once():
    props = valid_props(
        throttle_rate_limit=0,
        throttle_burst_limit=0,
        quota_limit_per_day=0,
        stage_name="v 1!",
        order_schema={"type": "array"},
        log_retention_days=8,
        api_name="",
    )
    settings = [p.setting for p in props.problems()]
    assert sorted(settings) == sorted(
        ["throttle_rate_limit", "throttle_burst_limit", "quota_limit_per_day", "stage_name", "order_schema",
         "log_retention_days", "api_name"]
    )  # fmt: skip


@pytest.mark.parametrize(
    "overrides, setting",
    [
        ({"throttle_rate_limit": -1.0}, "throttle_rate_limit"),
        ({"throttle_burst_limit": 2.5}, "throttle_burst_limit"),
        ({"quota_limit_per_day": True}, "quota_limit_per_day"),
        ({"stage_name": ""}, "stage_name"),
        ({"stage_name": "x" * 129}, "stage_name"),
        ({"order_schema": "not a dict"}, "order_schema"),
        ({"order_schema": {}}, "order_schema"),
        ({"authorization": "COGNITO"}, "authorization"),
        ({"authorization": None}, "authorization"),  # must not read as NONE (an open API)
        ({"handler": None}, "handler"),
        ({"handler": "arn:aws:apigateway:us-east-1:lambda:path/fn"}, "handler"),
        ({"log_encryption_key": "arn:aws:kms:us-east-1:123456789012:key/x"}, "log_encryption_key"),
        ({"access_log_group_name": ""}, "access_log_group_name"),
    ],
)
def test_each_invalid_setting_is_named(overrides, setting):
    assert [p.setting for p in valid_props(**overrides).problems()] == [setting]


def test_error_message_names_setting_value_and_fix():
    from constructs_lib.rest_api import OrdersRestApi
    from constructs_lib.support.framework import App, TerraformStack

    stack = TerraformStack(App(), "validation")
    with pytest.raises(ConfigError) as raised:
        OrdersRestApi(stack, "api", valid_props(throttle_burst_limit=0, quota_limit_per_day=-5))
    message = str(raised.value)
    assert "throttle_burst_limit" in message and "(given 0)" in message and "Fix:" in message
    assert "quota_limit_per_day" in message and "(given -5)" in message
    assert len(raised.value.problems) == 2


def test_unresolved_tokens_are_not_validated():
    from constructs_lib.support.framework import Fn, is_unresolved

    token = Fn.lower("V1")
    assert is_unresolved(token)
    assert valid_props(api_name=token, stage_name=token, handler=SimpleNamespace(function_name=token, invoke_arn=token)).problems() == []
