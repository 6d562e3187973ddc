"""The lean provider import under each framework: honest about what it did, switchable off, falls back, changes no byte.

The stock import of CDKTF's provider costs ~45 s of CPU per process, so ONE lean and ONE stock
child per framework and session (``provider_run``) serve every test that compares the two.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from constructs_lib.support.framework_choice import FRAMEWORKS
from tests.framework.support import ROOT, current_framework, require, run_python

#: One child per framework and mode: the provider import (its mode, how many provider submodules it
#: loaded), then a synth of every stack; the Node hook's debug lines go to stderr.
RUN_PROBE = (
    "import sys, constructs_lib.support.provider as p;"
    "print(p.IMPORT_MODE);"
    "print(sum(1 for m in sys.modules if m.startswith(p.PACKAGE + '.')), flush=True);"
    "from main import build_app; build_app(outdir={outdir!r}).synth()"
)
# What the Python side must report per framework: CDKTF's package __init__ imports all
# ~2,200 submodules (so we make it lean); CDK Terrain's is already lazy (nothing to do).
EXPECTED_MODE = {"cdktf": "lean", "cdktn": "not needed: package already lazy"}
# With CDKTF_EAGER_PROVIDER_IMPORT=1, the stock import: eager for CDKTF, still lazy for CDK Terrain.
EXPECTED_STOCK = {"cdktf": ("eager", 2000, None), "cdktn": ("not needed: package already lazy", 0, 100)}


@dataclass(frozen=True)
class ProviderRun:
    """What one child reported: the import mode, provider submodules loaded, its stderr, its synth output."""

    mode: str
    loaded: int
    stderr: str
    outdir: Path


@pytest.fixture(scope="session")
def provider_run(tmp_path_factory):
    """``provider_run(framework, stock=...)``: that child's report, run once per session and then reused."""
    runs: dict[tuple[str, bool], ProviderRun] = {}

    def get(framework: str, *, stock: bool) -> ProviderRun:
        require(framework)
        if (framework, stock) not in runs:
            outdir = tmp_path_factory.mktemp(f"{framework}-{'stock' if stock else 'lean'}")
            extra = {"FRAMEWORK": framework, "CDKTF_LAZY_INDEX_DEBUG": "1", **({"CDKTF_EAGER_PROVIDER_IMPORT": "1"} if stock else {})}
            result = run_python(RUN_PROBE.format(outdir=str(outdir)), extra, timeout=900)
            assert result.returncode == 0, result.stderr[-3000:]
            mode, loaded = result.stdout.splitlines()[:2]
            runs[(framework, stock)] = ProviderRun(mode=mode, loaded=int(loaded), stderr=result.stderr, outdir=outdir)
        return runs[(framework, stock)]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_python_side_reports_what_it_did_and_loads_only_what_is_used(framework, provider_run):
    lean = provider_run(framework, stock=False)
    assert lean.mode == EXPECTED_MODE[framework]
    # ~40 resource submodules plus _jsii, not the ~2,200 of an eager package __init__.
    assert lean.loaded < 100


@pytest.mark.slow
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_environment_variable_asks_for_the_stock_import(framework, provider_run):
    stock = provider_run(framework, stock=True)
    expected_mode, at_least, below = EXPECTED_STOCK[framework]
    assert stock.mode == expected_mode
    assert stock.loaded > at_least and (below is None or stock.loaded < below)


def _loader_namespace_code(tmp_path) -> str:
    # Runs only the loader half of provider.py (before the class table) against fake packages in tmp_path.
    return (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r});"
        "src = open('constructs_lib/support/provider.py').read().split('# --- the provider classes')[0];"
        "ns = {'__name__': 'probe'}; exec(compile(src, 'provider.py', 'exec'), ns);"
    )


def _fake_package(tmp_path, name: str, init: str) -> None:
    package = tmp_path / name
    (package / "_jsii").mkdir(parents=True)
    (package / "_jsii" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(init)


def test_unrecognised_package_layout_falls_back_to_the_stock_import(tmp_path):
    _fake_package(tmp_path, "fake_provider_aws", "LOADED_EAGERLY = True\nclass Surprise: pass\n")
    code = _loader_namespace_code(tmp_path) + ("print(ns['_install_lean_package']('fake_provider_aws')); import fake_provider_aws as pkg; print(getattr(pkg, 'LOADED_EAGERLY', False))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    mode, eager_init_ran = result.stdout.strip().split("\n")[-2:]
    assert mode.startswith("eager: package __init__ not recognised")
    assert eager_init_ran == "True"


def test_a_lazy_package_init_is_reported_as_such_and_left_alone(tmp_path):
    lazy_init = (
        "import importlib as _importlib\n_SUBMODULES = {'a'}\nRAN = True\n"
        "def __getattr__(name: str) -> object:\n"
        "    if name in _SUBMODULES:\n"
        '        return _importlib.import_module(f".{name}", __name__)\n'
        "    raise AttributeError(name)\n"
    )
    _fake_package(tmp_path, "fake_lazy_aws", lazy_init)
    code = _loader_namespace_code(tmp_path) + "print(ns['_install_lean_package']('fake_lazy_aws')); import fake_lazy_aws as pkg; print(getattr(pkg, 'RAN', False))"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    mode, own_init_ran = result.stdout.strip().split("\n")[-2:]
    assert mode == "not needed: package already lazy"
    assert own_init_ran == "True"  # we did not replace it


def test_a_package_imported_before_provider_is_reported(tmp_path):
    _fake_package(tmp_path, "fake_early_aws", "")
    code = _loader_namespace_code(tmp_path) + "import fake_early_aws; print(ns['_install_lean_package']('fake_early_aws'))"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("\n")[-1].startswith("eager: the package was imported before constructs_lib.support.provider")


NODE_PROBE = (
    "import constructs_lib.support.provider as p;"  # provider first, on purpose: it must prepare jsii's environment itself
    "from constructs_lib.support.framework import App, TerraformStack;"
    "app = App(outdir=__import__('tempfile').mkdtemp()); stack = TerraformStack(app, 's');"
    "p.AwsProvider(stack, 'aws', region='us-east-1'); p.SqsQueue(stack, 'q', name='q'); app.synth()"
)
NODE_LAYOUT = {"cdktf": "require layout", "cdktn": "importStar layout"}
BANNER_VARIABLES = (
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION",
    "NODE_OPTIONS",
)


@pytest.mark.slow
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_provider_imported_first_in_a_clean_interpreter_prepares_jsii_itself(framework):
    """No banner variables, no NODE_OPTIONS, provider.py before framework.py: the Node hook still engages and no banner prints."""
    require(framework)
    lean = run_python(NODE_PROBE, {"FRAMEWORK": framework, "CDKTF_LAZY_INDEX_DEBUG": "1"}, drop=BANNER_VARIABLES)
    assert lean.returncode == 0, lean.stderr
    assert f"lazy exports ({NODE_LAYOUT[framework]})" in lean.stderr, lean.stderr
    assert "!!!!" not in lean.stderr, "jsii's Node banner printed: the environment was prepared too late"


@pytest.mark.slow
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_node_side_lazy_index_is_switched_off_by_the_same_variable(framework, provider_run):
    assert f"lazy exports ({NODE_LAYOUT[framework]})" in provider_run(framework, stock=False).stderr
    assert "[lazy-index]" not in provider_run(framework, stock=True).stderr


HOOK = ROOT / "constructs_lib" / "support" / "node_lazy_provider_index.js"


def _run_node(tmp_path, script: str) -> subprocess.CompletedProcess:
    (tmp_path / "main.js").write_text(script)
    return subprocess.run(
        ["node", "--require", str(HOOK), str(tmp_path / "main.js")], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin:/usr/local/bin", "CDKTF_LAZY_INDEX_DEBUG": "1"}
    )


def test_node_hook_leaves_other_modules_and_unknown_layouts_alone(tmp_path):
    # A provider-looking index that is neither known list: the stock loader runs.
    pkg = tmp_path / "node_modules" / "@cdktf" / "provider-aws" / "lib"
    pkg.mkdir(parents=True)
    (pkg / "index.js").write_text("module.exports = { answer: 42 };\n")
    result = _run_node(tmp_path, "const a = require('./node_modules/@cdktf/provider-aws/lib/index.js'); console.log(JSON.stringify([a.answer, require('path').sep]));")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [42, "/"]
    assert "layout not recognised" in result.stderr


@pytest.mark.parametrize(
    "scope, line",
    [
        ("@cdktf", 'exports.m{i} = require("./m{i}");'),
        ("@cdktn", 'exports.m{i} = __importStar(require("./m{i}/index"));'),
    ],
)
def test_node_hook_makes_both_index_layouts_lazy(tmp_path, scope, line):
    lib = tmp_path / "node_modules" / scope / "provider-aws" / "lib"
    count = 1200
    for i in range(count):
        target = lib / f"m{i}" / "index.js" if "index" in line else lib / f"m{i}.js"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'"use strict"; Object.defineProperty(exports, "__esModule", {{ value: true }}); global.loaded = (global.loaded || 0) + 1; exports.Type{i} = class Type{i} {{}};\n')
    helper = "var __importStar = function (m) { return m; };\n" if "__importStar" in line else ""
    (lib / "index.js").write_text(helper + "\n".join(line.format(i=i) for i in range(count)) + "\n")
    result = _run_node(
        tmp_path,
        f"const idx = require('./node_modules/{scope}/provider-aws/lib/index.js');"
        "const before = global.loaded || 0; const t = idx.m7.Type7; const again = idx.m7.Type7;"
        "console.log(JSON.stringify([before, global.loaded, typeof t, t === again, Object.keys(idx).length]));",
    )
    assert result.returncode == 0, result.stderr
    before, after, kind, same, exported = json.loads(result.stdout)
    assert (before, after, kind, same, exported) == (0, 1, "function", True, count)
    assert f"{count} lazy exports" in result.stderr


@pytest.mark.slow
def test_synthesized_json_is_identical_with_and_without_the_lean_import(provider_run):
    framework = current_framework()
    outputs = {"lean": provider_run(framework, stock=False).outdir, "stock": provider_run(framework, stock=True).outdir}
    lean_stacks = sorted(p.name for p in (outputs["lean"] / "stacks").iterdir())
    stock_stacks = sorted(p.name for p in (outputs["stock"] / "stacks").iterdir())
    assert lean_stacks == stock_stacks and len(lean_stacks) >= 3  # the environments (+ account-level stacks)
    for stack in lean_stacks:
        lean = (outputs["lean"] / "stacks" / stack / "cdk.tf.json").read_bytes()
        stock = (outputs["stock"] / "stacks" / stack / "cdk.tf.json").read_bytes()
        assert lean == stock, f"{stack}: synthesized JSON differs between lean and stock provider import ({framework})"
        assert json.loads(lean)["resource"], "an empty stack would make this comparison meaningless"
    assert filecmp.cmp(outputs["lean"] / "manifest.json", outputs["stock"] / "manifest.json", shallow=False)


def test_the_off_switch_removes_a_hook_inherited_from_a_lean_parent():
    from constructs_lib.support.jsii_env import NODE_LAZY_INDEX, prepare_jsii_environment

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


def test_pure_python_token_check_agrees_with_the_framework():
    """``framework.is_unresolved`` answers locally for strings and numbers; it must match the framework (run under each)."""
    from constructs_lib.support.framework import App, TerraformStack, Token, is_unresolved
    from constructs_lib.support.provider import SqsQueue

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
