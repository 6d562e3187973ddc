"""The one place that imports the CDKTF framework (``cdktf`` and ``constructs``).

HashiCorp archived CDKTF in December 2025 (0.21 is its last release); the
community fork CDK Terrain ships the same API under new package names. Keeping
every framework import here makes that move a one-file change.
"""

from __future__ import annotations

from constructs_lib.jsii_env import prepare_jsii_environment

# Before the first cdktf import: that import starts the jsii kernel (a node child process),
# which inherits the environment prepared here.
prepare_jsii_environment()

from cdktf import (  # noqa: E402  (the environment must be set before jsii starts)
    App,
    AssetType,
    CloudBackend,
    Fn,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    TerraformAsset,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    Token,
)
from constructs import Construct  # noqa: E402

__all__ = [
    "App",
    "AssetType",
    "CloudBackend",
    "Construct",
    "Fn",
    "LocalBackend",
    "NamedCloudWorkspace",
    "S3Backend",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Token",
    "is_unresolved",
]


def is_unresolved(value: object) -> bool:
    """True when ``value`` is a CDKTF token (known only at apply time); validation skips those."""
    return isinstance(value, str) and Token.is_unresolved(value)
