"""``PythonFunction``: a Python 3.12 Lambda function with its own role, log group and least-privilege policy."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.framework import Construct, is_unresolved
from constructs_lib.validation import check_whole_number
from constructs_lib.lambda_package import HandlersPackage
from constructs_lib.provider import (
    CloudwatchLogGroup,
    DataAwsCallerIdentity,
    IamRole,
    IamRolePolicy,
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from pipeline_config.errors import ConfigError, ConfigProblem
from pipeline_config.settings import VALID_LOG_RETENTION_DAYS

RUNTIME = "python3.12"
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Lambda sets these itself and rejects functions that try to.
_RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)


@dataclass(frozen=True, kw_only=True)
class PythonFunctionProps:
    """Settings of ``PythonFunction``."""

    function_name: str = ""
    """Physical function name (1..64 characters). Required: the empty default is rejected."""
    handler: str = "app.lambda_handler"
    """``module.function`` entry point inside the package. Default ``app.lambda_handler``."""
    code: HandlersPackage | None = None
    """The code package. Required: ``None`` is rejected."""
    timeout_seconds: int = 30
    """Timeout, 1..900 s. Default 30."""
    memory_mb: int = 256
    """Memory, 128..10240 MB (also scales CPU). Default 256."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Environment variables (encrypted at rest with ``kms_key_arn``). Default none."""
    layers: tuple[str, ...] = ()
    """Layer version ARNs (e.g. Powertools). Default none."""
    log_retention_days: int = 7
    """Retention of ``/aws/lambda/<function_name>`` (a CloudWatch-allowed value). Default 7."""
    kms_key_arn: str | None = None
    """KMS key for environment variables and the log group. ``None``: AWS-managed encryption."""
    reserved_concurrency: int | None = None
    """Reserved concurrent executions (>= 0). ``None``: no reservation (unreserved pool)."""
    policy_statements: tuple[dict, ...] = ()
    """IAM statements granted to the function's role, on top of its own logs and X-Ray. Default none."""


class PythonFunction(Construct):
    """Lambda function (python3.12, X-Ray Active) + role + explicit log group + one inline policy."""

    def __init__(self, scope: Construct, id: str, props: PythonFunctionProps) -> None:
        super().__init__(scope, id)
        _validate(props)
        name = props.function_name
        account = DataAwsCallerIdentity(self, "caller").account_id

        role = IamRole(
            self,
            "role",
            name=f"{name}-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                        }
                    ],
                }
            ),
        )
        # Created explicitly (not by Lambda on first write) so retention and encryption apply
        # from the first log line and `terraform destroy` removes it.
        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        statements = [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group.arn}:*"],
            },
            {
                # X-Ray has no resource-level permissions: "*" is the only valid resource.
                "Sid": "XRayTracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
            *props.policy_statements,
        ]
        role_policy = IamRolePolicy(
            self,
            "policy",
            name=f"{name}-policy",
            role=role.id,
            policy=json.dumps({"Version": "2012-10-17", "Statement": _unique_sids(statements)}),
        )
        function = LambdaFunction(
            self,
            "function",
            function_name=name,
            role=role.arn,
            handler=props.handler,
            runtime=RUNTIME,
            filename=props.code.asset_path,
            source_code_hash=props.code.source_code_hash,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            layers=list(props.layers) or None,
            kms_key_arn=props.kms_key_arn,
            reserved_concurrent_executions=props.reserved_concurrency,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment)) if props.environment else None,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            # The well-known first-apply races: without these, Lambda may create the log group
            # itself (unencrypted, never expiring) or run before its role may write logs.
            depends_on=[log_group, role_policy],
        )

        self.resource: LambdaFunction = function
        self.role: IamRole = role
        self.log_group: CloudwatchLogGroup = log_group
        self.function_name: str = function.function_name
        self.function_arn: str = function.arn
        self.invoke_arn: str = function.invoke_arn
        self.role_arn: str = role.arn
        self.role_name: str = role.name
        self.log_group_name: str = log_group.name


def _unique_sids(statements: list[dict]) -> list[dict]:
    """IAM rejects duplicate Sids in one policy; number repeats (several grants may reuse a Sid)."""
    seen: dict[str, int] = {}
    out = []
    for statement in statements:
        sid = statement.get("Sid")
        if sid is not None:
            seen[sid] = seen.get(sid, 0) + 1
            if seen[sid] > 1:
                statement = {**statement, "Sid": f"{sid}{seen[sid]}"}
        out.append(statement)
    return out


def _validate(props: PythonFunctionProps) -> None:
    problems: list[ConfigProblem] = []

    name = props.function_name
    if not is_unresolved(name) and (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name)):
        problems.append(ConfigProblem("function_name", name, "must be 1 to 64 letters, digits, hyphens or underscores", "give e.g. 'order-processor-dev'"))
    elif isinstance(name, str) and not is_unresolved(name) and len(f"{name}-role") > 64:
        problems.append(ConfigProblem("function_name", name, f"makes the role name '{name}-role' longer than IAM's 64 characters", "shorten function_name to 59 characters or fewer"))
    if not isinstance(props.code, HandlersPackage):
        problems.append(ConfigProblem("code", props.code, "must be a HandlersPackage", "pass HandlersPackage(scope, 'handlers-package', HandlersPackageProps(source_dir=...))"))
    if not is_unresolved(props.handler) and (not isinstance(props.handler, str) or "." not in props.handler):
        problems.append(ConfigProblem("handler", props.handler, "must be 'module.function'", "give e.g. 'order_processor.app.lambda_handler'"))
    check_whole_number(problems, props, "timeout_seconds", 1, 900, " s")
    check_whole_number(problems, props, "memory_mb", 128, 10240, " MB")
    if props.reserved_concurrency is not None:
        check_whole_number(problems, props, "reserved_concurrency", 0, 1_000_000)
    if props.log_retention_days not in VALID_LOG_RETENTION_DAYS:
        problems.append(ConfigProblem("log_retention_days", props.log_retention_days, "is not a CloudWatch Logs retention value", "use one of 1, 3, 5, 7, 14, 30, 60, 90, 365, ..."))
    if not isinstance(props.environment, Mapping):
        problems.append(ConfigProblem("environment", props.environment, "must map variable names to strings", "give e.g. {'LOG_LEVEL': 'INFO'}"))
    else:
        for key, value in props.environment.items():
            if not isinstance(key, str) or not _ENV_KEY.match(key):
                problems.append(ConfigProblem("environment", key, "has a key that is not a valid variable name (letter first, then letters, digits, _)", "rename the variable, e.g. 'ORDERS_TABLE_NAME'"))
            elif key in _RESERVED_ENV_KEYS:
                problems.append(ConfigProblem("environment", key, "sets a variable Lambda reserves for itself", "remove it or pick another name"))
            if not isinstance(value, str):
                problems.append(ConfigProblem("environment", f"{key}={value!r}", "values must be strings", f"convert {key}'s value with str()"))
    if isinstance(props.layers, str) or not isinstance(props.layers, tuple) or len(props.layers) > 5:
        problems.append(ConfigProblem("layers", props.layers, "must be a tuple of at most 5 layer ARNs", "give e.g. (powertools_layer_arn,)"))
    if not isinstance(props.policy_statements, tuple) or not all(isinstance(s, dict) and "Effect" in s and "Action" in s for s in props.policy_statements):
        problems.append(ConfigProblem("policy_statements", props.policy_statements, "must be a tuple of IAM statement dicts with Effect and Action", "use the grant_*_statements() methods of the other constructs"))
    if problems:
        raise ConfigError(problems, context=f"PythonFunction props of {name!r}")
