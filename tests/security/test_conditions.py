"""Every condition in every policy the stacks ship is one AWS documents for that use, with its citation in the code.

moto evaluates no condition, so a trust, key-policy or grant condition that AWS would not match
passes every rehearsal and fails (or silently drops access) in a real account. The rule of this
project: a condition stays only with a citation of AWS documentation. This test lists each
(operator, key) the stacks use with the page that documents it, checks that page is cited in the
construct that writes it, and fails on any condition that is not listed, naming where it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.tfjson import policy, resources

ROOT = Path(__file__).resolve().parents[2]

#: (operator, condition key) -> (where it may appear, and per construct that writes it, the AWS page it cites).
CITED: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("Bool", "aws:SecureTransport"): (
        "deny statements of queue and topic policies",
        {
            "constructs_lib/queue_with_dlq.py": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html",
            "constructs_lib/encrypted_topic.py": "https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
        },
    ),
    ("StringEquals", "kms:EncryptionContext:aws:logs:arn"): (
        "the key policy's CloudWatch Logs statement",
        {"constructs_lib/encryption_key.py": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"},
    ),
    ("StringEquals", "kms:ViaService"): (
        "the function roles' use of the key for the orders table",
        {"constructs_lib/orders_table.py": "https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html"},
    ),
    ("ArnLike", "aws:SourceArn"): (
        "the alarm topic's CloudWatch-alarms publish statement",
        {"constructs_lib/encrypted_topic.py": "https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger"},
    ),
}
#: Resource attributes that hold a policy document.
POLICY_ATTRIBUTES = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_kms_key": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue_policy": "policy",
}


def conditions(docs: dict[str, dict]) -> Iterator[tuple[str, str, str, str]]:
    """(stack, resource address and Sid, operator, key) of every condition in every policy."""
    for stack, doc in docs.items():
        for rtype, attribute in POLICY_ATTRIBUTES.items():
            for logical, resource in resources(doc, rtype).items():
                for statement in policy(resource[attribute])["Statement"]:
                    for operator, keys in statement.get("Condition", {}).items():
                        for key in keys:
                            yield stack, f"{rtype}.{logical} ({statement.get('Sid', 'no Sid')})", operator, key


def test_every_condition_is_a_documented_one(all_stacks, review_stacks):
    seen = set()
    uncited = []
    for stack, where, operator, key in conditions({**all_stacks, **review_stacks}):
        seen.add((operator, key))
        if (operator, key) not in CITED:
            uncited.append(f"{stack} {where}: {operator} {key}")
    assert not uncited, (
        "conditions without an AWS citation (moto evaluates none of them; AWS may not match them):\n  "
        + "\n  ".join(uncited)
        + "\nFix: remove the condition, or cite the AWS page documenting it in the construct and list it in CITED."
    )
    # Every listed condition is still in use: the table documents the stacks, not the past.
    assert seen == set(CITED), sorted(set(CITED) - seen)


def test_no_trust_policy_has_a_condition(all_stacks, review_stacks):
    """Lambda's and API Gateway's documented trust policies carry none (neither service is documented to send aws:SourceAccount)."""
    found = [f"{s} {w}" for s, w, _, _ in conditions({**all_stacks, **review_stacks}) if w.startswith("aws_iam_role.")]
    assert not found, found


def test_each_citation_is_in_the_construct_that_writes_the_condition():
    for (operator, key), (_, sources) in CITED.items():
        for source, url in sources.items():
            text = (ROOT / source).read_text(encoding="utf-8")
            assert url in text and key in text, f"{source} must cite {url} where it writes {operator} {key}"
