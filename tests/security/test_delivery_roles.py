"""The roles the delivery workflows assume (docs/deliver.md, "Roles"): who may assume them, and what the apply role may do.

parliament lints the same documents (``test_parliament.py``); these tests hold what it cannot know:
the trust is bounded to this repository and the ``environment:`` claim, the apply policy covers every
service the stacks use, and nothing outside the project's names is granted without a condition.
"""

from __future__ import annotations

import json
from pathlib import Path

from rehearsal.workcopy import endpoint_services

IAM = Path(__file__).resolve().parents[2] / "docs" / "iam"
GITHUB = "token.actions.githubusercontent.com"
#: Provider endpoints that need no permission of their own (sts:GetCallerIdentity needs none).
NO_PERMISSION_NEEDED = {"sts"}
#: Actions that AWS authorizes only on "*" (no resource-level permissions), each with why the role needs it.
STAR_ONLY = {
    "lambda:GetAccountSettings": "preflight: the account's concurrency",
    "lambda:ListFunctions": "preflight: what other functions reserve",
    "lambda:ListEventSourceMappings": "the provider finds a mapping by function",
    "kms:ListAliases": "the provider reads an alias",
    "logs:DescribeLogGroups": "the provider and preflight find log groups by name prefix",
    "sns:Unsubscribe": "subscriptions have no resource-level permissions",
    "sns:GetSubscriptionAttributes": "subscriptions have no resource-level permissions",
    "sns:SetSubscriptionAttributes": "subscriptions have no resource-level permissions",
}
#: Resource patterns of this project (names from pipeline_config/naming.py, the public Powertools layer).
PROJECT_PATTERNS = (
    ":function:order*",
    ":role/order",
    ":role/orders-apigw-cloudwatch-",
    ":order*",
    ":table/order*",
    ":alias/orders-key-",
    "log-group:/aws/lambda/order*",
    "log-group:/aws/apigateway/orders-",
    "log-group:API-Gateway-Execution-Logs_",
    ":alarm:orders-",
    ":dashboard/orders-",
    "::/restapis",
    "::/apikeys",
    "::/usageplans",
    "::/account",
    "::/tags/",
    ":layer:AWSLambdaPowertoolsPythonV3-",
    ":execute-api:",
    ":rule/orders-",
)


def _load(name: str) -> dict:
    return json.loads((IAM / name).read_text(encoding="utf-8"))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_the_apply_role_is_assumable_only_by_one_environment_of_this_repository():
    (statement,) = _load("apply-role-trust-policy.json")["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::<account>:oidc-provider/{GITHUB}"}
    # StringEquals, one value, no wildcard: this repository AND the environment claim.
    assert statement["Condition"] == {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com", f"{GITHUB}:sub": "repo:<org>/<repo>:environment:<environment>"}}


def test_the_plan_role_is_assumable_by_pull_requests_and_the_default_branch_only():
    (statement,) = _load("plan-role-trust-policy.json")["Statement"]
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"] == ["repo:<org>/<repo>:pull_request", "repo:<org>/<repo>:ref:refs/heads/main"]
    assert set(statement["Condition"]) == {"StringEquals"}  # no StringLike: nothing matches by wildcard


def test_the_apply_policy_grants_every_service_the_stacks_use(all_stacks):
    actions = {action for s in _load("apply-role-policy.json")["Statement"] for action in _as_list(s["Action"])}
    granted = {action.split(":")[0] for action in actions}
    for stack, doc in all_stacks.items():
        missing = set(endpoint_services(doc)) - NO_PERMISSION_NEEDED - granted
        assert not missing, f"{stack} uses {sorted(missing)}, which docs/iam/apply-role-policy.json grants nothing of: add the statements its resources need"


def test_the_apply_policy_grants_nothing_outside_the_project_without_a_condition():
    for statement in _load("apply-role-policy.json")["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement, statement["Sid"]
        for resource in _as_list(statement["Resource"]):
            if resource == "*" or resource.endswith((":key/*", ":event-source-mapping:*")):
                unconditioned = [a for a in _as_list(statement["Action"]) if a not in STAR_ONLY]
                assert not unconditioned or statement.get("Condition"), f"{statement['Sid']}: {unconditioned} on {resource} without a condition"
            else:
                assert any(pattern in resource for pattern in PROJECT_PATTERNS), f"{statement['Sid']}: {resource} is not one of this project's resources"


def test_the_apply_role_passes_roles_to_lambda_and_api_gateway_only_and_attaches_one_managed_policy():
    statements = _load("apply-role-policy.json")["Statement"]
    passes = [s for s in statements if "iam:PassRole" in _as_list(s["Action"])]
    assert {s["Condition"]["StringEquals"]["iam:PassedToService"] for s in passes} == {"lambda.amazonaws.com", "apigateway.amazonaws.com"}
    (attach,) = [s for s in statements if "iam:AttachRolePolicy" in _as_list(s["Action"])]
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}}
