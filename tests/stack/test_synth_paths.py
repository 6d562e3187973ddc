"""The README's commands, literally, on a copy of the project: `make synth` and `make cli-synth` read the
same cdktf.json, the sample error of docs/configuration.md is what `make synth` prints, bad JSON is one line, and a
narrower synth leaves no stale stack folders behind."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.project_copy import ROOT, copy_project, ensure_cli_installed, run
from tests.tfjson import find, only, resources

pytestmark = pytest.mark.slow

#: The page whose examples these tests run (``<!-- docs-example:<name> -->`` before each).
CONFIGURATION_PAGE = ROOT / "docs" / "configuration.md"


def docs_example(name: str) -> str:
    """The fenced block right after ``<!-- docs-example:<name> -->`` in docs/configuration.md."""
    text = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- docs-example:{re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert match, f"docs/configuration.md lacks the example {name!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """One copy of the project for this module; each test writes the cdktf.json it needs."""
    ensure_cli_installed()
    return copy_project(tmp_path_factory.mktemp("project") / "order-pipeline")


def write_context(project: Path, context: dict) -> None:
    config = json.loads((ROOT / "cdktf.json").read_text())
    config["context"] = context
    (project / "cdktf.json").write_text(json.dumps(config, indent=2))


def synthesized(project: Path) -> dict[str, bytes]:
    out = project / "cdktf.out"
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "stacks").glob("*/cdk.tf.json"))}
    files["manifest stacks"] = json.dumps(sorted(json.loads((out / "manifest.json").read_text())["stacks"])).encode()
    return files


@pytest.mark.timeout(1800)
def test_make_synth_and_make_cli_synth_agree_on_the_documented_overrides(project):
    # The cdktf.json example of docs/configuration.md: prod gets an on-call e-mail, dev turns its reservation "off".
    write_context(project, json.loads(docs_example("overrides:cdktf-json"))["context"])
    shutil.rmtree(project / "cdktf.out", ignore_errors=True)

    python_path = run(["make", "synth"], project)
    assert python_path.returncode == 0, python_path.stderr
    assert python_path.stdout.strip().splitlines()[0].startswith("Synthesized orders-dev, orders-staging, orders-prod, orders-account-us-east-1 into ")
    assert "Synthesized" not in python_path.stderr  # the summary is not an error
    by_python = synthesized(project)

    cli_path = run(["make", "cli-synth"], project, timeout=900)
    assert cli_path.returncode == 0, cli_path.stdout + cli_path.stderr
    assert "[ERROR] default - Synthesized" not in cli_path.stdout + cli_path.stderr
    by_cli = synthesized(project)

    assert sorted(by_python) == sorted(by_cli)
    for name in by_python:
        assert by_python[name] == by_cli[name], f"{name} differs between make synth and make cli-synth"

    # ...and the overrides took effect (two paths that both ignored them would agree too).
    dev = json.loads(by_python["stacks/orders-dev/cdk.tf.json"])
    _, processor = find(dev, "aws_lambda_function", function_name="order-processor-dev")
    assert "reserved_concurrent_executions" not in processor
    assert "scaling_config" not in only(dev, "aws_lambda_event_source_mapping")[1]
    prod = json.loads(by_python["stacks/orders-prod/cdk.tf.json"])
    assert [s["endpoint"] for s in resources(prod, "aws_sns_topic_subscription").values()] == ["oncall@example.com"]
    _, prod_processor = find(prod, "aws_lambda_function", function_name="order-processor-prod")
    assert prod_processor["reserved_concurrent_executions"] == 100


def test_the_documented_sample_error_is_what_make_synth_prints(project):
    write_context(project, json.loads(docs_example("config-error:context")))
    shutil.rmtree(project / "cdktf.out", ignore_errors=True)
    result = run(["make", "synth"], project)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ")]
    assert "\n".join(ours) == docs_example("config-error:stderr")
    assert not list((project / "cdktf.out").rglob("cdk.tf.json")), "nothing may be synthesized from a bad config"


@pytest.mark.parametrize("bad", ["environment", "file"])
def test_malformed_context_json_is_one_line_and_exit_2(project, bad):
    write_context(project, {})
    if bad == "environment":
        result = run(["make", "synth"], project, CDKTF_CONTEXT_JSON='{"orderPipeline": {prod: {}}}')
    else:
        (project / "cdktf.json").write_text('{\n  "app": "pipenv run python main.py",\n  "context": {"orderPipeline": }\n}\n')
        result = run(["make", "synth"], project)
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ")]
    assert len(ours) == 1, result.stderr
    expected = "error: CDKTF_CONTEXT_JSON: is not valid JSON" if bad == "environment" else "error: cdktf.json: is not valid JSON"
    assert ours[0].startswith(expected) and "Fix: " in ours[0]
    assert "make: *** [Makefile" in result.stderr and "Error 2" in result.stderr  # main.py's exit status 2


def test_a_single_environment_synth_leaves_no_stale_stacks(project):
    write_context(project, json.loads(docs_example("overrides:cdktf-json"))["context"])
    assert run(["make", "synth"], project).returncode == 0
    stacks = project / "cdktf.out" / "stacks"
    assert len(list(stacks.iterdir())) == 4
    # A folder holding Terraform state is never deleted, only reported.
    (stacks / "orders-old").mkdir()
    (stacks / "orders-old" / "terraform.tfstate").write_text("{}")

    result = run(["make", "synth"], project, ENVIRONMENT_SUFFIX="dev")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in stacks.iterdir()) == ["orders-dev", "orders-old"]
    assert sorted(json.loads((project / "cdktf.out" / "manifest.json").read_text())["stacks"]) == ["orders-dev"]
    assert "Removed stacks an earlier synth left behind: orders-account-us-east-1, orders-prod, orders-staging" in result.stdout
    assert "orders-old is not part of this synth but holds Terraform state" in result.stderr


def test_make_synth_ships_python312_bytecode_or_names_the_environment_that_requires_it(project, tmp_path):
    """``lambda_bytecode`` through cdktf.json, as a user sets it: the default ships the handlers'
    bytecode when this machine has a Python 3.12; "required" with an interpreter of another
    version fails the synth naming the environment, the setting and the variable."""
    import zipfile

    from constructs_lib.support.bytecode import find_interpreter

    write_context(project, {"orderPipeline": {"dev": {"lambda_bytecode": "required"}}})
    result = run(["make", "synth"], project, ENVIRONMENT_SUFFIX="dev", LAMBDA_BYTECODE_PYTHON=shutil.which("python3.11") or "/usr/bin/python3.11")
    assert result.returncode != 0
    assert "[dev] lambda_bytecode: LAMBDA_BYTECODE_PYTHON=" in result.stderr and "but the functions run python3.12" in result.stderr, result.stderr

    if find_interpreter("3.12")[0] is None:
        pytest.skip("no Python 3.12 on this machine: the default ships sources only (unit-tested in tests/stack/test_bytecode.py)")
    write_context(project, {})
    result = run(["make", "synth"], project, ENVIRONMENT_SUFFIX="dev")
    assert result.returncode == 0, result.stderr
    assert "lambda_bytecode" not in result.stderr
    archives = list((project / "cdktf.out" / "stacks" / "orders-dev" / "assets").rglob("archive.zip"))
    assert len(archives) == 1
    names = zipfile.ZipFile(archives[0]).namelist()
    assert "order_processor/__pycache__/app.cpython-312.pyc" in names
    assert sum(n.endswith(".pyc") for n in names) == sum(n.endswith(".py") for n in names)


def test_a_bad_state_backend_is_reported_with_the_other_problems_before_anything_is_built(project):
    """make synth with a bad TF_STATE_* and a bad setting: one report, exit 2, nothing written."""
    write_context(project, {"orderPipeline": {"dev": {"log_retention_days": 8}, "prod": {"alarm_destination_check": "warn"}}})
    shutil.rmtree(project / "cdktf.out", ignore_errors=True)
    result = run(["make", "synth"], project, TF_STATE_BACKEND="s3", TF_STATE_REGION="moon-1")
    ours = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("make: "))
    assert "Error 2" in result.stderr
    for fragment in ("TF_STATE_BUCKET: is required when TF_STATE_BACKEND=s3", "TF_STATE_REGION: is not an AWS region name", "[dev] log_retention_days"):
        assert fragment in ours, ours
    assert not list((project / "cdktf.out").rglob("cdk.tf.json"))
