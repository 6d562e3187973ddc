"""The one place that imports the CDKTF framework (``cdktf`` and ``constructs``).

HashiCorp archived CDKTF in December 2025 (0.21 is its last release); the
community fork CDK Terrain ships the same API under new package names. Keeping
every framework import here makes that move a one-file change.
"""

from __future__ import annotations

import os

# jsii prints a large banner on Node versions it has end-of-lifed (20) or not yet
# tested (22+). It is noise in synth output and CI logs, never actionable here.
# setdefault: a user who wants the banner back sets the variable to "" or 0.
for _var, _value in (
    ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"),
    ("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1"),
    ("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1"),
):
    os.environ.setdefault(_var, _value)

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
