"""``EncryptionKey``: the pipeline's one customer-managed KMS key (queues, table, topics, logs, env vars)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.support.framework import Construct, TerraformResourceLifecycle
from constructs_lib.support.provider import DataAwsCallerIdentity, DataAwsPartition, KmsAlias, KmsKey
from constructs_lib.validation import check_whole_number, raise_problems, validated
from pipeline_config import rules
from pipeline_config.errors import ConfigProblem


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
    deletion_window_in_days: int = rules.KMS_DELETION_WINDOW_DAYS[1]
    """Days KMS waits before deleting the key once its deletion is scheduled (7..30): the time left
    to cancel it. Default 30, the maximum; the stack passes the environment's setting."""
    prevent_destroy: bool = False
    """Terraform ``lifecycle.prevent_destroy`` on the key: any plan that destroys or replaces it
    fails. Default off; the stack turns it on in prod-like environments."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting."""
        problems: list[ConfigProblem] = []
        check_whole_number(problems, self, "deletion_window_in_days", *rules.KMS_DELETION_WINDOW_DAYS)
        if not isinstance(self.prevent_destroy, bool):
            problems.append(ConfigProblem("prevent_destroy", self.prevent_destroy, "must be true or false", "set prevent_destroy to True or False"))
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
            problems.append(ConfigProblem("region", self.region, "is required: the key policy names the regional CloudWatch Logs principal", "pass the stack's region, e.g. region=config.region"))
        return problems


class EncryptionKey(Construct):
    """A rotating customer-managed KMS key with an alias and a key policy for the services that use it.

    Roles get use of the key from the grants of the resources it encrypts (the queue's and the
    topic's ``grant_*_statements()``), through IAM; the key policy itself names only the account
    (administration is delegated to IAM) and the AWS services that encrypt on our behalf.
    """

    def __init__(self, scope: Construct, id: str, props: EncryptionKeyProps | None = None) -> None:
        props = props or EncryptionKeyProps()
        raise_problems(props, "EncryptionKey", id)
        super().__init__(scope, id)

        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition")
        self._account = identity.account_id
        self._partition = partition.partition
        self._region = validated(props.region, "region", "EncryptionKey")
        self._log_group_names: list[str] = []

        key = KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_in_days,
            policy=json.dumps(self.policy_document()),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )
        alias = KmsAlias(self, "alias", name=props.alias_name, target_key_id=key.key_id)

        self.key: KmsKey = key
        self.region: str = self._region
        """The key's region (the regional service endpoints in ``kms:ViaService`` conditions name it)."""
        self.key_arn: str = key.arn
        self.key_id: str = key.key_id
        self.alias_name: str = alias.name

    def allow_cloudwatch_logs(self, log_group_names: Sequence[str]) -> None:
        """Let CloudWatch Logs encrypt exactly these log groups with the key (by encryption context).

        Pass literal names (or names built from other resources' attributes, such as the REST
        API's id), never a log group's own ``name``/``arn`` attribute: the group needs the key,
        so a reference back from the key policy would be a dependency cycle.
        """
        for name in log_group_names:
            if name not in self._log_group_names:
                self._log_group_names.append(name)
        self.key.policy = json.dumps(self.policy_document())

    def log_group_arn(self, name: str) -> str:
        """The ARN CloudWatch Logs puts in the encryption context for the log group ``name``."""
        return f"arn:{self._partition}:logs:{self._region}:{self._account}:log-group:{name}"

    def policy_document(self) -> dict:
        """The key policy (see ``_key_policy``) for the log groups allowed so far."""
        arns = [self.log_group_arn(name) for name in self._log_group_names]
        return _key_policy(self._account, self._partition, self._region, arns)


#: Sids of the key policy and why each statement exists (docs/security.md, "Security" renders them).
KEY_POLICY_REASONS: dict[str, str] = {
    "AccountRootAdministers": "AWS's default key-policy statement: delegates every decision to IAM in this account "
    "(key administration for deployers, use for the roles that hold a grant); without it the key could become unmanageable",
    "CloudWatchAlarmsPublishToEncryptedTopics": "CloudWatch alarms publish to the encrypted alarm topic as cloudwatch.amazonaws.com; SNS then needs a data key from this key on the alarms' behalf",
    "CloudWatchLogsEncryptThisStacksLogGroups": "CloudWatch Logs encrypts this stack's log groups (Lambda, API access and execution logs) and no others, selected by the encryption context",
}


def _key_policy(account: str, partition: str, region: str, log_group_arns: Sequence[str]) -> dict:
    """The key policy: IAM-delegated administration plus the AWS services that encrypt on our behalf.

    Admin/use split, decided deliberately: the key policy keeps AWS's documented default root
    statement and names no individual role. Who may administer the key (the deployer's role)
    and who may use it (the function roles, through the queue's and topic's grants, on this key's
    ARN only) is decided in IAM, where this repository declares every grant and a test proves
    each one. Naming a deployer role here would tie the key to one CI setup, and a role that does
    not exist makes CreateKey fail. Service principals cannot get permissions through IAM, so they
    are the only other statements, each with the actions and conditions AWS documents for it.

    There is no sqs.amazonaws.com or sns.amazonaws.com statement: SQS needs one only when an AWS
    service (S3, SNS, EventBridge...) sends to an encrypted queue, and SNS needs one on the key of
    an encrypted *queue subscribed to a topic*
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
    "Configure KMS permissions for AWS services";
    https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html).
    Here only the API-handler role sends to the queue and only the processor role publishes to
    the topic; both are IAM principals whose own policies carry the key permissions.
    """

    root = f"arn:{partition}:iam::{account}:root"
    # "Resource": "*" below is not a wildcard over keys: a key policy applies only to its own
    # key, so "*" means "this key" (the key's ARN is not known until the key exists).
    statements: list[dict] = [
        {
            # The default key policy statement
            # (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam):
            # without it IAM policies cannot grant use of the key at all, and the key could become
            # unmanageable (KMS refuses a policy that locks the account out).
            "Sid": "AccountRootAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            # CloudWatch alarms publish to the alarm topic as cloudwatch.amazonaws.com. They
            # CANNOT use a topic encrypted with the AWS-managed alias/aws/sns key (its policy
            # cannot be edited), which is why the topics use this customer-managed key. Actions
            # as documented for AWS services publishing to encrypted topics:
            # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
            # No condition: that page documents none for this path, and whether SNS passes
            # aws:SourceArn/aws:SourceAccount or an encryption context to KMS for a
            # CloudWatch-published message is not documented; a condition that does not match
            # would drop every alarm notification silently. The confused-deputy guard sits where
            # AWS documents it, on the alarm topic's policy (sns:Publish only for CloudWatch of
            # this account, EncryptedTopic), and the events topic does not let CloudWatch publish.
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    ]
    if log_group_arns:
        statements.append(
            {
                # CloudWatch Logs encrypts as the regional logs principal, with the log group's ARN
                # as encryption context; this is the statement AWS documents
                # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html),
                # narrowed from "any log group" to exactly this stack's groups. Two deliberate
                # differences: kms:Describe* is left out, because DescribeKey carries no encryption
                # context and so is never allowed under this condition anyway
                # (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-services.html,
                # "Using encryption context condition keys"); and the exact ARNs are compared with
                # StringEquals, the type IAM documents for kms:EncryptionContext:* (equivalent to
                # ArnEquals for values without wildcards).
                "Sid": "CloudWatchLogsEncryptThisStacksLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
