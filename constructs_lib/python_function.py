"""``PythonFunction``: a Python 3.12 Lambda function with its own role, log group and least-privilege policy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from constructs_lib.references import KeyReference, check_reference
from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.lambda_package import HandlersPackage
from constructs_lib.support.provider import (
    CloudwatchLogGroup,
    IamRole,
    IamRolePolicy,
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from constructs_lib.validation import add, check_whole_number, raise_problems, validated
from pipeline_config import rules
from pipeline_config.defaults import LOG_RETENTION_DAYS, FunctionSizing
from pipeline_config.errors import ConfigError, ConfigProblem
from pipeline_config.naming import IAM_ROLE_NAME_MAX, function_role_name

RUNTIME = "python3.12"
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Lambda sets these itself and rejects functions that try to.
_RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


#: The defaults of the props that ``pipeline_config.defaults`` holds (their one home).
_SIZING = FunctionSizing()


@dataclass(frozen=True, kw_only=True)
class PythonFunctionProps:
    """Settings of ``PythonFunction``."""

    function_name: str = ""
    """Physical function name (1..64 characters). Required: the empty default is rejected."""
    handler: str = "app.lambda_handler"
    """``module.function`` entry point inside the package. Default ``app.lambda_handler``."""
    code: HandlersPackage | None = None
    """The code package. Required: ``None`` is rejected."""
    timeout_seconds: int = _SIZING.timeout_seconds
    """Default: ``FunctionSizing.timeout_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    memory_mb: int = _SIZING.memory_mb
    """Default: ``FunctionSizing.memory_mb`` (``pipeline_config.defaults``, where it is documented)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Environment variables (encrypted at rest with ``encryption_key``). Default none."""
    layers: tuple[str, ...] = ()
    """Layer version ARNs (e.g. Powertools). Default none."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of ``/aws/lambda/<function_name>`` (a CloudWatch-allowed value). Default: ``LOG_RETENTION_DAYS``
    (``pipeline_config.defaults``)."""
    encryption_key: KeyReference | None = None
    """KMS key for environment variables and the log group (the ``EncryptionKey`` construct; its
    ``key_arn`` is read inside). ``None``: AWS-managed encryption."""
    reserved_concurrency: int | None = None
    """Reserved concurrent executions (>= 0). ``None``: no reservation (unreserved pool)."""
    policy_statements: tuple[dict, ...] = ()
    """IAM statements granted to the function's role, on top of its own logs and X-Ray. Default none;
    the resources' ``grant_*`` methods add theirs later (``PythonFunction.add_to_role_policy``)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        name = self.function_name
        if not is_unresolved(name) and (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name)):
            problems.append(ConfigProblem("function_name", name, "must be 1 to 64 letters, digits, hyphens or underscores", "give e.g. 'order-processor-dev'"))
        elif isinstance(name, str) and not is_unresolved(name) and len(function_role_name(name)) > IAM_ROLE_NAME_MAX:
            problems.append(
                ConfigProblem(
                    "function_name", name, f"makes the role name {function_role_name(name)!r} longer than IAM's {IAM_ROLE_NAME_MAX} characters", "shorten function_name to 59 characters or fewer"
                )
            )
        if not isinstance(self.code, HandlersPackage):
            problems.append(ConfigProblem("code", self.code, "must be a HandlersPackage", "pass HandlersPackage(scope, 'handlers-package', HandlersPackageProps(source_dir=...))"))
        if not is_unresolved(self.handler) and (not isinstance(self.handler, str) or "." not in self.handler):
            problems.append(ConfigProblem("handler", self.handler, "must be 'module.function'", "give e.g. 'order_processor.app.lambda_handler'"))
        check_whole_number(problems, self, "timeout_seconds", *rules.LAMBDA_TIMEOUT_SECONDS, " s")
        check_whole_number(problems, self, "memory_mb", *rules.LAMBDA_MEMORY_MB, " MB")
        if self.reserved_concurrency is not None:
            check_whole_number(problems, self, "reserved_concurrency", 0, 1_000_000)
        add(problems, rules.log_retention_problem(self.log_retention_days, setting="log_retention_days"))
        problems += _environment_problems(self.environment)
        check_reference(problems, self, "encryption_key", KeyReference, "EncryptionKey", required=False, fix="pass the stack's EncryptionKey (or leave it out for AWS-managed encryption)")
        if isinstance(self.layers, str) or not isinstance(self.layers, tuple) or len(self.layers) > 5:
            problems.append(ConfigProblem("layers", self.layers, "must be a tuple of at most 5 layer ARNs", "give e.g. (powertools_layer_arn,)"))
        if not isinstance(self.policy_statements, tuple) or not all(_is_statement(s) for s in self.policy_statements):
            problems.append(
                ConfigProblem(
                    "policy_statements", self.policy_statements, "must be a tuple of IAM statement dicts with Effect and Action", "use the grant_*_statements() methods of the other constructs"
                )
            )
        return problems


class PythonFunction(Construct):
    """Lambda function (python3.12, X-Ray Active) + role + explicit log group + one inline policy."""

    def __init__(self, scope: Construct, id: str, props: PythonFunctionProps) -> None:
        raise_problems(props, "PythonFunction", id)
        super().__init__(scope, id)
        name = props.function_name
        kms_key_arn = props.encryption_key.key_arn if props.encryption_key is not None else None
        code = validated(props.code, "code", "PythonFunction")

        role = IamRole(
            self,
            "role",
            name=function_role_name(name),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LambdaAssumesRole",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Exactly the execution-role trust AWS documents, with no condition
                            # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
                            # Lambda is not documented to send aws:SourceAccount/aws:SourceArn when
                            # it assumes an execution role; a condition it does not match would
                            # break every invocation in AWS while the emulator stays green.
                        }
                    ],
                }
            ),
        )
        # Created explicitly (not by Lambda on first write) so retention and encryption apply
        # from the first log line and `terraform destroy` removes it.
        log_group_name = f"/aws/lambda/{name}"
        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        self._statements: list[dict] = [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group.arn}:*"],
            },
            {
                # The group is pre-created (encrypted, with retention). Should it be deleted out of
                # band, Lambda creates it again on the next write instead of losing every log line
                # silently; the recreated group lacks the key and retention, which the drift check
                # reports and the next apply restores. Exactly this group (its ARN without ":*" is
                # the log-group resource, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
                "Sid": "RecreateOwnLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": [log_group.arn],
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
        # The grants of the resources this function uses are added later (add_to_role_policy).
        role_policy = IamRolePolicy(
            self,
            "policy",
            name=f"{name}-policy",
            role=role.id,
            policy=self._policy_document(),
        )
        function = LambdaFunction(
            self,
            "function",
            function_name=name,
            role=role.arn,
            handler=props.handler,
            runtime=RUNTIME,
            filename=code.asset_path,
            source_code_hash=code.source_code_hash,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            layers=list(props.layers) or None,
            kms_key_arn=kms_key_arn,
            reserved_concurrent_executions=props.reserved_concurrency,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment)) if props.environment else None,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            # The well-known first-apply races: without these, Lambda may create the log group
            # itself (unencrypted, never expiring) or run before its role may write logs.
            depends_on=[log_group, role_policy],
        )

        self.resource: LambdaFunction = function
        self.role: IamRole = role
        self.role_policy: IamRolePolicy = role_policy
        self.log_group: CloudwatchLogGroup = log_group
        self.function_name: str = function.function_name
        self.function_arn: str = function.arn
        self.invoke_arn: str = function.invoke_arn
        self.role_arn: str = role.arn
        self.role_name: str = role.name
        self.log_group_name: str = log_group.name
        self.timeout_seconds: int = props.timeout_seconds
        self.reserved_concurrency: int | None = props.reserved_concurrency
        self.log_group_names: tuple[str, ...] = (log_group_name,)
        """Literal names of the log groups this function writes to (no Terraform reference), for
        ``EncryptionKey.allow_cloudwatch_logs``: the key policy cannot refer back to a group that needs the key."""

    def add_to_role_policy(self, statements: Iterable[dict]) -> None:
        """Grant the function's role these IAM statements too (the resources' ``grant_*`` methods call this)."""
        added = list(statements)
        bad = [s for s in added if not _is_statement(s)]
        if bad:
            raise ConfigError(
                [ConfigProblem("statements", bad, "must be IAM statement dicts with Effect and Action", "pass a grant_*_statements() list")],
                context=f"PythonFunction {self.node.id!r} add_to_role_policy",
            )
        self._statements += added
        self.role_policy.policy = self._policy_document()

    def _policy_document(self) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": _unique_sids(self._statements)})


def _is_statement(statement: object) -> bool:
    return isinstance(statement, dict) and "Effect" in statement and "Action" in statement


#: Why each statement of the function's own policy exists (docs/security.md, "Security" renders them).
GRANT_REASONS: dict[str, str] = {
    "LambdaAssumesRole": "trust policy: only Lambda assumes the role (AWS's documented execution-role trust, no condition: Lambda is not documented to send aws:SourceAccount)",
    "WriteOwnLogs": "Lambda writes the function's logs to its own, pre-created log group",
    "RecreateOwnLogGroup": "should the pre-created group be deleted out of band, Lambda recreates exactly that group instead of dropping logs "
    "(the drift check then reports its missing key and retention)",
    "XRayTracing": 'active tracing sends segments to X-Ray; X-Ray has no resource-level permissions, so "*"',
}


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


def _environment_problems(environment: object) -> list[ConfigProblem]:
    if not isinstance(environment, Mapping):
        return [ConfigProblem("environment", environment, "must map variable names to strings", "give e.g. {'LOG_LEVEL': 'INFO'}")]
    problems = []
    for key, value in environment.items():
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            problems.append(ConfigProblem("environment", key, "has a key that is not a valid variable name (letter first, then letters, digits, _)", "rename the variable, e.g. 'ORDERS_TABLE_NAME'"))
        elif key in _RESERVED_ENV_KEYS:
            problems.append(ConfigProblem("environment", key, "sets a variable Lambda reserves for itself", "remove it or pick another name"))
        if not isinstance(value, str):
            problems.append(ConfigProblem("environment", f"{key}={value!r}", "values must be strings", f"convert {key}'s value with str()"))
    return problems
