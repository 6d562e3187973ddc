"""Render the table of grants of docs/security.md from the synthesized JSON itself.

``python -m tools.security_table`` synthesizes the app into a temporary directory and prints
the table; ``tests/test_readme.py`` fails when the page's copy drifts from it. Every IAM
statement of the dev stack and the account-level stack becomes one row: who gets it (a role,
an AWS service, anyone), the actions, on what and under which condition, and why. The "why"
comes from the ``*_REASONS`` dictionaries next to the code that writes each statement; a
statement without one fails the rendering, so no grant goes undocumented.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from constructs_lib import api_gateway_account, encrypted_topic, encryption_key, orders_table, python_function, queue_with_dlq

#: Where the reasons of each kind of policy live.
ROLE_REASONS: dict[str, str] = {
    **python_function.GRANT_REASONS,
    **queue_with_dlq.GRANT_REASONS,
    **orders_table.GRANT_REASONS,
    **encrypted_topic.GRANT_REASONS,
    **api_gateway_account.GRANT_REASONS,
}
KEY_REASONS = encryption_key.KEY_POLICY_REASONS
QUEUE_REASONS = queue_with_dlq.QUEUE_POLICY_REASONS
TOPIC_REASONS = encrypted_topic.TOPIC_POLICY_REASONS

_REF = re.compile(r"\$\{(?:data\.)?([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)\}")
HEADER = ("| who | statement | actions | on (condition) | why |", "|---|---|---|---|---|")


class UndocumentedGrant(Exception):
    """A statement of the synthesized JSON has no reason in the code."""


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _generic(name: str, suffix: str, region: str) -> str:
    """``order-queue-dev`` -> ``order-queue-<suffix>``; the region of account-level names -> ``<region>``."""
    return name.replace(f"-{suffix}", "-<suffix>").replace(region, "<region>")


class _Renderer:
    def __init__(self, doc: Mapping[str, Any], suffix: str, region: str) -> None:
        self.doc, self.suffix, self.region = doc, suffix, region

    def name_of(self, rtype: str, rid: str) -> str:
        resource = self.doc.get("resource", {}).get(rtype, {}).get(rid, {})
        if rtype == "aws_kms_key":
            return "the stack's KMS key"
        if rtype == "aws_api_gateway_rest_api":
            return "<api-id>"
        if rtype in ("aws_caller_identity",):
            return "<account>"
        if rtype == "aws_partition":
            return "aws"
        return _generic(str(resource.get("name", rid)), self.suffix, self.region)

    def text(self, value: str) -> str:
        """A policy string with every ``${...}`` reference replaced by what it names."""
        return _REF.sub(lambda m: self.name_of(m.group(1), m.group(2)), value)

    def resource(self, value: str, *, key_policy: bool = False) -> str:
        if value == "*":
            return "this key" if key_policy else "`*`"
        text = self.text(value)
        text = text.replace("/index/", " index ")
        return f"`{text.removesuffix(':*')}`" if not text.startswith("the stack") else text

    def condition(self, condition: Mapping[str, Any] | None) -> str:
        if not condition:
            return ""
        parts = []
        for operator, pairs in condition.items():
            for key, values in pairs.items():
                rendered = ", ".join(f"`{_generic(self.text(v), self.suffix, self.region).split(':log-group:')[-1]}`" for v in _list(values))
                parts.append(f"{key} {operator} {rendered}")
        return " (if " + "; ".join(parts) + ")"


def _reason(reasons: Mapping[str, str], sid: str | None, where: str) -> str:
    base = re.sub(r"\d+$", "", sid or "")
    if base not in reasons:
        raise UndocumentedGrant(
            f"{where}: statement {sid!r} has no documented reason. Fix: add it to the *_REASONS dictionary of the construct that writes it (constructs_lib/), then run `python -m tools.security_table`"
        )
    return reasons[base]


def _statement_row(r: _Renderer, who: str, statement: Mapping[str, Any], reasons: Mapping[str, str], where: str, *, key_policy: bool = False, on: str | None = None) -> str:
    effect = "" if statement["Effect"] == "Allow" else "**Deny** "
    actions = ", ".join(f"`{a}`" for a in _list(statement["Action"]))
    on = on or ", ".join(r.resource(v, key_policy=key_policy) for v in _list(statement["Resource"]))
    why = _reason(reasons, statement.get("Sid"), where)
    return f"| {who} | `{statement.get('Sid')}` | {effect}{actions} | {on}{r.condition(statement.get('Condition'))} | {why} |"


def _principal(r: _Renderer, statement: Mapping[str, Any]) -> str:
    principal = statement.get("Principal")
    if principal == "*":
        return "anyone"
    if not isinstance(principal, Mapping):
        raise ValueError(f'statement {statement.get("Sid")!r}: a Principal of {principal!r} is neither "*" nor a mapping')
    ((kind, value),) = principal.items()
    return ", ".join(f"`{_generic(r.text(v), r.suffix, r.region)}`" if kind == "Service" else "the account (IAM decides)" for v in _list(value))


def _roles(r: _Renderer) -> Iterable[str]:
    roles = r.doc.get("resource", {}).get("aws_iam_role", {})
    for rid, role in roles.items():
        who = f"role `{_generic(role['name'], r.suffix, r.region)}`"
        for statement in json.loads(role["assume_role_policy"])["Statement"]:
            yield _statement_row(r, _principal(r, statement), statement, ROLE_REASONS, role["name"], on=f"{who} (trust policy)")
        for policy in r.doc.get("resource", {}).get("aws_iam_role_policy", {}).values():
            if policy["role"] == "${aws_iam_role." + rid + ".id}":
                for statement in json.loads(policy["policy"])["Statement"]:
                    yield _statement_row(r, who, statement, ROLE_REASONS, role["name"])
        for attachment in r.doc.get("resource", {}).get("aws_iam_role_policy_attachment", {}).values():
            if attachment["role"] == "${aws_iam_role." + rid + ".name}":
                name = attachment["policy_arn"].rsplit("/", 1)[-1]
                yield f"| {who} | managed policy `{name}` | its actions (logs) | `*` | {_reason(ROLE_REASONS, name, role['name'])} |"


def _resource_policies(r: _Renderer) -> Iterable[str]:
    for key in r.doc.get("resource", {}).get("aws_kms_key", {}).values():
        for statement in json.loads(key["policy"])["Statement"]:
            yield _statement_row(r, f"{_principal(r, statement)} (key policy)", statement, KEY_REASONS, "key policy", key_policy=True)
    for rtype, reasons, label in (("aws_sqs_queue_policy", QUEUE_REASONS, "queue policy"), ("aws_sns_topic_policy", TOPIC_REASONS, "topic policy")):
        # The same statement on several queues (topics) is one row naming all of them.
        groups: dict[str, tuple[dict, list[str]]] = {}
        for resource in r.doc.get("resource", {}).get(rtype, {}).values():
            for statement in json.loads(resource["policy"])["Statement"]:
                shape = json.dumps({k: v for k, v in statement.items() if k != "Resource"}, sort_keys=True)
                groups.setdefault(shape, (statement, []))[1].extend(_list(statement["Resource"]))
        for statement, targets in groups.values():
            yield _statement_row(r, f"{_principal(r, statement)} ({label})", {**statement, "Resource": targets}, reasons, label)


def grants_table(environment: Mapping[str, Any], account: Mapping[str, Any], *, suffix: str = "dev", region: str = "us-east-1") -> str:
    """Markdown table of every grant of an environment stack and the account-level stack."""
    env, acct = _Renderer(environment, suffix, region), _Renderer(account, suffix, region)
    rows = [*HEADER, *_roles(env), *_resource_policies(env), *_roles(acct)]
    return "\n".join(rows)


def synthesized_docs(outdir: Path) -> tuple[dict, dict]:
    """Synthesize the app into ``outdir``; return the dev stack and the default region's account stack."""
    from stacks.app import build_app

    environ = {k: v for k, v in os.environ.items() if k != "ENVIRONMENT_SUFFIX"}
    build_app(outdir=str(outdir), environ=environ).synth()
    read = lambda name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8"))  # noqa: E731 -- a one-line reader used three times in the next lines
    return read("orders-dev"), read("orders-account-us-east-1")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        dev, account = synthesized_docs(Path(tmp))
    sys.stdout.write(grants_table(dev, account) + "\n")
