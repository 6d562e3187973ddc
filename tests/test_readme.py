"""The README's reference tables are the code's: they fail the build when they drift."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline_config.docs import config_table, environments_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def block(name: str) -> str:
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", README, re.S)
    assert match, f"README lacks the {name} markers"
    return match.group(1).strip()


def test_config_table_matches_the_dataclass():
    assert block("config-table") == config_table().strip(), "run `python -m pipeline_config.docs` and paste the table"


def test_environments_table_matches_the_definitions():
    assert block("environments-table") == environments_table().strip()


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make synth", "make test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
