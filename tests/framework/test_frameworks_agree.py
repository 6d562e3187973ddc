"""CDKTF and CDK Terrain synthesize the same Terraform: every stack, every state backend, apart from the "//" metadata."""

from __future__ import annotations

import pytest

from constructs_lib.support.framework_choice import PINNED_AWS_PROVIDER_SOURCE, PINNED_AWS_PROVIDER_VERSION
from tests.framework.support import require, run_python, synth

# Every test here runs a synth or main.py in a fresh Python (seconds each): not in make test-fast.
pytestmark = pytest.mark.slow

# The state backend variants of stacks/backends.py (local is the default).
BACKENDS = {
    "local": {},
    "s3": {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "orders-tfstate-example", "TF_STATE_LOCK_TABLE": "orders-tflock"},
    "cloud": {"TF_STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "example-org", "TF_CLOUD_PROJECT": "orders"},
}
ENVIRONMENT_STACKS = {"orders-dev", "orders-prod", "orders-staging"}


def _without_metadata(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "//"}


def _differences(a, b, path: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths (the first few are enough to act on)."""
    if type(a) is not type(b):
        return [f"{path or '/'}: {a!r:.80} != {b!r:.80}"]
    if isinstance(a, dict):
        out = [f"{path}/{k}: only in {'cdktf' if k in a else 'cdktn'}" for k in sorted(set(a) ^ set(b))]
        for key in sorted(set(a) & set(b)):
            out += _differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list):
        out = [f"{path}: {len(a)} items != {len(b)}"] if len(a) != len(b) else []
        # Unequal lengths are reported above; compare the common prefix too, so one added item shows its neighbours' differences.
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            out += _differences(x, y, f"{path}[{index}]")
        return out
    return [] if a == b else [f"{path}: {a!r:.80} != {b!r:.80}"]


@pytest.fixture(scope="module")
def both_installed():
    require("cdktf")
    require("cdktn")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_both_frameworks_write_the_same_terraform(tmp_path, both_installed, backend):
    documents = {framework: synth(tmp_path / framework, framework, BACKENDS[backend]) for framework in ("cdktf", "cdktn")}
    stacks = sorted(documents["cdktf"])
    assert stacks == sorted(documents["cdktn"]) and set(stacks) >= ENVIRONMENT_STACKS  # (+ the account-level stack)
    for stack in stacks:
        cdktf_doc, cdktn_doc = documents["cdktf"][stack], documents["cdktn"][stack]
        assert cdktf_doc["resource"], "an empty stack would make this comparison meaningless"
        # The comparison must see the variant: the backend block is what differs between them.
        expected_backend = {"local": "local", "s3": "s3", "cloud": None}[backend]
        if expected_backend:
            assert expected_backend in cdktf_doc["terraform"]["backend"]
        else:
            assert cdktf_doc["terraform"]["cloud"]["organization"] == "example-org"
        differences = _differences(_without_metadata(cdktf_doc), _without_metadata(cdktn_doc))
        assert differences == [], f"{stack} ({backend} backend): cdktf and cdktn JSON differ:\n" + "\n".join(differences[:20])
        assert cdktf_doc["terraform"]["required_providers"]["aws"] == {"source": PINNED_AWS_PROVIDER_SOURCE, "version": PINNED_AWS_PROVIDER_VERSION}
        # The metadata names the framework version, so the documents are not trivially the same file.
        assert cdktf_doc["//"]["metadata"]["version"] != cdktn_doc["//"]["metadata"]["version"]


@pytest.mark.timeout(600)
def test_the_newer_provider_is_taken_only_on_purpose(tmp_path, both_installed):
    bindings = synth(tmp_path / "bindings", "cdktn", {"ENVIRONMENT_SUFFIX": "dev", "TF_AWS_PROVIDER_VERSION": "bindings"})
    assert bindings["orders-dev"]["terraform"]["required_providers"]["aws"] == {"source": "hashicorp/aws", "version": "6.69.1"}
    explicit = synth(tmp_path / "explicit", "cdktf", {"ENVIRONMENT_SUFFIX": "dev", "TF_AWS_PROVIDER_VERSION": "~> 6.69"})
    assert explicit["orders-dev"]["terraform"]["required_providers"]["aws"] == {"source": PINNED_AWS_PROVIDER_SOURCE, "version": "~> 6.69"}


def test_a_default_cdktf_synth_writes_no_provider_override(tmp_path):
    """Under cdktf the pin equals what the bindings write, so the JSON carries no override (byte-identical to before the pin)."""
    require("cdktf")
    document = synth(tmp_path, "cdktf", {"ENVIRONMENT_SUFFIX": "dev"})["orders-dev"]
    overridden = document["//"]["metadata"].get("overrides", {}).get("stack", [])
    assert "terraform" not in overridden, document["//"]["metadata"]


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"FRAMEWORK": "cdkft"}, "FRAMEWORK: is not a supported framework (given 'cdkft'). Fix: set it to one of cdktf, cdktn"),
        ({"TF_AWS_PROVIDER_VERSION": "latest"}, "TF_AWS_PROVIDER_VERSION: is not a Terraform version constraint (given 'latest')"),
    ],
)
def test_python_main_refuses_a_bad_switch_with_one_clear_line_and_exit_2(env, expected):
    result = run_python("import sys, main; sys.exit(main.main())", {"ENVIRONMENT_SUFFIX": "dev", **env})
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_framework_that_is_not_installed_says_how_to_install_it():
    # Hide the cdktn package from this interpreter, as on a machine that only ran `make synth`.
    code = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'cdktn' or name.startswith('cdktn.'): raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "import main; sys.exit(main.main())\n"
    )
    result = run_python(code, {"FRAMEWORK": "cdktn", "ENVIRONMENT_SUFFIX": "dev"})
    assert result.returncode == 2, result.stderr
    assert "FRAMEWORK: selects CDK Terrain" in result.stderr and "make synth FRAMEWORK=cdktn" in result.stderr
    assert "Traceback" not in result.stderr
