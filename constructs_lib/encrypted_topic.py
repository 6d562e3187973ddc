"""``EncryptedTopic``: an SNS topic encrypted with the pipeline's KMS key and reachable only over TLS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs_lib.references import KeyReference, check_reference
from constructs_lib.support.framework import Construct, is_unresolved
from constructs_lib.support.provider import DataAwsCallerIdentity, DataAwsPartition, SnsTopic, SnsTopicPolicy, SnsTopicSubscription
from constructs_lib.validation import add, raise_problems, validated
from pipeline_config import rules
from pipeline_config.errors import ConfigProblem

if TYPE_CHECKING:
    from constructs_lib.python_function import PythonFunction

#: Every action a topic policy can name
#: (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html):
#: the TLS-only deny covers all of them, not only Publish (a Subscribe or SetTopicAttributes
#: over plain HTTP is refused too). Listed, not "sns:*": SNS rejects wildcards and any other
#: action in a topic policy ("Policy statement action out of service scope").
TOPIC_POLICY_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetDataProtectionPolicy",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sns:Publish",
    "sns:PutDataProtectionPolicy",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)


@dataclass(frozen=True, kw_only=True)
class EncryptedTopicProps:
    """Settings of ``EncryptedTopic``."""

    topic_name: str = "order-events"
    """Physical topic name. Default ``order-events``; the stack passes a ``ResourceNames`` name."""
    encryption_key: KeyReference | None = None
    """KMS key for SSE (the ``EncryptionKey`` construct; its ``key_arn`` is read inside). Required in
    practice: ``None`` is rejected, because an unencrypted topic is not a secure default and the
    AWS-managed alias/aws/sns key cannot serve CloudWatch alarms."""
    allow_cloudwatch_alarms: bool = False
    """Let ``cloudwatch.amazonaws.com`` publish for the alarms ``cloudwatch_alarm_names`` matches. Default off."""
    cloudwatch_alarm_names: str = "*"
    """Names of this account's alarms that may publish when ``allow_cloudwatch_alarms`` is on, as an
    ``ArnLike`` pattern (``*`` and ``?``). Default ``*``: every alarm of the account; the stack passes
    its environment's alarm names (``ResourceNames.alarm("*")``)."""
    email_subscriptions: tuple[str, ...] = ()
    """E-mail addresses to subscribe (each must confirm once). Default none."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        name = self.topic_name
        if not is_unresolved(name) and (not isinstance(name, str) or not 1 <= len(name) <= 256):
            problems.append(ConfigProblem("topic_name", name, "must be a topic name of 1 to 256 characters", "give e.g. 'order-events-dev'"))
        if self.encryption_key is None:
            problems.append(ConfigProblem("encryption_key", None, "is required: topics are always encrypted with a customer-managed key", "pass the stack's EncryptionKey"))
        else:
            check_reference(problems, self, "encryption_key", KeyReference, "EncryptionKey", required=True, fix="pass the stack's EncryptionKey")
        pattern = self.cloudwatch_alarm_names
        if not isinstance(pattern, str) or not pattern or len(pattern) > 255 or any(c in pattern for c in ' :"'):
            problems.append(
                ConfigProblem("cloudwatch_alarm_names", pattern, "must be an alarm-name pattern (1 to 255 characters, no spaces, colons or quotes; * and ? allowed)", "give e.g. 'orders-*-dev' or '*'")
            )
        if isinstance(self.email_subscriptions, str) or not isinstance(self.email_subscriptions, tuple):
            problems.append(ConfigProblem("email_subscriptions", self.email_subscriptions, "must be a tuple of e-mail addresses", "give e.g. ('oncall@example.com',)"))
        else:
            for address in self.email_subscriptions:
                add(problems, rules.email_problem(address, setting="email_subscriptions"))
        return problems


class EncryptedTopic(Construct):
    """SNS topic with a CMK, a TLS-only topic policy, optional CloudWatch-alarm publishing and e-mail subscribers."""

    def __init__(self, scope: Construct, id: str, props: EncryptedTopicProps | None = None) -> None:
        props = props or EncryptedTopicProps()
        raise_problems(props, "EncryptedTopic", id)
        super().__init__(scope, id)

        kms_key_arn = validated(props.encryption_key, "encryption_key", "EncryptedTopic").key_arn
        topic = SnsTopic(self, "topic", name=props.topic_name, kms_master_key_id=kms_key_arn)
        # TLS only, as AWS documents it for topics
        # (https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html, "Enforce
        # encryption of data in transit": deny when aws:SecureTransport is false).
        statements: list[dict] = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(TOPIC_POLICY_ACTIONS),
                "Resource": topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        if props.allow_cloudwatch_alarms:
            account = DataAwsCallerIdentity(self, "caller").account_id
            partition = DataAwsPartition(self, "partition").partition
            statements.append(
                {
                    "Sid": "AllowCloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic.arn,
                    # Confused-deputy guard, as AWS documents it for exactly this path: CloudWatch
                    # sends the publishing alarm's ARN as aws:SourceArn, matched with ArnLike
                    # (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger;
                    # https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html).
                    # Only this account's alarms that cloudwatch_alarm_names matches; any region,
                    # because an alarm can only notify topics of its own region anyway.
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:*:{account}:alarm:{props.cloudwatch_alarm_names}"}},
                }
            )
        SnsTopicPolicy(self, "policy", arn=topic.arn, policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        for index, address in enumerate(props.email_subscriptions):
            SnsTopicSubscription(self, f"email-{index}", topic_arn=topic.arn, protocol="email", endpoint=address)

        self.topic: SnsTopic = topic
        self.topic_arn: str = topic.arn
        self.topic_name: str = props.topic_name
        self._kms_key_arn = kms_key_arn

    def grant_publish(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role publish to this topic (``grant_publish_statements``)."""
        grantee.add_to_role_policy(self.grant_publish_statements())

    def grant_publish_statements(self) -> list[dict]:
        """IAM statements to publish to this topic: sns:Publish (which also authorizes PublishBatch)
        and, for the topic's customer-managed key, the two KMS actions an SNS publisher needs
        (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#send-to-encrypted-topic)."""
        return [
            {"Sid": "PublishOrderEvents", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [self.topic_arn]},
            {"Sid": "EncryptForOrderEvents", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [self._kms_key_arn]},
        ]


#: Why each statement exists (docs/security.md, "Security" renders them).
GRANT_REASONS: dict[str, str] = {
    "PublishOrderEvents": "the processor (and the event sweep, for events that never got out) publishes OrderProcessed events (PublishBatch is authorized by sns:Publish)",
    "EncryptForOrderEvents": "publishing to a topic encrypted with the CMK needs a data key (SNS publishers)",
}
#: Why each statement of the topic policies exists.
TOPIC_POLICY_REASONS: dict[str, str] = {
    "DenyInsecureTransport": "every action a topic policy can name is denied over plain HTTP, to anyone (both topics)",
    "AllowCloudWatchAlarmsPublish": "alarm topic only: this environment's CloudWatch alarms (aws:SourceArn, as AWS documents for alarms) may publish",
}
