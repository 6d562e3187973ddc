"""The one place that imports the synthesis framework: CDKTF (``cdktf``) or CDK Terrain (``cdktn``), plus ``constructs``.

HashiCorp archived CDKTF in December 2025 (0.21 is its last release); the community fork
CDK Terrain ships the same API under new package names. ``FRAMEWORK=cdktf|cdktn`` picks
one (``constructs_lib.support.framework_choice``, default cdktf); everything else in the project
imports the framework's classes from here, so the switch changes no other module.
"""

from __future__ import annotations

import importlib
import re
import struct
from typing import TYPE_CHECKING

from constructs_lib.support.framework_choice import FRAMEWORK_ENV_VAR, selected_framework
from constructs_lib.support.jsii_env import prepare_jsii_environment
from pipeline_config.errors import ConfigError, ConfigProblem

# Before the first framework import: that import starts the jsii kernel (a node child
# process), which inherits the environment prepared here.
prepare_jsii_environment()

#: The framework this process synthesizes with (``FRAMEWORK``; see framework_choice.py).
FRAMEWORK = selected_framework()

_NAMES = (
    "App",
    "AssetType",
    "CloudBackend",
    "Fn",
    "LocalBackend",
    "NamedCloudWorkspace",
    "S3Backend",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Token",
)


def import_framework_module(module_name: str):
    """Import one of the framework's packages, or raise ConfigError saying how to install it."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name.split(".")[0]:
            raise  # a broken installation, not a missing one: keep the real traceback
        raise ConfigError(
            [
                ConfigProblem(
                    FRAMEWORK_ENV_VAR,
                    FRAMEWORK.name,
                    f"selects {FRAMEWORK.description}, but its Python package '{error.name}' is not installed in this environment",
                    f"run 'make synth FRAMEWORK={FRAMEWORK.name}' (installs the Pipfile category [{FRAMEWORK.pipfile_category}] into .venv/), "
                    f"or 'pipenv sync --categories \"packages {FRAMEWORK.pipfile_category}\"'",
                )
            ],
            context="framework selection",
        ) from None


_core = import_framework_module(FRAMEWORK.core_module)
globals().update({name: getattr(_core, name) for name in _NAMES})
if TYPE_CHECKING:
    # mypy cannot follow the globals() update: it reads the default framework's types (CDK
    # Terrain has the same API). A name missing here fails `make lint` where it is used; a
    # name here but not in _NAMES fails the first import, so the two lists cannot drift apart.
    # "X as X": an explicit re-export (the names are used by other modules, not here).
    from cdktf import (
        App as App,
        AssetType as AssetType,
        CloudBackend as CloudBackend,
        Fn as Fn,
        LocalBackend as LocalBackend,
        NamedCloudWorkspace as NamedCloudWorkspace,
        S3Backend as S3Backend,
        TerraformAsset as TerraformAsset,
        TerraformOutput as TerraformOutput,
        TerraformResourceLifecycle as TerraformResourceLifecycle,
        TerraformStack as TerraformStack,
        Token as Token,
    )
from constructs import Construct  # noqa: E402 -- after prepare_jsii_environment(): this import starts the jsii kernel

__all__ = [*_NAMES, "Construct", "FRAMEWORK", "import_framework_module", "is_unresolved"]  # noqa: PLE0604 -- _NAMES holds strings; one list of the framework names


# The framework's own token encodings (lib/tokens/private/encoding.js, identical in cdktf
# 0.21 and cdktn 0.24): a string token is "${TfToken[<key>]}" and a number token is a
# double whose top 16 bits are 0xFDFF. Checking them here saves a jsii round trip per
# check (~160 per synth of the three stacks); anything else (lists, maps, IResolvable
# objects) still asks the framework. A test pins this to Token.is_unresolved under both.
_STRING_TOKEN = re.compile(r"\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}")
_DOUBLE_TOKEN_MARKER_BITS = 0xFDFF0000


def is_unresolved(value: object) -> bool:
    """True when ``value`` is a token (known only at apply time); validation skips those."""
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
