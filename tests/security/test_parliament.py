"""parliament (an offline IAM linter that ships AWS's action database) over every policy document
of every synthesized stack: role trust policies, role policies, the key policy, the queue and
topic policies. Zero findings, or each one explained in ``.parliament.yaml`` (a finding type,
where it is ignored, and a ``reason``), like checkov's ``.checkov.yaml``.

The synthesized JSON holds Terraform references (``${aws_sqs_queue.x.arn}``); they are replaced
by ARNs of the right shape for the resource type first, so parliament checks each action against
a real resource type instead of an opaque string. A reference it does not know fails the test.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".parliament.yaml"
#: Resource attributes that hold a JSON policy document.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
ACCOUNT = "123456789012"
#: Every environment stack holds at least these documents: 2 trust policies, 2 role policies,
#: the key policy, 2 queue policies, 2 topic policies.
ENVIRONMENT_DOCUMENTS = {"aws_iam_role": 2, "aws_iam_role_policy": 2, "aws_kms_key": 1, "aws_sqs_queue_policy": 2, "aws_sns_topic_policy": 2}


def import_parliament() -> Any:
    """parliament 1.6 imports ``pkg_resources`` for two file paths; setuptools >= 81 no longer has it.

    A test-harness shim (nothing that ships uses parliament): ``resource_filename`` for the
    package's own data files, from the package's location. Used only when the real one is missing.
    """
    try:
        import pkg_resources  # noqa: F401 -- only asks whether it exists
    except ModuleNotFoundError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            spec = importlib.util.find_spec(package)
            assert spec is not None and spec.submodule_search_locations, package
            return str(Path(next(iter(spec.submodule_search_locations))) / name)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]  # a module made here: ModuleType declares none
        sys.modules["pkg_resources"] = shim
    import parliament

    return parliament


parliament = import_parliament()


def _arn(rtype: str, resource: dict, region: str) -> str:
    name = resource.get("name", "x")
    formats = {
        "aws_sqs_queue": f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
        "aws_dynamodb_table": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}",
        "aws_sns_topic": f"arn:aws:sns:{region}:{ACCOUNT}:{name}",
        "aws_kms_key": f"arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        # The provider's log group `arn` has no trailing ":*" (the policy adds it where needed).
        "aws_cloudwatch_log_group": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}",
        "aws_iam_role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
    }
    if rtype not in formats:
        raise KeyError(rtype)
    return formats[rtype]


def materialize(text: str, doc: dict, region: str) -> str:
    """``text`` with every Terraform reference replaced by a value of the right shape."""

    def value(match: re.Match) -> str:
        is_data, rtype, rid, attribute = match.groups()
        if is_data and rtype == "aws_caller_identity" and attribute == "account_id":
            return ACCOUNT
        if is_data and rtype == "aws_partition" and attribute == "partition":
            return "aws"
        if not is_data and rtype == "aws_api_gateway_rest_api" and attribute == "id":
            return "a1b2c3d4e5"
        if not is_data and attribute == "arn":
            try:
                return _arn(rtype, doc["resource"][rtype][rid], region)
            except KeyError:
                pass
        raise AssertionError(f"{match.group(0)}: no realistic value for this reference. Fix: teach tests/security/test_parliament.py:materialize() its shape")

    return re.sub(r"\$\{(data\.)?([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)\}", value, text)


def policy_documents(doc: dict) -> list[tuple[str, str]]:
    """(``<type>.<name>.<attribute>``, JSON text) of every policy document in a stack."""
    out = []
    for rtype, resources in doc.get("resource", {}).items():
        for rid, resource in resources.items():
            for attribute in POLICY_ATTRIBUTES:
                text = resource.get(attribute)
                if isinstance(text, str) and '"Statement"' in text:
                    out.append((f"{rtype}.{rid}.{attribute}", text))
    return out


def load_exceptions() -> dict[str, dict]:
    """``.parliament.yaml``: finding type -> {reason, ignore_locations}."""
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}


def explanation(finding: Any, exceptions: dict[str, dict]) -> tuple[str, int] | None:
    """(finding type, index of the ignore_location) that explains ``finding``, or None.

    parliament's own ``ignore_locations`` filter never matches plain YAML strings in 1.6.4 (its
    ``make_list`` only knows its JSON parser's nodes), so the same format is matched here:
    every key of an ignore_location is a field of the finding's location (plus ``detail``), each
    value a case-insensitive regular expression (or a list of them) that must match it whole.
    """
    for index, location in enumerate(exceptions.get(finding.issue, {}).get("ignore_locations", [])):
        fields = {**{k: str(v) for k, v in finding.location.items()}, "detail": str(finding.detail)}
        if all(any(re.fullmatch(pattern, fields.get(key, ""), re.IGNORECASE) for pattern in (patterns if isinstance(patterns, list) else [patterns])) for key, patterns in location.items()):
            return finding.issue, index
    return None


def lint(where: str, text: str, exceptions: dict[str, dict], used: set[tuple[str, int]] | None = None) -> list[str]:
    """parliament's findings (community auditors included) that ``exceptions`` do not explain."""
    policy = parliament.analyze_policy_string(text, where, ignore_private_auditors=True, include_community_auditors=True)
    out = []
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        explained = explanation(finding, exceptions)
        if explained is None:
            out.append(f"{where}: {finding.issue} ({finding.severity}) {finding.detail} at {finding.location}")
        elif used is not None:
            used.add(explained)
    return out


@pytest.fixture(scope="module", autouse=True)
def _community_finding_types() -> None:
    # As `parliament --include-community-auditors` does: the community auditors' finding types
    # (their titles and severities) join the built-in ones.
    parliament.override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))


def test_every_exception_is_narrow_and_has_a_reason():
    config = load_exceptions()
    assert config, ".parliament.yaml is empty"
    for issue, settings in config.items():
        assert issue in parliament.config, f"{issue}: not a parliament finding type"
        assert len(str(settings.get("reason", ""))) > 30, f"{issue}: needs a reason of a sentence or more"
        assert "severity" not in settings, f"{issue}: do not mute a finding type; ignore it where it is explained (ignore_locations)"
        assert settings.get("ignore_locations"), f"{issue}: needs ignore_locations, never a blanket exception"
        for location in settings["ignore_locations"]:
            assert location.get("filepath"), f"{issue}: every ignored location names the documents (filepath) it applies to"


def test_parliament_finds_nothing_unexplained_in_any_policy_of_any_stack(all_stacks):
    exceptions = load_exceptions()
    used: set[tuple[str, int]] = set()
    findings = []
    for stack, doc in all_stacks.items():
        region = doc["provider"]["aws"][0]["region"]
        documents = policy_documents(doc)
        kinds = {where.split(".")[0] for where, _ in documents}
        if stack.startswith("orders-account-"):
            assert kinds == {"aws_iam_role"}, stack  # the CloudWatch role's trust policy (its policy is AWS managed)
        else:
            for rtype, count in ENVIRONMENT_DOCUMENTS.items():
                assert sum(where.startswith(rtype + ".") for where, _ in documents) >= count, (stack, rtype)
        for where, text in documents:
            findings += lint(f"{stack}/{where}", materialize(text, doc, region), exceptions, used)
    # The policies the docs tell users to attach to their own roles (docs/iam/*.json).
    assert DOCUMENTED_POLICIES, "docs/iam/ holds no policy"
    for path in DOCUMENTED_POLICIES:
        text = fill_placeholders(path.read_text(encoding="utf-8"))
        assert "<" not in text, f"{path.name}: a placeholder other than {', '.join(PLACEHOLDERS)}"
        findings += lint(f"docs/iam/{path.name}", text, exceptions, used)
    assert findings == [], "parliament findings (fix the policy, or explain it in .parliament.yaml):\n  " + "\n  ".join(findings)
    stale = [(issue, i) for issue, settings in exceptions.items() for i in range(len(settings["ignore_locations"])) if (issue, i) not in used]
    assert stale == [], f"exceptions in .parliament.yaml that no longer explain any finding (remove them): {stale}"


def test_the_lint_fails_a_misspelt_action_and_a_star_resource_in_a_role_policy(dev):
    # Negative control: the real API-handler policy, broken twice; the exceptions in
    # .parliament.yaml must not hide either.
    ((where, text),) = [(w, t) for w, t in policy_documents(dev) if w.startswith("aws_iam_role_policy.api-handler")]
    broken = json.loads(text)
    broken["Statement"].append({"Sid": "Typo", "Effect": "Allow", "Action": ["sqs:SendMesage"], "Resource": broken["Statement"][2]["Resource"]})
    broken["Statement"].append({"Sid": "Wide", "Effect": "Allow", "Action": ["dynamodb:DeleteItem"], "Resource": "*"})
    findings = lint(f"orders-dev/{where}", materialize(json.dumps(broken), dev, "us-east-1"), load_exceptions())
    assert any(" UNKNOWN_ACTION " in f and "SendMesage" in f for f in findings), findings
    assert any(" RESOURCE_STAR " in f and "dynamodb:DeleteItem" in f for f in findings), findings


def test_the_lint_fails_a_key_policy_action_its_condition_can_never_allow(dev):
    # Negative control on the key policy, with the finding that shaped it: kms:Describe* under an
    # encryption-context condition (as in AWS's Logs example) allows nothing, and parliament says so.
    ((where, text),) = [(w, t) for w, t in policy_documents(dev) if w.startswith("aws_kms_key.")]
    policy = json.loads(text)
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptThisStacksLogGroups"]
    logs["Action"].append("kms:Describe*")
    findings = lint(f"orders-dev/{where}", materialize(json.dumps(policy), dev, "us-east-1"), load_exceptions())
    assert any(" UNKNOWN_CONDITION_FOR_ACTION " in f and "kms:DescribeKey" in f for f in findings), findings


def test_materialize_refuses_a_reference_it_does_not_know(dev):
    doc = copy.deepcopy(dev)
    with pytest.raises(AssertionError, match="no realistic value"):
        materialize('{"Resource": "${aws_s3_bucket.b.arn}"}', doc, "us-east-1")


DOCUMENTED_POLICIES = sorted((ROOT / "docs" / "iam").glob("*.json"))


#: The placeholders documented policies may hold (docs/deliver.md says what each is), filled as a user would.
PLACEHOLDERS = {"<region>": "us-east-1", "<account>": "123456789012", "<org>": "example-org", "<repo>": "order-pipeline", "<environment>": "prod"}


def fill_placeholders(text: str) -> str:
    """A documented policy with its placeholders filled as a user would (``PLACEHOLDERS``)."""
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def test_the_plan_role_may_decrypt_only_through_lambda_and_only_this_projects_keys():
    """Item 5 of the false-greens issue: the plan role reads the functions' encrypted environment."""
    document = json.loads(fill_placeholders((ROOT / "docs" / "iam" / "plan-role-read-function-environment.json").read_text(encoding="utf-8")))
    (statement,) = document["Statement"]
    assert statement["Action"] == "kms:Decrypt" and statement["Effect"] == "Allow"
    assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "lambda.us-east-1.amazonaws.com"}
    from pipeline_config.naming import ResourceNames

    pattern = statement["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"]
    import fnmatch

    for suffix in ("dev", "prod", "pr-42"):
        assert fnmatch.fnmatchcase(ResourceNames(suffix).kms_alias, pattern), suffix
    assert (ROOT / "docs" / "ci.md").read_text(encoding="utf-8").count("(iam/plan-role-read-function-environment.json)") >= 1
