"""The account-level stack's settings: who owns API Gateway's region-wide CloudWatch role.

``aws_api_gateway_account`` is ONE setting per AWS account and region. When every
environment's stack managed it, each apply overwrote the others' role, and destroying
any of them (a ``pr-*`` stack, say) reset it for the whole account with provider 6.
So one small stack per region, ``orders-account-<region>``, owns it by default; an
environment may take it over (``manage_api_gateway_account``), at most one per region.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_config.naming import account_cloudwatch_role_name, account_stack_name


@dataclass(frozen=True, kw_only=True)
class AccountStackConfig:
    """Settings of one account-level stack."""

    region: str = "us-east-1"
    """AWS region whose API Gateway account setting the stack owns. Default ``us-east-1``;
    the selection derives it from the environments' regions."""

    @property
    def stack_name(self) -> str:
        """The stack (and Terraform workspace / state key) name, ``orders-account-<region>``."""
        return account_stack_name(self.region)

    @property
    def cloudwatch_role_name(self) -> str:
        """Name of the IAM role API Gateway writes logs with."""
        return account_cloudwatch_role_name(self.region)
