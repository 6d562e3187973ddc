"""The lean provider import: fast path on, switchable off, falls back, and changes no byte of output."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env_extra: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_EAGER_PROVIDER_IMPORT", "ENVIRONMENT_SUFFIX")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


MODE_PROBE = (
    "import sys, constructs_lib.provider as p;"
    "print(p.IMPORT_MODE);"
    "print(sum(1 for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')))"
)


def test_lean_mode_loads_only_the_submodules_used():
    result = run_python(MODE_PROBE)
    assert result.returncode == 0, result.stderr
    mode, loaded = result.stdout.split()
    assert mode == "lean"
    # ~40 resource submodules plus _jsii, not the ~2,200 of the eager package __init__.
    assert int(loaded) < 100


def test_environment_variable_switches_to_the_stock_import():
    result = run_python(MODE_PROBE, {"CDKTF_EAGER_PROVIDER_IMPORT": "1"})
    assert result.returncode == 0, result.stderr
    mode, loaded = result.stdout.split()
    assert mode == "eager"
    assert int(loaded) > 2000


def test_unrecognised_package_layout_falls_back_to_the_stock_import(tmp_path):
    # A fake provider package whose __init__ lacks the marker we rely on.
    fake = tmp_path / "cdktf_cdktf_provider_aws"
    (fake / "_jsii").mkdir(parents=True)
    (fake / "_jsii" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("LOADED_EAGERLY = True\nclass Surprise: pass\n")
    # Run only the loader part of the module: the fake package has no real submodules.
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r});"
        "src = open('constructs_lib/provider.py').read().split('# --- the provider classes')[0];"
        "ns = {'__name__': 'probe'}; exec(compile(src, 'provider.py', 'exec'), ns);"
        "print(ns['IMPORT_MODE']); import cdktf_cdktf_provider_aws as pkg; print(getattr(pkg, 'LOADED_EAGERLY', False))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    mode, eager_init_ran = result.stdout.split("\n")[:2]
    assert mode.startswith("eager: package __init__")
    assert eager_init_ran == "True"


NODE_PROBE = (
    "from constructs_lib.framework import App, TerraformStack;"
    "import constructs_lib.provider as p;"
    "app = App(outdir=__import__('tempfile').mkdtemp()); stack = TerraformStack(app, 's');"
    "p.AwsProvider(stack, 'aws', region='us-east-1'); p.SqsQueue(stack, 'q', name='q'); app.synth()"
)


def test_node_side_lazy_index_engages_and_is_switched_off_by_the_same_variable():
    lean = run_python(NODE_PROBE, {"CDKTF_LAZY_INDEX_DEBUG": "1"})
    assert lean.returncode == 0, lean.stderr
    assert "[lazy-index]" in lean.stderr and "lazy exports for" in lean.stderr
    eager = run_python(NODE_PROBE, {"CDKTF_LAZY_INDEX_DEBUG": "1", "CDKTF_EAGER_PROVIDER_IMPORT": "1"})
    assert eager.returncode == 0, eager.stderr
    assert "[lazy-index]" not in eager.stderr


def test_node_hook_leaves_other_modules_and_unknown_layouts_alone(tmp_path):
    # A provider-looking index that is not the exports/require list: the stock loader runs.
    pkg = tmp_path / "node_modules" / "@cdktf" / "provider-aws" / "lib"
    pkg.mkdir(parents=True)
    (pkg / "index.js").write_text("module.exports = { answer: 42 };\n")
    (tmp_path / "main.js").write_text(
        "const a = require('./node_modules/@cdktf/provider-aws/lib/index.js');"
        "const path = require('path'); console.log(JSON.stringify([a.answer, path.sep]));"
    )
    hook = ROOT / "constructs_lib" / "node_lazy_provider_index.js"
    result = subprocess.run(["node", "--require", str(hook), str(tmp_path / "main.js")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [42, "/"]


@pytest.mark.timeout(900)
def test_synthesized_json_is_identical_with_and_without_the_lean_import(tmp_path):
    outputs = {}
    for label, extra in (("lean", {}), ("eager", {"CDKTF_EAGER_PROVIDER_IMPORT": "1"})):
        outdir = tmp_path / label
        code = f"from main import build_app; build_app(outdir={str(outdir)!r}).synth()"
        result = run_python(code, extra)
        assert result.returncode == 0, result.stderr
        outputs[label] = outdir
    lean_stacks = sorted(p.name for p in (outputs["lean"] / "stacks").iterdir())
    eager_stacks = sorted(p.name for p in (outputs["eager"] / "stacks").iterdir())
    assert lean_stacks == eager_stacks and len(lean_stacks) >= 3  # the environments (+ account-level stacks)
    for stack in lean_stacks:
        lean = (outputs["lean"] / "stacks" / stack / "cdk.tf.json").read_bytes()
        eager = (outputs["eager"] / "stacks" / stack / "cdk.tf.json").read_bytes()
        assert lean == eager, f"{stack}: synthesized JSON differs between lean and eager provider import"
        assert json.loads(lean)["resource"], "an empty stack would make this comparison meaningless"
    assert filecmp.cmp(outputs["lean"] / "manifest.json", outputs["eager"] / "manifest.json", shallow=False)


def test_the_off_switch_removes_a_hook_inherited_from_a_lean_parent():
    from constructs_lib.jsii_env import NODE_LAZY_INDEX, prepare_jsii_environment

    lean: dict[str, str] = {"NODE_OPTIONS": "--max-old-space-size=4096"}
    prepare_jsii_environment(lean)
    assert NODE_LAZY_INDEX in lean["NODE_OPTIONS"] and "--max-old-space-size=4096" in lean["NODE_OPTIONS"]
    prepare_jsii_environment(lean)  # idempotent
    assert lean["NODE_OPTIONS"].count(NODE_LAZY_INDEX) == 1
    eager = {**lean, "CDKTF_EAGER_PROVIDER_IMPORT": "1"}
    prepare_jsii_environment(eager)
    assert eager["NODE_OPTIONS"] == "--max-old-space-size=4096"
    only_ours = {"NODE_OPTIONS": lean["NODE_OPTIONS"].replace("--max-old-space-size=4096", ""), "CDKTF_EAGER_PROVIDER_IMPORT": "1"}
    prepare_jsii_environment(only_ours)
    assert "NODE_OPTIONS" not in only_ours


def test_pure_python_token_check_agrees_with_cdktf():
    """``framework.is_unresolved`` answers locally for strings and numbers; it must match cdktf."""
    from constructs_lib.framework import App, TerraformStack, Token, is_unresolved
    from constructs_lib.provider import SqsQueue

    stack = TerraformStack(App(outdir=__import__("tempfile").mkdtemp()), "tokens")
    queue = SqsQueue(stack, "q", name="q")
    samples = [
        queue.arn,
        f"prefix-{queue.url}-suffix",
        Token.as_string(queue.visibility_timeout_seconds),
        queue.visibility_timeout_seconds,
        Token.as_number(queue.arn),
        queue.max_message_size,
        "plain",
        "${aws_sqs_queue.q.arn}",
        "${TfToken[not a key]}",
        "",
        0,
        7,
        -1.5,
        1e300,
        -1.8881545897087626e289,
        int(-1.8881545897087626e289),
        True,
        None,
        Token.as_list(queue.arn),
        ["a"],
        {"k": "v"},
    ]
    for value in samples:
        assert is_unresolved(value) == bool(Token.is_unresolved(value)), repr(value)
    assert is_unresolved(queue.arn) and is_unresolved(queue.visibility_timeout_seconds)
    # Values jsii cannot even carry are plainly not tokens.
    assert not is_unresolved(float("nan")) and not is_unresolved(10**400)
