"""The one place that imports the CDKTF framework (``cdktf`` and ``constructs``).

HashiCorp archived CDKTF in December 2025 (0.21 is its last release); the
community fork CDK Terrain ships the same API under new package names. Keeping
every framework import here makes that move a one-file change.
"""

from __future__ import annotations

import re
import struct

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


# cdktf's own token encodings (cdktf/lib/tokens/private/encoding.js, 0.21): a string token is
# "${TfToken[<key>]}" and a number token is a double whose top 16 bits are 0xFDFF. Checking
# them here saves a jsii round trip per check (~160 per synth of the three stacks); anything
# else (lists, maps, IResolvable objects) still asks cdktf. A test pins this to Token.is_unresolved.
_STRING_TOKEN = re.compile(r"\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}")
_DOUBLE_TOKEN_MARKER_BITS = 0xFDFF0000


def is_unresolved(value: object) -> bool:
    """True when ``value`` is a CDKTF token (known only at apply time); validation skips those."""
    if isinstance(value, str):
        return _STRING_TOKEN.search(value) is not None
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, float):
        high_word = struct.unpack("<II", struct.pack("<d", value))[1]
        return (high_word & 0xFFFF0000) == _DOUBLE_TOKEN_MARKER_BITS
    if isinstance(value, int):
        # Encoded tokens are around -1.9e289; only an int that large could be one.
        try:
            return abs(value) > 2**1000 and is_unresolved(float(value))
        except OverflowError:  # beyond any double, so not an encoded token
            return False
    return bool(Token.is_unresolved(value))
