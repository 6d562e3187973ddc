"""The reference tables of the docs pages are the code's (they fail the build when they drift), and the
README's Quick start is the two commands CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline_config.docs import config_table, environments_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Where each generated table lives, between ``<!-- <name>:begin -->`` and ``<!-- <name>:end -->``.
TABLE_PAGES = {
    "config-table": "docs/configuration.md",
    "environments-table": "docs/configuration.md",
    "security-table": "docs/security.md",
}


def block(name: str) -> str:
    """The generated table between the markers ``name`` on its page."""
    page = TABLE_PAGES[name]
    text = (ROOT / page).read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"{page} lacks the {name} markers"
    return match.group(1).strip()


def test_config_table_matches_the_dataclass():
    assert block("config-table") == config_table().strip(), "run `python -m pipeline_config.docs` and paste the table into docs/configuration.md"


def test_environments_table_matches_the_definitions():
    assert block("environments-table") == environments_table().strip()


def test_security_table_matches_the_synthesized_grants(dev, account_stack):
    from tools.security_table import grants_table

    assert block("security-table") == grants_table(dev, account_stack).strip(), "run `python -m tools.security_table` and paste the table into docs/security.md"


def test_a_grant_without_a_documented_reason_cannot_be_rendered(dev, account_stack):
    import copy
    import json

    from tools.security_table import UndocumentedGrant, grants_table

    doc = copy.deepcopy(dev)
    policy_id = next(iter(doc["resource"]["aws_iam_role_policy"]))
    statements = json.loads(doc["resource"]["aws_iam_role_policy"][policy_id]["policy"])
    statements["Statement"].append({"Sid": "Undocumented", "Effect": "Allow", "Action": "sqs:PurgeQueue", "Resource": "*"})
    doc["resource"]["aws_iam_role_policy"][policy_id]["policy"] = json.dumps(statements)
    with pytest.raises(UndocumentedGrant, match="statement 'Undocumented' has no documented reason"):
        grants_table(doc, account_stack)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make synth", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
