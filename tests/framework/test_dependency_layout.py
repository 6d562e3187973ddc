"""The locked dependency layout: one Pipfile category per framework, a lean synth set, one version per package, both CLIs pinned."""

from __future__ import annotations

import json

import pytest

from constructs_lib.support.framework_choice import FRAMEWORKS
from tests.framework.support import ROOT

LOCK = json.loads((ROOT / "Pipfile.lock").read_text())
NPM_LOCK = json.loads((ROOT / "package-lock.json").read_text())
# Lock sections as pipenv names them ([packages] -> default, [dev-packages] -> develop).
SYNTH_SECTIONS = {name: ("default", spec.pipfile_category) for name, spec in FRAMEWORKS.items()}
TEST_TOOLS = ("pytest", "moto", "checkov", "hypothesis", "aws-lambda-powertools")


def test_every_package_has_one_version_across_the_categories_sharing_the_venv():
    versions: dict[str, dict[str, str]] = {}
    for section, packages in LOCK.items():
        if section != "_meta":
            for name, entry in packages.items():
                versions.setdefault(name, {})[section] = entry.get("version", "")
    conflicts = {name: by_section for name, by_section in versions.items() if len(set(by_section.values())) > 1}
    assert conflicts == {}, f"one .venv cannot hold two versions of a package; pin it in [packages]: {conflicts}"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_a_synth_installs_its_framework_and_no_test_tools(framework):
    spec = FRAMEWORKS[framework]
    synth_set = set().union(*(LOCK[section] for section in SYNTH_SECTIONS[framework]))
    assert spec.core_module in synth_set and spec.provider_module.replace("_", "-") in synth_set
    assert not synth_set & set(TEST_TOOLS), "make synth would install test tools"
    other = next(s for n, s in FRAMEWORKS.items() if n != framework)
    assert other.core_module not in synth_set, f"a {framework} synth would also install {other.name}"


def test_the_frameworks_share_one_constructs_and_jsii_from_packages():
    for name in ("constructs", "jsii"):
        assert name in LOCK["default"]
        assert {LOCK[FRAMEWORKS[f].pipfile_category][name]["version"] for f in FRAMEWORKS} == {LOCK["default"][name]["version"]}
    assert LOCK["default"]["constructs"]["version"].startswith("==10.7.")


@pytest.mark.parametrize("framework, version", [("cdktf", "0.21.0"), ("cdktn", "0.24.0")])
def test_each_framework_cli_is_pinned_in_its_npm_workspace(framework, version):
    spec = FRAMEWORKS[framework]
    workspace = json.loads((ROOT / "cli" / framework / "package.json").read_text())
    assert workspace["devDependencies"] == {spec.cli_package: version}
    assert f"cli/{framework}" in json.loads((ROOT / "package.json").read_text())["workspaces"]
    locked = [entry["version"] for path, entry in NPM_LOCK["packages"].items() if path.endswith(f"node_modules/{spec.cli_package}")]
    assert locked == [version], f"{spec.cli_package} must be locked once, at {version}"


def test_ci_runs_the_readme_test_command_then_the_cdktn_tier():
    # .ci/run runs each command through its timing helper: `step [env VAR=...] command`.
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line.removeprefix("step ").removeprefix("env ") for line in lines if line.startswith("step ")]
    assert commands[:2] == ["make lint", "make test"], "CI must run the static checks (the cheapest gate), then the README's test command"
    assert 'FRAMEWORK=cdktn make test PYTEST_ARGS="tests/stack tests/framework tests/security -q -p no:cacheprovider"' in commands
    # One upgrade rehearsal from the previous commit (a fresh one when the clone has none).
    assert 'FRAMEWORK=cdktn make rehearse ARGS="--from HEAD~1 --no-drift-check --allow-data-loss-from $allow/commit-message.txt --allow-data-loss-from $allow/pull-request-description.md"' in commands
    assert "FRAMEWORK=cdktn make rehearse" in commands
    # GitHub runs the same script (tests/ops/test_workflows.py keeps ci.yml to that one step).
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "run: .ci/run" in workflow
