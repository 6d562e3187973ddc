"""Session-wide fixtures: the app is synthesized ONCE per test session."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
for path in (str(ROOT), str(HANDLERS)):
    if path not in sys.path:
        sys.path.insert(0, path)

# Tests never talk to AWS: fake credentials and a region, before boto3 is imported.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

# This session holds the Lambda package twice on purpose: unit tests import handlers.orders_core (and,
# through handlers/ on sys.path, orders_core), e2e tests run local pipelines on orders_core. Production
# processes may not (tests/test_one_handler_copy.py proves it in subprocesses).
from local_pipeline.handler_loading import allow_both_copies  # noqa: E402  # after sys.path and the fake credentials are set

allow_both_copies("the pytest session: unit tests and local pipelines in one process")


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """Synthesize every environment's stack once; return the cdktf.out-like directory."""
    from main import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    environ = {k: v for k, v in os.environ.items() if k != "ENVIRONMENT_SUFFIX"}
    app = build_app(outdir=str(outdir), environ=environ)
    app.synth()
    return outdir


#: Review environments, synthesized the way the PR workflow does (ENVIRONMENT_SUFFIX=pr-N).
REVIEW_SUFFIXES = ("pr-1", "pr-2")


def synth_with(tmp_path_factory, environ_extra: dict[str, str], context: dict | None = None) -> dict[str, dict]:
    """Synthesize what ``make synth`` writes with these extra variables (and cdktf.json's context, or ``context``)."""
    from main import build_app
    from pipeline_config.context import read_context
    from pipeline_config.selection import select_stacks

    environ = {**{k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT_SUFFIX", "CDKTF_CONTEXT_JSON")}, **environ_extra}
    selection = select_stacks(environ, context if context is not None else read_context(environ))
    outdir = tmp_path_factory.mktemp("synth")
    build_app(outdir=str(outdir), environ=environ, selection=selection).synth()
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted((outdir / "stacks").iterdir())}


@pytest.fixture(scope="session")
def review_stacks(tmp_path_factory) -> dict[str, dict]:
    """Two review stacks (``orders-pr-1``, ``orders-pr-2``), by name."""
    docs: dict[str, dict] = {}
    for suffix in REVIEW_SUFFIXES:
        docs.update(synth_with(tmp_path_factory, {"ENVIRONMENT_SUFFIX": suffix}))
    return docs


@pytest.fixture(scope="session")
def all_stacks(synth_dir) -> dict[str, dict]:
    """Every synthesized stack, by name: the environments and ``orders-account-<region>``."""
    out = {}
    for stack_dir in sorted((synth_dir / "stacks").iterdir()):
        out[stack_dir.name] = json.loads((stack_dir / "cdk.tf.json").read_text())
    return out


@pytest.fixture(scope="session")
def stacks(all_stacks) -> dict[str, dict]:
    """The environment stacks, by name (``orders-dev``, ``orders-staging``, ``orders-prod``)."""
    from pipeline_config.naming import is_reserved_suffix

    return {name: doc for name, doc in all_stacks.items() if not is_reserved_suffix(name.removeprefix("orders-"))}


@pytest.fixture(scope="session")
def account_stack(all_stacks) -> dict:
    """The account-level stack of the default region, ``orders-account-us-east-1``, parsed."""
    return all_stacks["orders-account-us-east-1"]


@pytest.fixture(scope="session")
def dev(stacks) -> dict:
    """The dev stack's cdk.tf.json, parsed."""
    return stacks["orders-dev"]


@pytest.fixture(scope="session")
def prod(stacks) -> dict:
    """The prod stack's cdk.tf.json, parsed."""
    return stacks["orders-prod"]
