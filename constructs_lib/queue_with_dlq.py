"""``QueueWithDeadLetterQueue``: an encrypted, TLS-only SQS queue and the dead-letter queue it redrives to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs_lib.references import KeyReference, check_reference
from constructs_lib.support.framework import Construct, TerraformResourceLifecycle, is_unresolved
from constructs_lib.support.provider import SqsQueue, SqsQueuePolicy, SqsQueueRedriveAllowPolicy, SqsQueueRedrivePolicy
from constructs_lib.validation import add, check_whole_number, raise_problems
from pipeline_config import rules
from pipeline_config.defaults import QueueSettings
from pipeline_config.errors import ConfigProblem

if TYPE_CHECKING:
    from constructs_lib.python_function import PythonFunction

#: Long polling: the maximum wait, fewer empty receives (and lower cost).
RECEIVE_WAIT_TIME_SECONDS = 20
#: How long SQS reuses a KMS data key: 5 minutes keeps KMS calls (and cost) low.
KMS_DATA_KEY_REUSE_SECONDS = 300


#: The defaults of the props that ``pipeline_config.defaults`` holds (their one home).
_QUEUE = QueueSettings()


@dataclass(frozen=True, kw_only=True)
class QueueWithDeadLetterQueueProps:
    """Settings of ``QueueWithDeadLetterQueue``."""

    queue_name: str = "order-queue"
    """Name of the source queue. Default ``order-queue``; the stack passes ``ResourceNames.order_queue``."""
    dlq_name: str | None = None
    """Name of the dead-letter queue. ``None``: ``<queue_name>-dlq``."""
    visibility_timeout_seconds: int = _QUEUE.visibility_timeout_seconds
    """Default: ``QueueSettings.visibility_timeout_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    message_retention_seconds: int = _QUEUE.message_retention_seconds
    """Default: ``QueueSettings.message_retention_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    dlq_message_retention_seconds: int = _QUEUE.dlq_message_retention_seconds
    """Default: ``QueueSettings.dlq_message_retention_seconds`` (``pipeline_config.defaults``, where it is documented)."""
    max_receive_count: int = _QUEUE.max_receive_count
    """Default: ``QueueSettings.max_receive_count`` (``pipeline_config.defaults``, where it is documented)."""
    encryption_key: KeyReference | None = None
    """Customer-managed KMS key for SSE (the ``EncryptionKey`` construct; its ``key_arn`` is read
    inside). ``None``: SQS-managed SSE (SSE-SQS)."""
    prevent_destroy: bool = False
    """Terraform ``lifecycle.prevent_destroy`` on both queues: any plan that destroys or replaces
    one (and the messages in it) fails. Default off; the stack turns it on in prod-like environments."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        if not isinstance(self.prevent_destroy, bool):
            problems.append(ConfigProblem("prevent_destroy", self.prevent_destroy, "must be true or false", "set prevent_destroy to True or False"))
        for setting in ("queue_name", "dlq_name"):
            value = getattr(self, setting)
            if value is None and setting == "dlq_name":
                continue
            if not isinstance(value, str) or not value or (not is_unresolved(value) and len(value) > 80):
                problems.append(ConfigProblem(setting, value, "must be a non-empty queue name of at most 80 characters", f"give {setting} a shorter name"))
        check_whole_number(problems, self, "visibility_timeout_seconds", *rules.SQS_VISIBILITY_TIMEOUT_SECONDS)
        queue_ok = check_whole_number(problems, self, "message_retention_seconds", *rules.SQS_RETENTION_SECONDS)
        if check_whole_number(problems, self, "dlq_message_retention_seconds", *rules.SQS_RETENTION_SECONDS) and queue_ok:
            add(
                problems,
                rules.dlq_retention_problem(
                    self.message_retention_seconds,
                    self.dlq_message_retention_seconds,
                    queue_setting="message_retention_seconds",
                    dlq_setting="dlq_message_retention_seconds",
                ),
            )
        check_whole_number(problems, self, "max_receive_count", *rules.SQS_MAX_RECEIVE_COUNT)
        check_reference(problems, self, "encryption_key", KeyReference, "EncryptionKey", required=False, fix="pass the stack's EncryptionKey (or leave it out for SSE-SQS)")
        return problems


class QueueWithDeadLetterQueue(Construct):
    """Source queue + DLQ, redrive through standalone resources, SSE, long polling and a TLS-only policy."""

    def __init__(self, scope: Construct, id: str, props: QueueWithDeadLetterQueueProps | None = None) -> None:
        props = props or QueueWithDeadLetterQueueProps()
        raise_problems(props, "QueueWithDeadLetterQueue", id)
        super().__init__(scope, id)
        dlq_name = props.dlq_name or f"{props.queue_name}-dlq"

        kms_key_arn = props.encryption_key.key_arn if props.encryption_key is not None else None
        if kms_key_arn is not None:
            encryption = {"kms_master_key_id": kms_key_arn, "kms_data_key_reuse_period_seconds": KMS_DATA_KEY_REUSE_SECONDS}
        else:
            encryption = {"sqs_managed_sse_enabled": True}
        # Messages live only in the queues: a replacement drops them all.
        lifecycle = TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None

        dlq = SqsQueue(
            self,
            "dlq",
            name=dlq_name,
            message_retention_seconds=props.dlq_message_retention_seconds,
            receive_wait_time_seconds=RECEIVE_WAIT_TIME_SECONDS,
            lifecycle=lifecycle,
            **encryption,
        )
        queue = SqsQueue(
            self,
            "queue",
            name=props.queue_name,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            message_retention_seconds=props.message_retention_seconds,
            receive_wait_time_seconds=RECEIVE_WAIT_TIME_SECONDS,
            lifecycle=lifecycle,
            **encryption,
        )
        # Redrive through the standalone resources, not the queues' inline redrive_policy /
        # redrive_allow_policy arguments: inline, each queue would refer to the other and
        # Terraform reports a dependency cycle. Compact JSON, as SQS returns it and as the
        # provider normalizes it: with json.dumps' spaces the provider kept the spaced text in
        # state and showed a "whitespace changes" update in every plan after an apply (the
        # upgrade rehearsal's re-plan).
        SqsQueueRedrivePolicy(
            self,
            "redrive-policy",
            queue_url=queue.url,
            redrive_policy=json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": props.max_receive_count}, separators=(",", ":")),
        )
        SqsQueueRedriveAllowPolicy(
            self,
            "redrive-allow-policy",
            queue_url=dlq.url,
            redrive_allow_policy=json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}, separators=(",", ":")),
        )
        for policy_id, target in (("queue-policy", queue), ("dlq-policy", dlq)):
            SqsQueuePolicy(self, policy_id, queue_url=target.url, policy=json.dumps(_tls_only_policy(target.arn)))

        self.queue: SqsQueue = queue
        self.dead_letter_queue: SqsQueue = dlq
        self.queue_url: str = queue.url
        self.queue_arn: str = queue.arn
        self.queue_name: str = props.queue_name
        self.dlq_url: str = dlq.url
        self.dlq_arn: str = dlq.arn
        self.dlq_name: str = dlq_name
        self.visibility_timeout_seconds: int = props.visibility_timeout_seconds
        self._kms_key_arn = kms_key_arn

    def grant_send(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role send messages to the source queue (``grant_send_statements``)."""
        grantee.add_to_role_policy(self.grant_send_statements())

    def grant_consume(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role consume the source queue, as its event source mapping does (``grant_consume_statements``)."""
        grantee.add_to_role_policy(self.grant_consume_statements())

    def grant_send_statements(self) -> list[dict]:
        """IAM statements to send messages to the source queue (and, with a CMK, to encrypt them)."""
        return [
            {"Sid": "SendToOrderQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [self.queue_arn]},
            # SQS producers of a queue encrypted with a customer-managed key need these two:
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
            *self._key_statements("EncryptForOrderQueue", ["kms:GenerateDataKey", "kms:Decrypt"]),
        ]

    def grant_consume_statements(self) -> list[dict]:
        """IAM statements a Lambda event source mapping needs on the function's role to consume the queue.

        The three actions Lambda documents for SQS event sources
        (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions), and
        kms:Decrypt for a queue encrypted with a customer-managed key (SQS consumers, see
        ``grant_send_statements``). No ChangeMessageVisibility: a failed record simply becomes
        visible again when its visibility timeout ends.
        """
        return [
            {
                "Sid": "ConsumeOrderQueue",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": [self.queue_arn],
            },
            *self._key_statements("DecryptFromOrderQueue", ["kms:Decrypt"]),
        ]

    def _key_statements(self, sid: str, actions: list[str]) -> list[dict]:
        if self._kms_key_arn is None:
            return []  # SSE-SQS: SQS's own key, no KMS permission needed
        return [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": [self._kms_key_arn]}]


#: Why each statement of these grants exists (docs/security.md, "Security" renders them).
GRANT_REASONS: dict[str, str] = {
    "SendToOrderQueue": "the API handler enqueues each accepted order (SendMessage)",
    "EncryptForOrderQueue": "SendMessage to a queue encrypted with the CMK needs a data key (SQS producers)",
    "ConsumeOrderQueue": "Lambda's event source mapping polls the queue with the processor's role (Receive, Delete, GetQueueAttributes)",
    "DecryptFromOrderQueue": "received messages are decrypted with the CMK (SQS consumers)",
}
#: Why each statement of the queue policies exists.
QUEUE_POLICY_REASONS: dict[str, str] = {
    "DenyInsecureTransport": "every SQS action over plain HTTP is denied, to anyone (both queues)",
}


def _tls_only_policy(queue_arn: str) -> dict:
    """Deny every action over plain HTTP: the statement AWS documents for enforcing encryption in transit
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html,
    "Enforce encryption of data in transit"; aws:SecureTransport is false for a plain-HTTP request)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
