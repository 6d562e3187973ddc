"""Attach the Terraform state backend the configuration resolved (``pipeline_config.backend``) to a stack."""

from __future__ import annotations

from pipeline_config.backend import DEFAULT_CLOUD_HOSTNAME, BackendSettings
from pipeline_config.errors import ConfigError, ConfigProblem


def configure_backend(stack, *, stack_name: str, region: str, settings: BackendSettings) -> BackendSettings:
    """Attach ``settings`` (resolved and validated before any stack is built) to ``stack`` (named ``stack_name``, in ``region``)."""
    # Imported here so this module stays importable without starting jsii.
    from constructs_lib.support.framework import CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend

    if settings.kind == "local":
        path = settings.local_state_path(stack_name)
        if path is not None:
            LocalBackend(stack, path=path)
    elif settings.kind == "s3":
        S3Backend(
            stack,
            bucket=_required(settings.s3_bucket, "TF_STATE_BUCKET", settings.kind),
            key=settings.state_key(stack_name),
            region=settings.s3_region or region,
            encrypt=True,
            kms_key_id=settings.s3_kms_key_id,
            dynamodb_table=settings.s3_lock_table,
        )
        if settings.s3_use_lockfile:
            # cdktf 0.21's S3Backend predates Terraform 1.10's S3-native locking.
            stack.add_override("terraform.backend.s3.use_lockfile", True)
    else:
        CloudBackend(
            stack,
            organization=_required(settings.cloud_organization, "TF_CLOUD_ORGANIZATION", settings.kind),
            hostname=None if settings.cloud_hostname == DEFAULT_CLOUD_HOSTNAME else settings.cloud_hostname,
            workspaces=NamedCloudWorkspace(stack_name, settings.cloud_project),
        )
    return settings


def _required(value: str | None, variable: str, kind: str) -> str:
    # backend_settings_from_env never leaves these out; BackendSettings built by hand may.
    if value is None:
        problem = ConfigProblem(variable, None, f"is required when TF_STATE_BACKEND={kind}", f"set {variable} (or build the settings with backend_settings_from_env)")
        raise ConfigError([problem], context="Terraform state backend configuration")
    return value
