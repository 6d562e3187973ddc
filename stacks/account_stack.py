"""``ApiGatewayAccountStack`` (``orders-account-<region>``): what one account and region share.

Today that is API Gateway's account setting, the CloudWatch role every REST API of the
region logs through. It lives in its own small stack so that no environment stack, and
above all no short-lived ``pr-*`` stack, can overwrite it on apply or reset it on destroy.
Deploy it before the environments of its region: their stages' access and execution
logging is refused by API Gateway until the account has a CloudWatch role.
"""

from __future__ import annotations

from constructs_lib.api_gateway_account import ApiGatewayAccountSettings, ApiGatewayAccountSettingsProps
from constructs_lib.support.framework import Construct, TerraformOutput, TerraformStack
from constructs_lib.support.provider import AwsProvider, AwsProviderDefaultTags
from pipeline_config import output_keys
from pipeline_config.account import AccountStackConfig
from pipeline_config.backend import BackendSettings
from stacks.backends import configure_backend


class ApiGatewayAccountStack(TerraformStack):
    """The account-level stack of one region: API Gateway's CloudWatch role and account setting."""

    def __init__(self, scope: Construct, id: str, *, config: AccountStackConfig, backend: BackendSettings | None = None) -> None:
        super().__init__(scope, id)
        self.config = config
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags={"Project": "order-pipeline", "Component": "account", "ManagedBy": "cdktf"})],
        )
        configure_backend(self, stack_name=config.stack_name, region=config.region, settings=backend or BackendSettings())
        self.settings = ApiGatewayAccountSettings(self, "api-gateway-account", ApiGatewayAccountSettingsProps(role_name=config.cloudwatch_role_name))
        TerraformOutput(
            self,
            output_keys.API_GATEWAY_CLOUDWATCH_ROLE_ARN,
            value=self.settings.role_arn,
            description="IAM role API Gateway writes execution and access logs with, for every REST API of this region.",
        )
