"""State backends: settings parsed from the environment, and the synthesized ``terraform`` block."""

from __future__ import annotations

import json
import os

import pytest

from pipeline_config import ConfigError
from pipeline_config.backend import BackendSettings, backend_settings_from_env

SECRET_KEY = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"
TFC_TOKEN = "abcDEF123.atlasv1.SECRETTOKENVALUE0123456789"


def _synth(tmp_path_factory, extra: dict[str, str]) -> tuple[dict, str]:
    """Synthesize orders-dev with ``extra`` in the environment; return (doc, raw text)."""
    from main import build_app

    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TF_STATE_", "TF_CLOUD_"))},
        "ENVIRONMENT_SUFFIX": "dev",
        # Credentials a CI job would have in its environment: they must never reach the JSON.
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "TF_TOKEN_app_terraform_io": TFC_TOKEN,
        **extra,
    }
    outdir = tmp_path_factory.mktemp("backend")
    app = build_app(outdir=str(outdir), environ=environ)
    app.synth()
    stack_dirs = sorted((outdir / "stacks").iterdir())
    assert [d.name for d in stack_dirs] == ["orders-dev"]
    text = (stack_dirs[0] / "cdk.tf.json").read_text()
    return json.loads(text), text


@pytest.fixture(scope="module")
def s3_synth(tmp_path_factory):
    """orders-dev synthesized with the S3 backend (lock file locking)."""
    return _synth(
        tmp_path_factory,
        {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "acme-terraform-state", "TF_STATE_REGION": "eu-west-1", "TF_STATE_KEY_PREFIX": "/teams/orders/"},
    )


@pytest.fixture(scope="module")
def cloud_synth(tmp_path_factory):
    """orders-dev synthesized with the HCP Terraform backend."""
    return _synth(tmp_path_factory, {"TF_STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "TF_CLOUD_PROJECT": "orders"})


# ---------------------------------------------------------------------------- synthesized JSON
def test_default_is_local_state(dev):
    assert set(dev["terraform"]["backend"]) == {"local"}
    assert dev["terraform"]["backend"]["local"]["path"].endswith("terraform.orders-dev.tfstate")
    assert "cloud" not in dev["terraform"]


def test_s3_backend_keys_state_per_stack_encrypts_and_locks(s3_synth):
    doc, _ = s3_synth
    backend = doc["terraform"]["backend"]
    assert set(backend) == {"s3"}
    s3 = backend["s3"]
    assert s3["bucket"] == "acme-terraform-state"
    assert s3["key"] == "teams/orders/orders-dev/terraform.tfstate"
    assert s3["region"] == "eu-west-1"
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True
    assert "dynamodb_table" not in s3


def test_cloud_backend_uses_one_named_workspace_per_stack(cloud_synth):
    doc, _ = cloud_synth
    assert "backend" not in doc["terraform"]
    cloud = doc["terraform"]["cloud"]
    assert cloud["organization"] == "acme"
    assert cloud["workspaces"] == {"name": "orders-dev", "project": "orders"}
    assert "token" not in cloud


@pytest.mark.parametrize("which", ["s3_synth", "cloud_synth"])
def test_no_credentials_in_synthesized_json(which, request):
    doc, text = request.getfixturevalue(which)
    for secret in (SECRET_KEY, SESSION_TOKEN, TFC_TOKEN):
        assert secret not in text
    backend_block = json.dumps(doc["terraform"])
    for key in ('"access_key"', '"secret_key"', '"token"', '"sse_customer_key"'):
        assert key not in backend_block


def test_dynamodb_lock_table_and_kms_key_are_passed_through(tmp_path):
    """A bare stack is enough to check the lock-table variant (no second full synth)."""
    from constructs_lib.support.framework import App, TerraformStack
    from pipeline_config.environments import config_for
    from stacks.backends import configure_backend

    config = config_for("staging")
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, config.names.stack)
    configure_backend(
        stack,
        stack_name=config.names.stack,
        region=config.region,
        settings=backend_settings_from_env(
            {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "acme-state", "TF_STATE_LOCK_TABLE": "terraform-locks", "TF_STATE_S3_LOCKFILE": "false", "TF_STATE_KMS_KEY_ID": "alias/terraform-state"}
        ),
    )
    app.synth()
    s3 = json.loads((tmp_path / "stacks" / "orders-staging" / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
    assert s3["dynamodb_table"] == "terraform-locks"
    assert "use_lockfile" not in s3
    assert s3["kms_key_id"] == "alias/terraform-state"
    assert s3["key"] == "order-pipeline/orders-staging/terraform.tfstate"
    assert s3["region"] == config.region  # defaults to the stack's region


def test_local_path_gives_every_stack_its_own_absolute_state_file(tmp_path, monkeypatch):
    """Two stacks sharing a state file would plan against each other's resources."""
    from constructs_lib.support.framework import App, TerraformStack
    from pipeline_config.environments import config_for
    from stacks.backends import configure_backend

    monkeypatch.chdir(tmp_path)
    app = App(outdir=str(tmp_path / "out"))
    for suffix in ("dev", "prod"):
        config = config_for(suffix)
        configure_backend(
            TerraformStack(app, config.names.stack), stack_name=config.names.stack, region=config.region, settings=backend_settings_from_env({"TF_STATE_LOCAL_PATH": "state/terraform.{stack}.tfstate"})
        )
    app.synth()
    paths = {name: json.loads((tmp_path / "out" / "stacks" / name / "cdk.tf.json").read_text())["terraform"]["backend"]["local"]["path"] for name in ("orders-dev", "orders-prod")}
    # Relative to where synth runs, not to cdktf.out/stacks/<stack> (which `make clean` deletes).
    assert paths == {name: str(tmp_path / "state" / f"terraform.{name}.tfstate") for name in paths}


def test_local_path_without_stack_placeholder_is_rejected():
    with pytest.raises(ConfigError) as error:
        backend_settings_from_env({"TF_STATE_LOCAL_PATH": "state/terraform.tfstate"})
    message = str(error.value)
    assert "TF_STATE_LOCAL_PATH" in message and "'state/terraform.tfstate'" in message and "{stack}" in message


def test_bad_backend_settings_stop_build_app(monkeypatch):
    from main import build_app

    # Through the environ argument...
    with pytest.raises(ConfigError, match="TF_STATE_BUCKET"):
        build_app(outdir=None, environ={"ENVIRONMENT_SUFFIX": "dev", "TF_STATE_BACKEND": "s3"})
    # ...and through the process environment, which is what `cdktf synth` gives main.py.
    monkeypatch.setenv("TF_STATE_BACKEND", "s3")
    monkeypatch.delenv("TF_STATE_BUCKET", raising=False)
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    with pytest.raises(ConfigError, match="TF_STATE_BUCKET"):
        build_app(outdir=None)


# ---------------------------------------------------------------------------- pure settings
def test_unset_means_local():
    assert backend_settings_from_env({}) == BackendSettings()
    assert backend_settings_from_env({"TF_STATE_BACKEND": " Local "}).kind == "local"


@pytest.mark.parametrize("alias", ["hcp", "TFC", "cloud"])
def test_cloud_aliases(alias):
    settings = backend_settings_from_env({"TF_STATE_BACKEND": alias, "TF_CLOUD_ORGANIZATION": "acme"})
    assert settings.kind == "cloud"
    assert settings.cloud_token_env_var == "TF_TOKEN_app_terraform_io"


def test_token_variable_follows_terraform_host_naming():
    settings = backend_settings_from_env({"TF_STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "TF_CLOUD_HOSTNAME": "tfe.my-corp.example"})
    assert settings.cloud_token_env_var == "TF_TOKEN_tfe_my__corp_example"


def test_unknown_kind_names_variable_value_and_choices():
    with pytest.raises(ConfigError) as error:
        backend_settings_from_env({"TF_STATE_BACKEND": "gcs"})
    message = str(error.value)
    assert "TF_STATE_BACKEND" in message and "'gcs'" in message and "s3" in message and "cloud" in message


def test_every_s3_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        backend_settings_from_env({"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "s3://Acme_State", "TF_STATE_REGION": "europe", "TF_STATE_KEY_PREFIX": "a/../b", "TF_STATE_LOCK_TABLE": "x"})
    settings = [p.setting for p in error.value.problems]
    assert settings == ["TF_STATE_BUCKET", "TF_STATE_REGION", "TF_STATE_KEY_PREFIX", "TF_STATE_LOCK_TABLE"]
    assert "'s3://Acme_State'" in str(error.value)


def test_missing_bucket_and_disabled_lock_are_errors():
    with pytest.raises(ConfigError) as error:
        backend_settings_from_env({"TF_STATE_BACKEND": "s3", "TF_STATE_S3_LOCKFILE": "false"})
    assert [p.setting for p in error.value.problems] == ["TF_STATE_BUCKET", "TF_STATE_S3_LOCKFILE"]


def test_lockfile_flag_must_be_boolean():
    with pytest.raises(ConfigError, match=r"TF_STATE_S3_LOCKFILE.*must be true or false"):
        backend_settings_from_env({"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "acme-state", "TF_STATE_S3_LOCKFILE": "maybe"})


def test_cloud_needs_an_organization_and_a_bare_hostname():
    with pytest.raises(ConfigError) as error:
        backend_settings_from_env({"TF_STATE_BACKEND": "cloud", "TF_CLOUD_HOSTNAME": "https://app.terraform.io"})
    assert [p.setting for p in error.value.problems] == ["TF_CLOUD_ORGANIZATION", "TF_CLOUD_HOSTNAME"]


# ---------------------------------------------------------------------------- per-stack selection
def test_each_stack_is_its_own_deployable_directory(synth_dir, stacks, all_stacks):
    """`cdktf deploy orders-dev` picks a stack from manifest.json: each needs its own directory, state and assets."""
    from pipeline_config.environments import ENVIRONMENTS
    from pipeline_config.naming import account_stack_name, stack_name

    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    environments = {stack_name(suffix) for suffix in ENVIRONMENTS}
    assert environments == set(stacks)
    assert set(manifest) == environments | {account_stack_name("us-east-1")} == set(all_stacks)
    for name, entry in manifest.items():
        assert entry["workingDirectory"] == f"stacks/{name}"
        assert entry["synthesizedStackPath"] == f"stacks/{name}/cdk.tf.json"
        assert entry["dependencies"] == []  # deploying one never drags in another
        if name in environments:
            assert any((synth_dir / "stacks" / name / "assets").iterdir())  # the Lambda package travels with it
    state_files = {all_stacks[name]["terraform"]["backend"]["local"]["path"] for name in manifest}
    assert len(state_files) == len(manifest)


def test_a_bad_backend_setting_is_listed_with_every_other_configuration_problem():
    """Settled before any stack is built: one ConfigError, the backend's problems beside the rest."""
    from pipeline_config import ConfigError
    from pipeline_config.selection import select_stacks

    environ = {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "Bad_Bucket", "TF_STATE_REGION": "moon-1"}
    with pytest.raises(ConfigError) as raised:
        select_stacks(environ, {"orderPipeline": {"dev": {"log_retention_days": 8}}})
    settings = [p.setting for p in raised.value.problems]
    assert {"TF_STATE_BUCKET", "TF_STATE_REGION", "log_retention_days", "alarm_email"} <= set(settings), settings


def test_the_selection_carries_the_resolved_backend_to_the_stacks():
    from pipeline_config.selection import select_stacks

    selection = select_stacks({"TF_STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "ENVIRONMENT_SUFFIX": "dev"}, {})
    assert selection.backend == BackendSettings(kind="cloud", cloud_organization="acme")
