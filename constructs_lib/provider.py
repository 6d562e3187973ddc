"""The one door to the prebuilt AWS provider bindings: every construct imports provider classes from here.

Why this module exists: ``cdktf_cdktf_provider_aws/__init__.py`` eagerly imports all
~2,200 resource submodules (to register their jsii types), which costs most of a
synth's wall time and hundreds of MB. Importing a submodule always runs the package
``__init__`` first. So, before the first provider import, we register a bare
package module built from the package's own import spec (same ``__path__``, same
files) without executing its ``__init__``. Submodules then load normally, each
one pulling in the shared ``_jsii`` assembly exactly as before; only the ~2,200
modules we never use are skipped. The synthesized JSON is identical (a test
compares it byte for byte with the eager path).

The jsii kernel (node) has the same problem with the package's JavaScript index; its
twin fix is ``node_lazy_provider_index.js``, loaded by ``jsii_env.py``.

Safety valves:
* ``CDKTF_EAGER_PROVIDER_IMPORT=1`` switches this off (the stock, eager import).
* If the installed package does not look like what this was written against
  (no ``_jsii`` assembly module, or an ``__init__`` that defines public names), it
  falls back to the eager import rather than guess.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from constructs_lib.jsii_env import EAGER_ENV_VAR, lean_import_enabled

PACKAGE = "cdktf_cdktf_provider_aws"
# The stock __init__ says this before its 2,200 'from . import x' lines; if a new
# release changes that, we do not know what else it changed: fall back.
_EXPECTED_INIT_MARKER = "# Loading modules to ensure their types are registered with the jsii runtime library"
# The stock __init__ defines no class and one helper function (check_type, which
# every submodule redefines for itself); anything else means a layout we don't know.
_ALLOWED_TOP_LEVEL_DEFS = ("def check_type(",)

#: How the provider package was loaded: "lean", "eager" (asked for), or "eager: <why>".
IMPORT_MODE = "unset"


def _install_lean_package() -> str:
    if not lean_import_enabled():  # EAGER_ENV_VAR asks for the stock import
        return "eager"
    if PACKAGE in sys.modules:
        return "eager: the package was imported before constructs_lib.provider"
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        return "eager: package layout not recognised (no import spec)"
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    if not (package_dir / "_jsii" / "__init__.py").is_file():
        return "eager: package layout not recognised (no _jsii module)"
    try:
        init_text = Path(spec.origin).read_text(encoding="utf-8")
    except OSError as error:
        return f"eager: cannot read package __init__ ({error})"
    if _EXPECTED_INIT_MARKER not in init_text:
        return "eager: package __init__ not recognised (marker missing)"
    for line in init_text.splitlines():
        if line.startswith("class ") or (line.startswith("def ") and not line.startswith(_ALLOWED_TOP_LEVEL_DEFS)):
            return f"eager: package __init__ defines {line.split('(')[0].split(':')[0]!r}"
    module = importlib.util.module_from_spec(spec)  # builds the module; does not execute it
    sys.modules[PACKAGE] = module
    return "lean"


IMPORT_MODE = _install_lean_package()

# --- the provider classes this project uses, one submodule each -------------------------
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (  # noqa: E402
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource  # noqa: E402
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (  # noqa: E402
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (  # noqa: E402
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (  # noqa: E402
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey  # noqa: E402
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard  # noqa: E402
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup  # noqa: E402
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm  # noqa: E402
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity  # noqa: E402
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition  # noqa: E402
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion  # noqa: E402
from cdktf_cdktf_provider_aws.dynamodb_table import (  # noqa: E402
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole  # noqa: E402
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy  # noqa: E402
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment  # noqa: E402
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias  # noqa: E402
from cdktf_cdktf_provider_aws.kms_key import KmsKey  # noqa: E402
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (  # noqa: E402
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktf_cdktf_provider_aws.lambda_function import (  # noqa: E402
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission  # noqa: E402
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags  # noqa: E402
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic  # noqa: E402
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy  # noqa: E402
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription  # noqa: E402
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue  # noqa: E402
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy  # noqa: E402
from cdktf_cdktf_provider_aws.sqs_queue_redrive_allow_policy import SqsQueueRedriveAllowPolicy  # noqa: E402
from cdktf_cdktf_provider_aws.sqs_queue_redrive_policy import SqsQueueRedrivePolicy  # noqa: E402

__all__ = [name for name in dir() if name[:1].isupper() and name not in ("IMPORT_MODE", "PACKAGE", "EAGER_ENV_VAR")]
