"""The one door to the prebuilt AWS provider bindings: every construct imports provider classes from here.

The bindings come from the selected framework (``FRAMEWORK``): ``cdktf_cdktf_provider_aws``
(CDKTF) or ``cdktn_provider_aws`` (CDK Terrain). Submodule and class names are the same in
both, so the classes below are loaded from one table, whichever package it is.

Why the lean import: ``cdktf_cdktf_provider_aws/__init__.py`` eagerly imports all ~2,200
resource submodules (to register their jsii types), which costs most of a synth's wall
time and hundreds of MB. Importing a submodule always runs the package ``__init__``
first. So, before the first provider import, we register a bare package module built from
the package's own import spec (same ``__path__``, same files) without executing its
``__init__``. Submodules then load normally, each one pulling in the shared ``_jsii``
assembly exactly as before; only the modules we never use are skipped. CDK Terrain's
``__init__`` already loads its submodules lazily (a module ``__getattr__``), so there the
trick is not needed and not applied. ``IMPORT_MODE`` says which case this process is in:

* ``"lean"``: the bare package was registered (CDKTF);
* ``"not needed: package already lazy"``: the package's own ``__init__`` is lazy (CDK Terrain);
* ``"eager"``: ``CDKTF_EAGER_PROVIDER_IMPORT=1`` asked for the stock import of an eager package;
* ``"eager: <why>"``: the package did not look like what this was written against, so
  the stock import ran rather than a guess.

The synthesized JSON is identical either way (tests/framework compares it byte for byte).
The jsii kernel (node) has the same problem with the package's JavaScript index; its twin
fix is ``node_lazy_provider_index.js``, loaded through the environment that
``jsii_env.prepare_jsii_environment`` prepares. This module prepares it itself before its
first jsii import, so it does not matter whether it or ``framework.py`` is imported first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib.support.framework_choice import aws_provider_requirement, selected_framework
from constructs_lib.support.jsii_env import lean_import_enabled, prepare_jsii_environment

# Before anything below imports jsii: the kernel (node) inherits this environment.
prepare_jsii_environment()

PACKAGE = selected_framework().provider_module
LAZY_ALREADY = "not needed: package already lazy"
# The stock CDKTF __init__ says this before its 2,200 'from . import x' lines; if a new
# release changes that, we do not know what else it changed: fall back.
_EXPECTED_INIT_MARKER = "# Loading modules to ensure their types are registered with the jsii runtime library"
# The stock CDKTF __init__ defines no class and one helper function (check_type, which
# every submodule redefines for itself); anything else means a layout we don't know.
_ALLOWED_TOP_LEVEL_DEFS = ("def check_type(",)
# CDK Terrain's __init__ resolves submodules on first attribute access instead.
_LAZY_INIT_MARKERS = ("def __getattr__(name: str)", '_importlib.import_module(f".{name}", __name__)')

#: How the provider package was loaded; see the module docstring.
IMPORT_MODE = "unset"


def _package_init(package: str) -> tuple[importlib.machinery.ModuleSpec | None, str | None, str]:
    """The package's import spec, its ``__init__`` text, and why it cannot be read (or '')."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        return spec, None, "package layout not recognised (no import spec)"
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    if not (package_dir / "_jsii" / "__init__.py").is_file():
        return spec, None, "package layout not recognised (no _jsii module)"
    try:
        return spec, Path(spec.origin).read_text(encoding="utf-8"), ""
    except OSError as error:
        return spec, None, f"cannot read package __init__ ({error})"


def _install_lean_package(package: str = PACKAGE) -> str:
    if package in sys.modules:
        return f"eager: the package was imported before constructs_lib.support.provider ({package})"
    spec, init_text, problem = _package_init(package)
    if spec is None or init_text is None:  # (init_text is None whenever spec is)
        return f"eager: {problem}"  # (a package that is not installed is reported by the import below)
    if all(marker in init_text for marker in _LAZY_INIT_MARKERS):
        return LAZY_ALREADY
    if not lean_import_enabled():  # CDKTF_EAGER_PROVIDER_IMPORT=1 asks for the stock import
        return "eager"
    if _EXPECTED_INIT_MARKER not in init_text:
        return "eager: package __init__ not recognised (neither the eager import list nor a lazy __getattr__)"
    for line in init_text.splitlines():
        if line.startswith("class ") or (line.startswith("def ") and not line.startswith(_ALLOWED_TOP_LEVEL_DEFS)):
            return f"eager: package __init__ defines {line.split('(')[0].split(':')[0]!r}"
    module = importlib.util.module_from_spec(spec)  # builds the module; does not execute it
    sys.modules[package] = module
    return "lean"


IMPORT_MODE = _install_lean_package()

# --- the provider classes this project uses: submodule -> class names -------------------
CLASSES_BY_SUBMODULE: dict[str, tuple[str, ...]] = {
    "api_gateway_account": ("ApiGatewayAccount",),
    "api_gateway_api_key": ("ApiGatewayApiKey",),
    "api_gateway_deployment": ("ApiGatewayDeployment",),
    "api_gateway_gateway_response": ("ApiGatewayGatewayResponse",),
    "api_gateway_integration": ("ApiGatewayIntegration",),
    "api_gateway_method": ("ApiGatewayMethod",),
    "api_gateway_method_settings": ("ApiGatewayMethodSettings", "ApiGatewayMethodSettingsSettings"),
    "api_gateway_model": ("ApiGatewayModel",),
    "api_gateway_request_validator": ("ApiGatewayRequestValidator",),
    "api_gateway_resource": ("ApiGatewayResource",),
    "api_gateway_rest_api": ("ApiGatewayRestApi", "ApiGatewayRestApiEndpointConfiguration"),
    "api_gateway_stage": ("ApiGatewayStage", "ApiGatewayStageAccessLogSettings"),
    "api_gateway_usage_plan": (
        "ApiGatewayUsagePlan",
        "ApiGatewayUsagePlanApiStages",
        "ApiGatewayUsagePlanQuotaSettings",
        "ApiGatewayUsagePlanThrottleSettings",
    ),
    "api_gateway_usage_plan_key": ("ApiGatewayUsagePlanKey",),
    "cloudwatch_dashboard": ("CloudwatchDashboard",),
    "cloudwatch_event_rule": ("CloudwatchEventRule",),
    "cloudwatch_event_target": ("CloudwatchEventTarget",),
    "cloudwatch_log_group": ("CloudwatchLogGroup",),
    "cloudwatch_metric_alarm": ("CloudwatchMetricAlarm",),
    "data_aws_caller_identity": ("DataAwsCallerIdentity",),
    "data_aws_partition": ("DataAwsPartition",),
    "data_aws_region": ("DataAwsRegion",),
    "dynamodb_table": (
        "DynamodbTable",
        "DynamodbTableAttribute",
        "DynamodbTableGlobalSecondaryIndex",
        "DynamodbTablePointInTimeRecovery",
        "DynamodbTableServerSideEncryption",
    ),
    "iam_role": ("IamRole",),
    "iam_role_policy": ("IamRolePolicy",),
    "iam_role_policy_attachment": ("IamRolePolicyAttachment",),
    "kms_alias": ("KmsAlias",),
    "kms_key": ("KmsKey",),
    "lambda_event_source_mapping": ("LambdaEventSourceMapping", "LambdaEventSourceMappingScalingConfig"),
    "lambda_function": ("LambdaFunction", "LambdaFunctionEnvironment", "LambdaFunctionTracingConfig"),
    "lambda_function_event_invoke_config": ("LambdaFunctionEventInvokeConfig",),
    "lambda_permission": ("LambdaPermission",),
    "provider": ("AwsProvider", "AwsProviderDefaultTags"),
    "sns_topic": ("SnsTopic",),
    "sns_topic_policy": ("SnsTopicPolicy",),
    "sns_topic_subscription": ("SnsTopicSubscription",),
    "sqs_queue": ("SqsQueue",),
    "sqs_queue_policy": ("SqsQueuePolicy",),
    "sqs_queue_redrive_allow_policy": ("SqsQueueRedriveAllowPolicy",),
    "sqs_queue_redrive_policy": ("SqsQueueRedrivePolicy",),
}


def _load_classes(package: str) -> dict[str, type]:
    from constructs_lib.support.framework import import_framework_module  # the "not installed" error lives there

    import_framework_module(package)  # a missing package fails here, with the fix
    loaded = {}
    for submodule, names in CLASSES_BY_SUBMODULE.items():
        module = importlib.import_module(f"{package}.{submodule}")
        loaded.update({name: getattr(module, name) for name in names})
    return loaded


globals().update(_load_classes(PACKAGE))
if TYPE_CHECKING:
    # mypy cannot follow the globals() update (FRAMEWORK picks the package), and the bindings
    # are not type-checked anyway (pyproject.toml: thousands of generated modules): every
    # class loaded above is Any to mypy.
    def __getattr__(name: str) -> Any: ...


def pin_aws_provider(provider, environ=None) -> None:
    """Pin ``terraform.required_providers.aws`` for ``provider``'s stack (``TF_AWS_PROVIDER_VERSION``; default 6.25.0).

    Without the pin each framework writes what its bindings were generated from (6.25.0
    for CDKTF's 21.22.1, 6.69.1 for CDK Terrain's 25.8.1), so switching framework would
    upgrade the provider of every deployed stack. ``TF_AWS_PROVIDER_VERSION=bindings``
    keeps the bindings' own requirement; any other value is the version constraint. When
    the bindings already say what the pin says (CDKTF by default), nothing is overridden,
    so the JSON stays exactly what the bindings write.
    """
    from constructs_lib.support.framework import TerraformStack

    requirement = aws_provider_requirement(environ)
    if requirement is None:
        return
    written = (provider.terraform_provider_source, provider.terraform_generator_metadata.provider_version)
    if written != (requirement.source, requirement.version):
        TerraformStack.of(provider).add_override("terraform.required_providers.aws", {"source": requirement.source, "version": requirement.version})


_BindingsAwsProvider = globals()["AwsProvider"]


class AwsProvider(_BindingsAwsProvider):  # type: ignore[misc,valid-type]
    """The bindings' ``AwsProvider``, pinned on construction (``pin_aws_provider``), so no stack can forget the pin."""

    def __init__(self, scope, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        pin_aws_provider(self)


__all__ = sorted(  # noqa: PLE0605 -- built from CLASSES_BY_SUBMODULE, the one list of the classes
    [name for names in CLASSES_BY_SUBMODULE.values() for name in names] + ["pin_aws_provider"]
)
