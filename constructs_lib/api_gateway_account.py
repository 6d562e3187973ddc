"""``ApiGatewayAccountSettings``: API Gateway's region-wide CloudWatch role (``aws_api_gateway_account``).

API Gateway writes execution and access logs of EVERY REST API in an account and region
through one role, set once per region. It is a singleton: whoever applies it last wins,
and with AWS provider 6 destroying the resource resets it. So exactly one stack per
account and region may build this construct (``pipeline_config.selection`` enforces it):
the account-level stack by default, or one designated environment.

``add_account_settings`` builds the resources into a given scope with fixed construct
ids; ``OrdersRestApi`` uses it for a designated environment, so that environment's
resource addresses are the ones it has always had.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import ApiGatewayAccount, DataAwsPartition, IamRole, IamRolePolicyAttachment
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigProblem

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
#: AWS managed policy API Gateway needs to write execution and access logs.
PUSH_TO_CLOUDWATCH_POLICY_PATH = "iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
#: Construct ids of the resources, relative to the scope they are built in (part of the contract:
#: ``OrderPipelineStack`` names the addresses they had in environment stacks in its ``removed`` blocks).
ROLE_ID = "cloudwatch-role"
POLICY_ATTACHMENT_ID = "cloudwatch-role-policy"
ACCOUNT_ID = "account"


def trust_policy() -> dict:
    """Who may assume the CloudWatch role: API Gateway. Exactly the trust policy AWS documents for it.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html ("Permissions
    for CloudWatch logging") gives this role's trust relationship with no condition, and nothing AWS
    publishes says API Gateway sends ``aws:SourceAccount``/``aws:SourceArn`` when it assumes the role.
    A condition it does not match would make ``aws_api_gateway_account`` fail ("The role ARN does not
    have required permissions") and every stage with logging after it, while the emulator stays
    green. Without a condition the role is no wider than documented: only API Gateway can assume it,
    and it can write logs only (AmazonAPIGatewayPushToCloudWatchLogs).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ApiGatewayAssumesRole",
                "Effect": "Allow",
                "Principal": {"Service": API_GATEWAY_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }


#: Why each statement or attachment exists (docs/security.md, "Security" renders them).
GRANT_REASONS: dict[str, str] = {
    "ApiGatewayAssumesRole": "trust policy: only API Gateway assumes the CloudWatch role (AWS's documented trust policy, no condition: API Gateway is not documented to send aws:SourceAccount)",
    "AmazonAPIGatewayPushToCloudWatchLogs": "AWS managed policy API Gateway documents for writing execution and access logs of every REST API in the region",
}


@dataclass(frozen=True, kw_only=True)
class AccountSettingsResources:
    """What ``add_account_settings`` built."""

    role: IamRole
    policy_attachment: IamRolePolicyAttachment
    account: ApiGatewayAccount


def add_account_settings(scope: Construct, role_name: str) -> AccountSettingsResources:
    """Build the CloudWatch role, its managed-policy attachment and the account setting into ``scope``."""
    partition = DataAwsPartition(scope, "partition")
    role = IamRole(
        scope,
        ROLE_ID,
        name=role_name,
        description="Lets API Gateway write execution and access logs (account-level setting).",
        assume_role_policy=json.dumps(trust_policy()),
    )
    attachment = IamRolePolicyAttachment(scope, POLICY_ATTACHMENT_ID, role=role.name, policy_arn=f"arn:{partition.partition}:{PUSH_TO_CLOUDWATCH_POLICY_PATH}")
    account = ApiGatewayAccount(
        scope,
        ACCOUNT_ID,
        cloudwatch_role_arn=role.arn,
        # API Gateway checks the role's permissions when the setting is made; without the
        # attachment in place the first apply fails with "role ARN does not have required permissions".
        depends_on=[attachment],
    )
    return AccountSettingsResources(role=role, policy_attachment=attachment, account=account)


@dataclass(frozen=True, kw_only=True)
class ApiGatewayAccountSettingsProps:
    """Settings of ``ApiGatewayAccountSettings``."""

    role_name: str = ""
    """Name of the IAM role API Gateway assumes to write logs. Required (IAM names are global,
    so give one per region, e.g. ``orders-apigw-cloudwatch-us-east-1``)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (a token name is skipped)."""
        name = self.role_name
        if not is_unresolved(name) and (not isinstance(name, str) or not 1 <= len(name) <= 64):
            return [ConfigProblem("role_name", name, "must be an IAM role name of 1 to 64 characters", "pass e.g. account_cloudwatch_role_name(region)")]
        return []


class ApiGatewayAccountSettings(Construct):
    """The region-wide API Gateway account setting and the CloudWatch role it points at."""

    def __init__(self, scope: Construct, id: str, props: ApiGatewayAccountSettingsProps) -> None:
        raise_problems(props, "ApiGatewayAccountSettings", id)
        super().__init__(scope, id)
        name = props.role_name
        built = add_account_settings(self, name)
        self.role: IamRole = built.role
        self.account: ApiGatewayAccount = built.account
        self.role_arn: str = built.role.arn
        self.role_name: str = name
