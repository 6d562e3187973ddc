"""``OrdersRestApi``: the public REST API (API Gateway v1) in front of the API-handler Lambda.

It owns everything between a caller and the handler: the routes (the route table
``handlers/schemas/routes.json``) and their Lambda proxy integrations, request validation of ``POST /orders`` against THE order
schema, the caller authentication (IAM, API key + usage plan, or none), the
stage with JSON access logs and X-Ray, stage-wide throttling, the deployment
(redeployed whenever a resource of the definition changes: its trigger hashes them
in Terraform) and the Lambda permission that lets
exactly this API invoke the handler. The account-level CloudWatch role its logging
needs is a region-wide singleton (``constructs_lib.api_gateway_account``), built here
only for a designated environment (``manage_account``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from constructs_lib.api_gateway_account import API_GATEWAY_PRINCIPAL, add_account_settings
from constructs_lib.references import FunctionReference, KeyReference, check_reference
from constructs_lib.support.framework import Construct, Fn, TerraformResourceLifecycle, is_unresolved
from constructs_lib.support.provider import (
    ApiGatewayApiKey,
    ApiGatewayDeployment,
    ApiGatewayGatewayResponse,
    ApiGatewayIntegration,
    ApiGatewayMethod,
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
    ApiGatewayModel,
    ApiGatewayRequestValidator,
    ApiGatewayResource,
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanKey,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
    CloudwatchLogGroup,
    LambdaPermission,
)
from constructs_lib.validation import add, check_whole_number, raise_problems, validated
from pipeline_config import ApiAuthorization, rules
from pipeline_config.errors import ConfigProblem
from pipeline_config.lambda_contract import ApiRoute
from pipeline_config.naming import API_STAGE_NAME, api_execution_log_group, environment_cloudwatch_role_name

# The API's routes come in as a prop, like the schema: the stack reads THE route table
# (handlers/schemas/routes.json, pipeline_config.lambda_contract.read_routes), by which the API handler
# dispatches and the local API serves. A route added there gets its resources, method, integration,
# permission and a redeployment here (the new method is part of the deployment's trigger).
# --------------------------------------------------------------------------- defaults
DEFAULT_STAGE_NAME = API_STAGE_NAME
DEFAULT_THROTTLE_RATE_LIMIT = 100.0
DEFAULT_THROTTLE_BURST_LIMIT = 200
DEFAULT_QUOTA_LIMIT_PER_DAY = 100_000
DEFAULT_LOG_RETENTION_DAYS = 14
#: The model's name in API Gateway (alphanumeric only, unique per API).
ORDER_MODEL_NAME = "CreateOrder"
ENDPOINT_TYPE = "REGIONAL"

#: API Gateway stage names: letters, digits, hyphens and underscores, at most 128.
STAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

#: One JSON object per request (Logs Insights parses it); each value is a ``$context`` variable.
ACCESS_LOG_FORMAT: dict[str, str] = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "userArn": "$context.identity.userArn",
    "apiKeyId": "$context.identity.apiKeyId",
    "requestTime": "$context.requestTime",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
    "xrayTraceId": "$context.xrayTraceId",
}
#: Every value is quoted, numbers too: API Gateway writes ``-`` for an empty
#: variable, and a bare ``-`` would make the line invalid JSON.
ACCESS_LOG_FORMAT_JSON = json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))

#: JSON bodies of API Gateway's own errors (auth failures, validation errors,
#: throttling), so clients always get JSON, with the request id to quote to support.
#: Gateway response templates are plain substitution (no VTL, no ``$util.escapeJavaScript``), so
#: only variables that cannot break the JSON are used: ``responseType`` is an enum, ``requestId`` a
#: UUID, and ``messageString`` only where API Gateway's message is its own fixed text: AWS documents
#: ``messageString`` as the message in quotes (``"$context.error.message"``), quoted but NOT escaped
#: (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference).
#: NOT ``$context.error.validationErrorString``: the validator's text quotes JSON itself (e.g.
#: ``[object has missing required properties (["items"])]``), which would end the string early.
GATEWAY_RESPONSE_TEMPLATE = '{"message":$context.error.messageString,"error":"$context.error.responseType","requestId":"$context.requestId"}'
#: The catch-all responses: every type not listed below falls back to one of these, and those
#: types' messages are API Gateway's fixed texts ("Invalid request body", "Too Many Requests",
#: "Missing Authentication Token", "Forbidden", "Internal server error", ...).
GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")
#: Response types whose message carries what the CLIENT sent, so it can hold double quotes and
#: newlines: they get a fixed message instead. The SigV4 errors (``AWS_IAM`` is the default auth)
#: quote the Authorization header as sent, and INVALID_SIGNATURE also the canonical request
#: (path, query and headers, one per line); ACCESS_DENIED names the caller and the resource path;
#: UNAUTHORIZED and AUTHORIZER_FAILURE carry an authorizer's own text.
FIXED_GATEWAY_MESSAGES: dict[str, str] = {
    "INVALID_SIGNATURE": "The request signature does not match. Sign the request with SigV4 for the service execute-api, in the API's region, over exactly the method, path, query and headers sent.",
    "INCOMPLETE_SIGNATURE": "The Authorization header is missing parts or malformed. Send a SigV4 Authorization header (Credential, SignedHeaders, Signature) and X-Amz-Date.",
    "ACCESS_DENIED": "The caller is not allowed to invoke this route (execute-api:Invoke).",
    "UNAUTHORIZED": "Unauthorized.",
    "AUTHORIZER_FAILURE": "The caller could not be authenticated.",
}


def fixed_gateway_template(message: str) -> str:
    """A gateway response template with a fixed message (no free text substituted)."""
    return '{"message":' + json.dumps(message) + ',"error":"$context.error.responseType","requestId":"$context.requestId"}'


@dataclass(frozen=True, kw_only=True)
class OrdersRestApiProps:
    """Settings of ``OrdersRestApi``; every field has a default (``api_name``, the handler
    and the schema must be given for a useful API and are checked)."""

    api_name: str = ""
    """Name of the REST API (required; e.g. ``orders-api-dev``). Also the prefix of the
    API key, usage plan and CloudWatch role names."""
    handler: FunctionReference | None = None
    """The API-handler function (required; the ``PythonFunction`` construct): every route proxies
    to its ``invoke_arn`` and the Lambda permission is granted on its ``function_name``."""
    order_schema: Mapping[str, Any] = field(default_factory=dict)
    """The order JSON schema (draft 4) as a dict (required): ``POST /orders`` bodies are
    validated against it. Pass what the stack loads from ``handlers/schemas/order.schema.json``."""
    routes: tuple[ApiRoute, ...] = ()
    """The API's routes (required: at least one), each proxied to the handler. Pass what the stack
    reads from ``handlers/schemas/routes.json`` (``pipeline_config.lambda_contract.read_routes``)."""
    authorization: ApiAuthorization = ApiAuthorization.AWS_IAM
    """``AWS_IAM`` (default: SigV4-signed callers), ``API_KEY`` (``x-api-key`` header, with a
    usage plan) or ``NONE`` (open API, only for throw-away sandboxes)."""
    stage_name: str = DEFAULT_STAGE_NAME
    """Stage name, part of the invoke URL (default ``v1``)."""
    throttle_rate_limit: float = DEFAULT_THROTTLE_RATE_LIMIT
    """Stage-wide steady-state requests per second (default 100); also the usage plan's."""
    throttle_burst_limit: int = DEFAULT_THROTTLE_BURST_LIMIT
    """Stage-wide burst (default 200); also the usage plan's."""
    quota_limit_per_day: int = DEFAULT_QUOTA_LIMIT_PER_DAY
    """Requests per day per API key (default 100,000; ``API_KEY`` authorization only)."""
    data_trace_enabled: bool = False
    """Log full requests and responses in execution logs (default off: they hold customer data)."""
    access_log_group_name: str | None = None
    """Log group of the access logs; default ``/aws/apigateway/<api_name>/access``."""
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Retention of the access and execution log groups (default 14; a value CloudWatch accepts)."""
    log_encryption_key: KeyReference | None = None
    """KMS key encrypting the access and execution log groups (the ``EncryptionKey`` construct); default
    ``None``: CloudWatch's own encryption. The key policy must allow the ``logs.<region>.amazonaws.com``
    principal."""
    manage_account: bool = False
    """Also build the region-wide ``aws_api_gateway_account`` and its CloudWatch role (default off:
    the account-level stack owns that singleton; ``ApiGatewayAccountSettings``). Turn it on in one
    stack per account and region at most. The stage's logging needs the role set, by someone, first."""
    cloudwatch_role_name: str | None = None
    """Name of the account-level CloudWatch role (``manage_account`` only); default ``<api_name>-apigw-cloudwatch``."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (unresolved tokens are skipped: they are known only at apply)."""
        problems: list[ConfigProblem] = []
        routes = self.routes
        if not isinstance(routes, tuple) or not routes or not all(isinstance(route, ApiRoute) for route in routes):
            problems.append(ConfigProblem("routes", routes, "must be a non-empty tuple of ApiRoute", "pass pipeline_config.lambda_contract.read_routes()"))
        elif len({route.id for route in routes}) != len(routes):
            problems.append(ConfigProblem("routes", routes, "has two routes with one id (construct ids must be unique)", "give each route its own id in routes.json"))

        def required(setting: str, value: object, fix: str) -> None:
            if is_unresolved(value):
                return
            if not isinstance(value, str) or not value.strip():
                problems.append(ConfigProblem(setting, value, "is required", fix))

        required("api_name", self.api_name, "pass the REST API name, e.g. config.names.api")
        check_reference(problems, self, "handler", FunctionReference, "PythonFunction", required=True, fix="pass the API-handler PythonFunction")
        check_reference(problems, self, "log_encryption_key", KeyReference, "EncryptionKey", required=False, fix="pass the stack's EncryptionKey (or leave it out)")

        if not isinstance(self.authorization, ApiAuthorization):
            try:
                ApiAuthorization.parse(self.authorization)
            except ValueError:
                problems.append(ConfigProblem("authorization", self.authorization, "is not an authorization mode", "use AWS_IAM, API_KEY or NONE"))

        if not is_unresolved(self.stage_name) and not (isinstance(self.stage_name, str) and STAGE_NAME_PATTERN.match(self.stage_name)):
            problems.append(
                ConfigProblem(
                    "stage_name",
                    self.stage_name,
                    "is not a valid API Gateway stage name",
                    "use 1-128 letters, digits, hyphens or underscores, e.g. 'v1'",
                )
            )

        if not is_unresolved(self.throttle_rate_limit):
            add(problems, rules.request_rate_problem(self.throttle_rate_limit, setting="throttle_rate_limit"))
        check_whole_number(problems, self, "throttle_burst_limit", *rules.API_THROTTLE_BURST_LIMIT)
        check_whole_number(problems, self, "quota_limit_per_day", *rules.API_QUOTA_PER_DAY)

        schema = self.order_schema
        if not isinstance(schema, Mapping) or schema.get("type") != "object":
            shown = schema if not isinstance(schema, Mapping) else {"type": schema.get("type")}
            problems.append(
                ConfigProblem(
                    "order_schema",
                    shown,
                    'must be a JSON schema dict with "type": "object"',
                    "pass json.loads() of handlers/schemas/order.schema.json",
                )
            )
        else:
            try:
                json.dumps(schema)
            except (TypeError, ValueError) as error:
                problems.append(ConfigProblem("order_schema", type(schema).__name__, f"is not JSON-serialisable ({error})", "pass plain JSON data"))

        if not is_unresolved(self.log_retention_days):
            add(problems, rules.log_retention_problem(self.log_retention_days, setting="log_retention_days"))
        for setting in ("access_log_group_name", "cloudwatch_role_name"):
            value = getattr(self, setting)
            if value is not None and not is_unresolved(value) and (not isinstance(value, str) or not value.strip()):
                problems.append(ConfigProblem(setting, value, "must be a non-empty string or None", "leave it out to use the default"))
        return problems


def terraform_literal(text: str) -> str:
    """Escape Terraform's template markers so ``text`` reaches AWS verbatim.

    A schema ``pattern`` may well contain ``${`` or ``%{``; unescaped, Terraform
    would try to interpolate it and fail (or, worse, substitute something).
    """
    return text.replace("${", "$${").replace("%{", "%%{")


#: What a reference to another resource stands as in the digest: its value is Terraform's to hash.
REFERENCE = "<ref>"


def definition_digest(parts: list[tuple[str, dict[str, Any]]]) -> tuple[str, list[Any]]:
    """SHA-256 of the (construct id, arguments) parts with every reference replaced by ``<ref>``, and the references, in order.

    Canonical: the parts sorted by construct id, keys sorted, no whitespace. A string holding a
    token is a reference as a whole; so is a number token.
    """
    references: list[Any] = []

    def literal(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: literal(value[key]) for key in sorted(value)}
        if isinstance(value, (list, tuple)):
            return [literal(item) for item in value]
        if is_unresolved(value):
            references.append(value)
            return REFERENCE
        return value

    canonical = [[construct_id, literal(arguments)] for construct_id, arguments in sorted(parts, key=lambda part: part[0])]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), references


def _method_authorization(authorization: ApiAuthorization) -> str:
    # API keys are not an authorizer: with API_KEY the method is "NONE" + api_key_required.
    return "AWS_IAM" if authorization is ApiAuthorization.AWS_IAM else "NONE"


#: Arguments of a resource that are Terraform meta-arguments, not part of what API Gateway serves.
_META_ARGUMENTS = frozenset({"depends_on", "lifecycle", "provider", "count", "for_each", "provisioners", "connection"})
_Resource = TypeVar("_Resource")


class OrdersRestApi(Construct):
    """REST API (REGIONAL) with Lambda proxy routes, request validation, auth, logging and throttling.

    Built in the order Terraform needs it, one builder per part: the API, its definition
    (model, validator, routes, gateway responses), the deployment, the stage with its logs,
    API keys, and the handler's invoke permissions.
    """

    def __init__(self, scope: Construct, id: str, props: OrdersRestApiProps) -> None:
        raise_problems(props, "OrdersRestApi", id)
        super().__init__(scope, id)
        self.props = props
        self._handler: FunctionReference = validated(props.handler, "handler", "OrdersRestApi")
        self.authorization = ApiAuthorization.parse(props.authorization)
        #: (construct id, arguments) of every resource of the API definition, as built: the deployment trigger hashes them.
        self._definition: list[tuple[str, dict[str, Any]]] = []

        self._build_rest_api()
        self._build_model_and_validator()
        self._build_routes()
        self._build_gateway_responses()
        self._build_deployment()
        self._build_account_settings()
        self._build_stage()
        self._build_api_key()
        self._build_permissions()

        # --- public attributes -------------------------------------------------------------------
        self.execution_arn: str = self.rest_api.execution_arn
        self.stage_name: str = props.stage_name
        self.invoke_url: str = self.stage.invoke_url
        self.deployment_id: str = self.deployment.id
        self.access_log_group_name: str = self.access_log_group.name
        self.access_log_group_arn: str = self.access_log_group.arn
        self.execution_log_group_name: str = self.execution_log_group.name
        self.log_group_names: tuple[str, ...] = self._log_group_literal_names
        """Names of the API's log groups without a reference to the groups themselves (the execution
        group's name refers to the REST API's id only), for ``EncryptionKey.allow_cloudwatch_logs``."""
        self.api_key_id: str | None = self.api_key.id if self.api_key is not None else None
        self.usage_plan_id: str | None = self.usage_plan.id if self.usage_plan is not None else None
        self.cloudwatch_role_arn: str | None = self.cloudwatch_role.arn if self.cloudwatch_role is not None else None

    # ------------------------------------------------------------------ the API and its definition
    def _definition_part(self, resource_class: Callable[..., _Resource], construct_id: str, **arguments: Any) -> _Resource:
        """Build one resource of the API definition; every argument given becomes part of the redeployment trigger."""
        resource = resource_class(self, construct_id, **arguments)
        self._definition.append((construct_id, {name: value for name, value in arguments.items() if value is not None and name not in _META_ARGUMENTS}))
        return resource

    def _build_rest_api(self) -> None:
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=self.props.api_name,
            description="Order pipeline API: " + ", ".join(f"{route.http_method} {route.path}" for route in self.props.routes) + ".",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=[ENDPOINT_TYPE]),
            api_key_source="HEADER" if self.authorization is ApiAuthorization.API_KEY else None,
            # Names of REST APIs need not be unique, so a replacement can come up first.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.rest_api_id: str = self.rest_api.id

    def _build_model_and_validator(self) -> None:
        self.order_model = self._definition_part(
            ApiGatewayModel,
            "order-model",
            rest_api_id=self.rest_api_id,
            name=ORDER_MODEL_NAME,
            content_type="application/json",
            description="Body of POST /orders (handlers/schemas/order.schema.json).",
            schema=terraform_literal(json.dumps(self.props.order_schema, sort_keys=True)),
        )
        self.request_validator = self._definition_part(
            ApiGatewayRequestValidator,
            "request-validator",
            rest_api_id=self.rest_api_id,
            name=f"{self.props.api_name}-body-and-params",
            validate_request_body=True,
            validate_request_parameters=True,
        )

    def _resource_for(self, path: str) -> str:
        """The id of ``path``'s ``aws_api_gateway_resource``, building one per new path segment prefix."""
        parent_id = self.rest_api.root_resource_id
        prefix = ""
        for segment in path.strip("/").split("/"):
            prefix = f"{prefix}/{segment}"
            if prefix not in self.path_resources:
                construct_id = "resource" + re.sub(r"[{}]", "", prefix).replace("/", "-")
                self.path_resources[prefix] = self._definition_part(ApiGatewayResource, construct_id, rest_api_id=self.rest_api_id, parent_id=parent_id, path_part=segment)
            parent_id = self.path_resources[prefix].id
        return parent_id

    def _build_routes(self) -> None:
        self.path_resources: dict[str, ApiGatewayResource] = {}
        self.methods: dict[str, ApiGatewayMethod] = {}
        self.integrations: dict[str, ApiGatewayIntegration] = {}
        for route in self.props.routes:
            resource_id = self._resource_for(route.path)
            method = self._definition_part(
                ApiGatewayMethod,
                f"method-{route.id}",
                rest_api_id=self.rest_api_id,
                resource_id=resource_id,
                http_method=route.http_method,
                authorization=_method_authorization(self.authorization),
                api_key_required=self.authorization is ApiAuthorization.API_KEY,
                request_parameters={f"method.request.path.{name}": True for name in route.path_parameters} or None,
                request_models={"application/json": self.order_model.name} if route.validate_body else None,
                # Every method is validated: required path parameters on GETs, body + params on POST.
                request_validator_id=self.request_validator.id,
            )
            self.methods[route.id] = method
            self.integrations[route.id] = self._definition_part(
                ApiGatewayIntegration,
                f"integration-{route.id}",
                rest_api_id=self.rest_api_id,
                resource_id=resource_id,
                http_method=method.http_method,
                type="AWS_PROXY",
                # Lambda is always invoked with POST, whatever the client's method.
                integration_http_method="POST",
                uri=self._handler.invoke_arn,
            )

    def _build_gateway_responses(self) -> None:
        templates = {**dict.fromkeys(GATEWAY_RESPONSE_TYPES, GATEWAY_RESPONSE_TEMPLATE), **{kind: fixed_gateway_template(message) for kind, message in FIXED_GATEWAY_MESSAGES.items()}}
        self.gateway_responses = [
            self._definition_part(
                ApiGatewayGatewayResponse,
                f"gateway-response-{kind.lower().replace('_', '-')}",
                rest_api_id=self.rest_api_id,
                response_type=kind,
                response_templates={"application/json": template},
            )
            for kind, template in templates.items()
        ]

    def redeployment_trigger(self) -> str:
        """``sha1(jsonencode([<digest>, <references>...]))``: every argument of every resource of the definition.

        Derived from the resources as built (``_definition_part``), not from a second description
        of the API. The literal arguments are hashed here (``definition_digest``); the arguments
        that refer to other resources (ids, the handler's invoke ARN) go to Terraform as
        references, evaluated at apply. A new route, a changed method, integration, model,
        validator or gateway response changes the digest or the references, so the deployment is
        replaced. Literals are hashed as configured, not as read back: an API that echoes a schema
        reformatted (moto does) must not redeploy on every plan.
        """
        digest, references = definition_digest(self._definition)
        return Fn.sha1(Fn.jsonencode([digest, *references]))

    def _build_deployment(self) -> None:
        # A deployment is a snapshot: API Gateway serves the old one until a new one is made.
        # The trigger replaces it whenever the definition changes; create_before_destroy keeps
        # the stage pointing at a live deployment during the swap.
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api_id,
            description="Managed by cdktf; replaced whenever the API definition changes.",
            triggers={"redeployment": self.redeployment_trigger(), "handler_invoke_arn": self._handler.invoke_arn},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=[
                *self.methods.values(),
                *self.integrations.values(),
                *self.gateway_responses,
                self.order_model,
                self.request_validator,
            ],
        )

    # ------------------------------------------------------------------ stage, logs, keys, permissions
    def _build_account_settings(self) -> None:
        # The account-level CloudWatch role is a region-wide singleton: only a designated
        # environment builds it here; normally the account-level stack owns it.
        self.account = None
        self.cloudwatch_role = None
        if self.props.manage_account:
            built = add_account_settings(self, self.props.cloudwatch_role_name or environment_cloudwatch_role_name(self.props.api_name))
            self.account, self.cloudwatch_role = built.account, built.role

    def _build_stage(self) -> None:
        props = self.props
        access_log_group_name = props.access_log_group_name or f"/aws/apigateway/{props.api_name}/access"
        log_kms_key_arn = props.log_encryption_key.key_arn if props.log_encryption_key is not None else None
        self.access_log_group = CloudwatchLogGroup(
            self,
            "access-logs",
            name=access_log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=log_kms_key_arn,
        )
        # API Gateway writes execution logs to a group it names itself and, left alone, creates
        # on first write: unencrypted, never expiring, unknown to Terraform and kept after a
        # destroy. Created here first (same retention and key as the access logs), so the stage
        # depends on it and API Gateway finds it when logging starts.
        execution_log_group_name = api_execution_log_group(self.rest_api_id, props.stage_name)
        self.execution_log_group = CloudwatchLogGroup(
            self,
            "execution-logs",
            name=execution_log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=log_kms_key_arn,
        )
        self._log_group_literal_names = (access_log_group_name, execution_log_group_name)
        # Execution logging needs the account's CloudWatch role to exist first, and its log group.
        after_account = [self.execution_log_group, *([self.account] if self.account is not None else [])]
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api_id,
            deployment_id=self.deployment.id,
            stage_name=props.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_log_group.arn,
                format=ACCESS_LOG_FORMAT_JSON,
            ),
            depends_on=after_account,
        )
        self.method_settings = ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.rest_api_id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                logging_level="INFO",
                metrics_enabled=True,
                # Data trace writes full request and response bodies (names, addresses, order
                # contents) to execution logs; it is off unless data_trace_enabled is set, in
                # every environment (PipelineConfig.api_data_trace_enabled).
                data_trace_enabled=props.data_trace_enabled,
                throttling_rate_limit=props.throttle_rate_limit,
                throttling_burst_limit=props.throttle_burst_limit,
            ),
            depends_on=after_account,
        )

    def _build_api_key(self) -> None:
        props = self.props
        self.api_key: ApiGatewayApiKey | None = None
        self.usage_plan: ApiGatewayUsagePlan | None = None
        if self.authorization is not ApiAuthorization.API_KEY:
            return
        self.api_key = ApiGatewayApiKey(self, "api-key", name=f"{props.api_name}-key", description="Key of the orders API clients.", enabled=True)
        self.usage_plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=f"{props.api_name}-usage-plan",
            description="Throttle and daily quota per API key.",
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=self.rest_api_id, stage=self.stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(rate_limit=props.throttle_rate_limit, burst_limit=props.throttle_burst_limit),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=props.quota_limit_per_day, period="DAY"),
        )
        ApiGatewayUsagePlanKey(self, "usage-plan-key", key_id=self.api_key.id, key_type="API_KEY", usage_plan_id=self.usage_plan.id)

    def _build_permissions(self) -> None:
        # Only this API, this stage and these routes may invoke the handler.
        self.permissions = [
            LambdaPermission(
                self,
                f"invoke-permission-{route.id}",
                statement_id=f"AllowApiGateway-{route.id}",
                action="lambda:InvokeFunction",
                function_name=self._handler.function_name,
                principal=API_GATEWAY_PRINCIPAL,
                source_arn=f"{self.rest_api.execution_arn}/{self.props.stage_name}/{route.http_method}{route.source_arn_path}",
            )
            for route in self.props.routes
        ]
