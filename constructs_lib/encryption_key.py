"""``EncryptionKey``: the pipeline's one customer-managed KMS key (queues, table, topics, logs, env vars)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs_lib.framework import Construct
from constructs_lib.provider import DataAwsCallerIdentity, DataAwsPartition, KmsAlias, KmsKey
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigProblem

if TYPE_CHECKING:
    from constructs_lib.python_function import PythonFunction

#: Days KMS waits before deleting a scheduled key (the maximum: the longest chance to cancel).
DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class EncryptionKeyProps:
    """Settings of ``EncryptionKey``."""

    alias_name: str = "alias/orders-key"
    """Alias of the key (must start with ``alias/``, not ``alias/aws/``). Default ``alias/orders-key``;
    the stack passes ``ResourceNames.kms_alias`` so each environment gets its own."""
    description: str = "Order pipeline: SQS, DynamoDB, SNS, CloudWatch Logs and Lambda environment encryption"
    """Key description shown in the KMS console."""
    region: str | None = None
    """AWS region of the key (the stack's provider region). Required: the key policy names the
    regional CloudWatch Logs principal ``logs.<region>.amazonaws.com``. It is known at synth time,
    so no ``aws_region`` data source is read (its attribute is named differently in provider 5
    and 6)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting."""
        problems: list[ConfigProblem] = []
        alias = self.alias_name
        if not isinstance(alias, str) or not alias.startswith("alias/") or alias.startswith("alias/aws/") or alias == "alias/":
            problems.append(
                ConfigProblem(
                    "alias_name",
                    alias,
                    "must start with 'alias/' and must not use the AWS-reserved 'alias/aws/' prefix",
                    "use e.g. 'alias/orders-key-dev'",
                )
            )
        if not isinstance(self.region, str) or not self.region:
            problems.append(
                ConfigProblem("region", self.region, "is required: the key policy names the regional CloudWatch Logs principal", "pass the stack's region, e.g. region=config.region")
            )
        return problems


class EncryptionKey(Construct):
    """A rotating customer-managed KMS key with an alias and a key policy for the services that use it."""

    def __init__(self, scope: Construct, id: str, props: EncryptionKeyProps | None = None) -> None:
        props = props or EncryptionKeyProps()
        raise_problems(props, "EncryptionKey", id)
        super().__init__(scope, id)

        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition")
        account = identity.account_id
        self._partition = partition.partition

        key = KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=json.dumps(_key_policy(account, partition.partition, props.region)),
        )
        alias = KmsAlias(self, "alias", name=props.alias_name, target_key_id=key.key_id)

        self.key: KmsKey = key
        self.key_arn: str = key.arn
        self.key_id: str = key.key_id
        self.alias_name: str = alias.name

    def grant_encrypt_decrypt(self, grantee: "PythonFunction") -> None:
        """Let ``grantee``'s role encrypt and decrypt with this key (``grant_encrypt_decrypt_statements``)."""
        grantee.add_to_role_policy(self.grant_encrypt_decrypt_statements())

    def grant_encrypt_decrypt_statements(self) -> list[dict]:
        """IAM statements to encrypt/decrypt with exactly this key (SQS/SNS/DynamoDB SSE and env vars)."""
        return [
            {
                "Sid": "UsePipelineKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:DescribeKey"],
                "Resource": [self.key_arn],
            }
        ]


def _key_policy(account: str, partition: str, region: str) -> dict:
    """The key policy: IAM-delegated administration plus the service principals that encrypt with it."""
    root = f"arn:{partition}:iam::{account}:root"
    use_actions = ["kms:Decrypt", "kms:GenerateDataKey*"]
    # "Resource": "*" below is not a wildcard over keys: a key policy applies only to its own
    # key, so "*" means "this key" (the key's ARN is not known until the key exists).
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Without this statement IAM policies cannot grant use of the key at all, and the
                # key could become unmanageable (KMS requires the account to keep access).
                "Sid": "AccountRootAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # CloudWatch alarms publish to the alarm topic as cloudwatch.amazonaws.com. They
                # CANNOT use a topic encrypted with the AWS-managed alias/aws/sns key (its policy
                # cannot be edited), which is why the topics use this customer-managed key.
                "Sid": "CloudWatchAlarmsEncryptForSns",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": use_actions,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "SnsAndSqsUseKey",
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": use_actions,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                # CloudWatch Logs encrypts log groups as the regional logs principal; the
                # encryption context names the log group, so scope it to this account's groups.
                "Sid": "CloudWatchLogsEncryptLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"
                    }
                },
            },
        ],
    }
