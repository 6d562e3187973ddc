"""Which synthesis framework this process uses (``FRAMEWORK=cdktf|cdktn``), and which AWS provider it pins.

Pure Python on purpose: the Makefile, bench/ and the tests read it without starting jsii,
and ``framework.py`` / ``provider.py`` read it before their first framework import.

* **cdktf** (default): HashiCorp's CDKTF 0.21, archived in December 2025, with the prebuilt
  AWS bindings 21.22.1 (AWS provider 6.25.0).
* **cdktn**: CDK Terrain, the community fork, with ``cdktn-provider-aws`` 25.8.1 (AWS
  provider 6.69.1). Module and class names are the same as CDKTF's.

Both synthesize the same Terraform because the stack pins the AWS provider to one version
(``TF_AWS_PROVIDER_VERSION``, default :data:`PINNED_AWS_PROVIDER_VERSION`) instead of
taking whatever the installed bindings were generated from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_config.errors import ConfigError, ConfigProblem

FRAMEWORK_ENV_VAR = "FRAMEWORK"
DEFAULT_FRAMEWORK = "cdktf"
PROVIDER_VERSION_ENV_VAR = "TF_AWS_PROVIDER_VERSION"
#: The AWS provider every synth pins unless told otherwise: what the default framework's
#: bindings were generated from, so switching framework changes nothing in a plan.
PINNED_AWS_PROVIDER_VERSION = "6.25.0"
#: The provider source as the default framework writes it (``aws`` = registry.terraform.io/hashicorp/aws).
PINNED_AWS_PROVIDER_SOURCE = "aws"
#: ``TF_AWS_PROVIDER_VERSION=bindings`` keeps what the installed bindings declare (6.69.1 on cdktn).
FROM_BINDINGS = "bindings"
# One Terraform version constraint or a comma-separated list of them: "6.69.1", "~> 6.69", ">= 6.25, < 7".
_CONSTRAINT = r"\s*(?:(?:=|!=|>=|<=|>|<|~>)\s*)?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.]+)?\s*"
_VERSION_CONSTRAINTS = re.compile(rf"^{_CONSTRAINT}(?:,{_CONSTRAINT})*$")


@dataclass(frozen=True, kw_only=True)
class Framework:
    """One supported framework: its Python modules, its Pipfile category and its npm CLI."""

    name: str
    #: The framework's core Python module (``App``, ``TerraformStack``, ...).
    core_module: str
    #: The prebuilt AWS provider bindings' Python package.
    provider_module: str
    #: The Pipfile category that installs both (``make synth FRAMEWORK=<name>`` syncs it).
    pipfile_category: str
    #: The npm CLI package (package.json) and the command it installs in node_modules/.bin.
    cli_package: str
    cli_command: str
    #: What the ``"//"`` metadata and the README call it.
    description: str


FRAMEWORKS: dict[str, Framework] = {
    "cdktf": Framework(
        name="cdktf",
        core_module="cdktf",
        provider_module="cdktf_cdktf_provider_aws",
        pipfile_category="cdktf",
        cli_package="cdktf-cli",
        cli_command="cdktf",
        description="CDKTF 0.21 (HashiCorp, archived December 2025)",
    ),
    "cdktn": Framework(
        name="cdktn",
        core_module="cdktn",
        provider_module="cdktn_provider_aws",
        pipfile_category="cdktn",
        cli_package="cdktn-cli",
        cli_command="cdktn",
        description="CDK Terrain 0.24 (community fork of CDKTF)",
    ),
}


def selected_framework(environ: Mapping[str, str] | None = None) -> Framework:
    """The framework ``FRAMEWORK`` names (default cdktf); an unknown name is a ConfigError."""
    environ = os.environ if environ is None else environ
    value = environ.get(FRAMEWORK_ENV_VAR, "").strip().lower() or DEFAULT_FRAMEWORK
    if value not in FRAMEWORKS:
        raise ConfigError(
            [ConfigProblem(FRAMEWORK_ENV_VAR, environ.get(FRAMEWORK_ENV_VAR), "is not a supported framework", f"set it to one of {', '.join(FRAMEWORKS)} (default {DEFAULT_FRAMEWORK}), or unset it")],
            context="framework selection",
        )
    return FRAMEWORKS[value]


@dataclass(frozen=True)
class ProviderRequirement:
    """What ``terraform.required_providers.aws`` must say, whatever the bindings wrote."""

    source: str
    version: str


def aws_provider_requirement(environ: Mapping[str, str] | None = None) -> ProviderRequirement | None:
    """The AWS provider pin to write, or None to keep the bindings' own (``TF_AWS_PROVIDER_VERSION=bindings``)."""
    environ = os.environ if environ is None else environ
    value = environ.get(PROVIDER_VERSION_ENV_VAR, "").strip()
    if not value:
        return ProviderRequirement(PINNED_AWS_PROVIDER_SOURCE, PINNED_AWS_PROVIDER_VERSION)
    if value.lower() == FROM_BINDINGS:
        return None
    if not _VERSION_CONSTRAINTS.match(value):
        raise ConfigError(
            [
                ConfigProblem(
                    PROVIDER_VERSION_ENV_VAR,
                    value,
                    "is not a Terraform version constraint",
                    f"give a version or constraint such as '6.69.1' or '~> 6.69', '{FROM_BINDINGS}' for the version the installed bindings were generated from, or unset it for {PINNED_AWS_PROVIDER_VERSION}",
                )
            ],
            context="AWS provider version",
        )
    return ProviderRequirement(PINNED_AWS_PROVIDER_SOURCE, value)
