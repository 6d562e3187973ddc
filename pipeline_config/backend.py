"""Terraform state backend of the stacks, chosen by environment variables (read and validated with the rest of the configuration).

``TF_STATE_BACKEND`` picks the kind (default ``local``):

* ``local``: cdktf's default local state file, ``terraform.<stack>.tfstate`` in the
  project root. ``TF_STATE_LOCAL_PATH`` overrides the path; it must contain ``{stack}``
  (every stack needs its own state file), and a relative path is taken from the
  directory synth runs in (not from ``cdktf.out``, which ``make clean`` deletes).
  Fine for one person.
* ``s3``: ``TF_STATE_BUCKET`` (required), ``TF_STATE_REGION`` (default: the stack's
  region), ``TF_STATE_KEY_PREFIX`` (default ``order-pipeline``) giving the key
  ``<prefix>/<stack>/terraform.tfstate``, ``TF_STATE_KMS_KEY_ID`` (optional SSE-KMS key).
  State is always encrypted. Locking uses S3's native lock file (``use_lockfile``,
  Terraform >= 1.10) unless ``TF_STATE_S3_LOCKFILE=false``; ``TF_STATE_LOCK_TABLE``
  adds a DynamoDB lock table (both may be on while migrating from one to the other).
* ``cloud``: HCP Terraform / Terraform Enterprise, one workspace per stack named after
  it. ``TF_CLOUD_ORGANIZATION`` (required), ``TF_CLOUD_PROJECT`` and
  ``TF_CLOUD_HOSTNAME`` (default ``app.terraform.io``) are Terraform's own variable
  names. The token is read by Terraform itself from ``TF_TOKEN_<host>``
  (``TF_TOKEN_app_terraform_io``); it never goes into code or the synthesized JSON.

Credentials are never read here: the S3 backend takes them from the standard AWS
credential chain (in CI: the OIDC-assumed role) when Terraform runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_config.errors import ConfigError, ConfigProblem

BACKEND_ENV_VAR = "TF_STATE_BACKEND"
BACKEND_KINDS = ("local", "s3", "cloud")
# Accepted spellings of the kinds, so `TF_STATE_BACKEND=hcp` does what its user meant.
_KIND_ALIASES = {"": "local", "local": "local", "s3": "s3", "cloud": "cloud", "hcp": "cloud", "tfc": "cloud", "remote": "cloud"}
DEFAULT_KEY_PREFIX = "order-pipeline"
#: Replaced by the stack name in ``TF_STATE_LOCAL_PATH``.
STACK_PLACEHOLDER = "{stack}"
DEFAULT_CLOUD_HOSTNAME = "app.terraform.io"

# S3 general-purpose bucket names: 3-63 lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_KEY_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_DYNAMODB_TABLE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_CLOUD_ORG_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, kw_only=True)
class BackendSettings:
    """Where and how one environment keeps its Terraform state (validated)."""

    kind: str = "local"
    """``local``, ``s3`` or ``cloud``. Left out: local state."""
    local_path: str | None = None
    """Local state file template holding ``{stack}``. ``None``: cdktf's default ``terraform.<stack>.tfstate`` in the project root."""
    s3_bucket: str | None = None
    """State bucket (S3 only; required there)."""
    s3_region: str | None = None
    """Region of the state bucket. ``None``: the stack's region."""
    s3_key_prefix: str = DEFAULT_KEY_PREFIX
    """Key prefix; the state key is ``<prefix>/<stack>/terraform.tfstate``."""
    s3_kms_key_id: str | None = None
    """KMS key for SSE-KMS of the state object. ``None``: the bucket's default encryption (still encrypted)."""
    s3_use_lockfile: bool = True
    """S3-native state locking (Terraform >= 1.10). Turn off only for older Terraform with a lock table."""
    s3_lock_table: str | None = None
    """DynamoDB lock table. ``None``: no table (the lock file does the locking)."""
    cloud_organization: str | None = None
    """HCP Terraform organization (cloud only; required there)."""
    cloud_hostname: str = DEFAULT_CLOUD_HOSTNAME
    """HCP Terraform / Terraform Enterprise host."""
    cloud_project: str | None = None
    """HCP Terraform project of the workspaces. ``None``: the organization's default project."""

    def local_state_path(self, stack_name: str) -> str | None:
        """One stack's absolute local state file, or ``None`` for cdktf's default."""
        if self.local_path is None:
            return None
        # Terraform resolves a relative path from the stack's directory inside cdktf.out,
        # where `make clean` would delete the state: anchor it where synth runs instead.
        return os.path.abspath(self.local_path.replace(STACK_PLACEHOLDER, stack_name))

    def state_key(self, stack_name: str) -> str:
        """The S3 object key of one stack's state."""
        return f"{self.s3_key_prefix}/{stack_name}/terraform.tfstate"

    @property
    def cloud_token_env_var(self) -> str:
        """The variable Terraform reads the HCP Terraform token from (e.g. ``TF_TOKEN_app_terraform_io``)."""
        return terraform_token_env_var(self.cloud_hostname)


def terraform_token_env_var(hostname: str) -> str:
    """Terraform's variable for a host's API token: ``TF_TOKEN_`` + the host with ``-`` as ``__`` and ``.`` as ``_``."""
    return "TF_TOKEN_" + hostname.replace("-", "__").replace(".", "_")


def _flag(environ: Mapping[str, str], name: str, default: bool, problems: list[ConfigProblem]) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    problems.append(ConfigProblem(name, raw, "must be true or false", f"set {name}=true or {name}=false, or unset it"))
    return default


def _opt(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value.strip() if value is not None and value.strip() != "" else None


def backend_settings_from_env(environ: Mapping[str, str] | None = None) -> BackendSettings:
    """Read and validate the ``TF_STATE_*`` / ``TF_CLOUD_*`` variables; ``ConfigError`` with every problem at once."""
    settings, problems = read_backend(os.environ if environ is None else environ)
    if problems:
        raise ConfigError(problems, context="Terraform state backend configuration")
    return settings


def read_backend(environ: Mapping[str, str]) -> tuple[BackendSettings, list[ConfigProblem]]:
    """The backend the ``TF_STATE_*`` / ``TF_CLOUD_*`` variables choose, and every problem with them.

    ``pipeline_config.selection`` calls this with the rest of the configuration, so a bad backend
    setting is listed with every other problem, before anything is built. The settings returned
    alongside problems are the defaults and must not be used.
    """
    problems: list[ConfigProblem] = []
    raw_kind = environ.get(BACKEND_ENV_VAR, "")
    kind = _KIND_ALIASES.get(raw_kind.strip().lower())
    if kind is None:
        return BackendSettings(), [ConfigProblem(BACKEND_ENV_VAR, raw_kind, f"is not a state backend ({', '.join(BACKEND_KINDS)})", f"set {BACKEND_ENV_VAR} to local (default), s3 or cloud")]

    if kind == "local":
        local_path = _opt(environ, "TF_STATE_LOCAL_PATH")
        if local_path is not None and STACK_PLACEHOLDER not in local_path:
            # One path for every stack would make orders-prod plan against orders-dev's state.
            problems.append(
                ConfigProblem(
                    "TF_STATE_LOCAL_PATH",
                    local_path,
                    f"must contain {STACK_PLACEHOLDER}, so each stack keeps its own state file",
                    f"use e.g. 'state/terraform.{STACK_PLACEHOLDER}.tfstate', or unset it",
                )
            )
            return BackendSettings(), problems
        return BackendSettings(kind="local", local_path=local_path), problems

    if kind == "s3":
        bucket = _opt(environ, "TF_STATE_BUCKET")
        if bucket is None:
            problems.append(
                ConfigProblem("TF_STATE_BUCKET", environ.get("TF_STATE_BUCKET"), "is required when TF_STATE_BACKEND=s3", "set TF_STATE_BUCKET to the name of an existing, versioned state bucket")
            )
        elif not _BUCKET_PATTERN.match(bucket) or ".." in bucket:
            problems.append(
                ConfigProblem(
                    "TF_STATE_BUCKET",
                    bucket,
                    "is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
                    "give the bucket name only, e.g. 'acme-terraform-state' (no s3:// or ARN)",
                )
            )
        region = _opt(environ, "TF_STATE_REGION")
        if region is not None and not _REGION_PATTERN.match(region):
            problems.append(ConfigProblem("TF_STATE_REGION", region, "is not an AWS region name", "use the bucket's region, e.g. 'us-east-1', or unset it to use the stack's region"))
        prefix = environ.get("TF_STATE_KEY_PREFIX")
        prefix = DEFAULT_KEY_PREFIX if prefix is None or prefix.strip() == "" else prefix.strip().strip("/")
        if not _KEY_PREFIX_PATTERN.match(prefix) or any(part in (".", "..") for part in prefix.split("/")):
            problems.append(
                ConfigProblem(
                    "TF_STATE_KEY_PREFIX", environ.get("TF_STATE_KEY_PREFIX"), "must be slash-separated segments of letters, digits and !_.*'()-", f"use e.g. '{DEFAULT_KEY_PREFIX}' or 'team/orders'"
                )
            )
        lock_table = _opt(environ, "TF_STATE_LOCK_TABLE")
        if lock_table is not None and not _DYNAMODB_TABLE_PATTERN.match(lock_table):
            problems.append(
                ConfigProblem(
                    "TF_STATE_LOCK_TABLE",
                    lock_table,
                    "is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
                    "give the lock table's name (partition key LockID), or unset it to lock with the S3 lock file",
                )
            )
        use_lockfile = _flag(environ, "TF_STATE_S3_LOCKFILE", True, problems)
        if not use_lockfile and lock_table is None:
            problems.append(
                ConfigProblem(
                    "TF_STATE_S3_LOCKFILE",
                    environ.get("TF_STATE_S3_LOCKFILE"),
                    "turns off the only state lock (no TF_STATE_LOCK_TABLE); concurrent applies could corrupt the state",
                    "leave TF_STATE_S3_LOCKFILE on, or set TF_STATE_LOCK_TABLE",
                )
            )
        if problems:
            return BackendSettings(), problems
        return BackendSettings(
            kind="s3",
            s3_bucket=bucket,
            s3_region=region,
            s3_key_prefix=prefix,
            s3_kms_key_id=_opt(environ, "TF_STATE_KMS_KEY_ID"),
            s3_use_lockfile=use_lockfile,
            s3_lock_table=lock_table,
        ), problems

    organization = _opt(environ, "TF_CLOUD_ORGANIZATION")
    if organization is None:
        problems.append(
            ConfigProblem("TF_CLOUD_ORGANIZATION", environ.get("TF_CLOUD_ORGANIZATION"), "is required when TF_STATE_BACKEND=cloud", "set TF_CLOUD_ORGANIZATION to your HCP Terraform organization name")
        )
    elif not _CLOUD_ORG_PATTERN.match(organization):
        problems.append(ConfigProblem("TF_CLOUD_ORGANIZATION", organization, "is not an organization name (letters, digits, _ and -)", "copy the name from HCP Terraform's organization settings"))
    hostname = _opt(environ, "TF_CLOUD_HOSTNAME") or DEFAULT_CLOUD_HOSTNAME
    if not _HOSTNAME_PATTERN.match(hostname):
        problems.append(ConfigProblem("TF_CLOUD_HOSTNAME", hostname, "is not a host name", f"give the host only, e.g. '{DEFAULT_CLOUD_HOSTNAME}' (no https://), or unset it"))
    if problems:
        return BackendSettings(), problems
    return BackendSettings(kind="cloud", cloud_organization=organization, cloud_hostname=hostname, cloud_project=_opt(environ, "TF_CLOUD_PROJECT")), problems
