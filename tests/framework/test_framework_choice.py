"""``FRAMEWORK`` and ``TF_AWS_PROVIDER_VERSION``: defaults, accepted values and the errors for the rest (pure Python, no jsii)."""

from __future__ import annotations

import pytest

from constructs_lib.support.framework_choice import (
    DEFAULT_FRAMEWORK,
    FRAMEWORKS,
    PINNED_AWS_PROVIDER_VERSION,
    ProviderRequirement,
    aws_provider_requirement,
    selected_framework,
)
from pipeline_config import ConfigError


@pytest.mark.parametrize("value, expected", [(None, "cdktf"), ("", "cdktf"), ("  ", "cdktf"), ("cdktf", "cdktf"), ("cdktn", "cdktn"), ("CDKTN", "cdktn")])
def test_framework_selection(value, expected):
    environ = {} if value is None else {"FRAMEWORK": value}
    assert selected_framework(environ).name == expected
    assert DEFAULT_FRAMEWORK == "cdktf"


def test_an_unknown_framework_names_the_value_and_the_choices():
    with pytest.raises(ConfigError) as caught:
        selected_framework({"FRAMEWORK": "terraform-cdk"})
    assert str(caught.value.problems[0]) == ("FRAMEWORK: is not a supported framework (given 'terraform-cdk'). Fix: set it to one of cdktf, cdktn (default cdktf), or unset it")


def test_each_framework_has_its_own_packages_and_cli():
    cdktf, cdktn = FRAMEWORKS["cdktf"], FRAMEWORKS["cdktn"]
    assert (cdktf.core_module, cdktf.provider_module, cdktf.cli_package) == ("cdktf", "cdktf_cdktf_provider_aws", "cdktf-cli")
    assert (cdktn.core_module, cdktn.provider_module, cdktn.cli_package) == ("cdktn", "cdktn_provider_aws", "cdktn-cli")


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ProviderRequirement("aws", PINNED_AWS_PROVIDER_VERSION)),
        ("", ProviderRequirement("aws", PINNED_AWS_PROVIDER_VERSION)),
        ("bindings", None),
        ("BINDINGS", None),
        ("6.69.1", ProviderRequirement("aws", "6.69.1")),
        ("~> 6.69", ProviderRequirement("aws", "~> 6.69")),
        (">= 6.25, < 7.0", ProviderRequirement("aws", ">= 6.25, < 7.0")),
        ("6.70.0-beta1", ProviderRequirement("aws", "6.70.0-beta1")),
    ],
)
def test_provider_requirement(value, expected):
    environ = {} if value is None else {"TF_AWS_PROVIDER_VERSION": value}
    assert aws_provider_requirement(environ) == expected


@pytest.mark.parametrize("value", ["latest", "v6.69.1", "6.69.1.2", "~>", "6.69,", "hashicorp/aws"])
def test_a_provider_version_that_terraform_would_reject_is_refused_at_synth(value):
    with pytest.raises(ConfigError) as caught:
        aws_provider_requirement({"TF_AWS_PROVIDER_VERSION": value})
    message = str(caught.value.problems[0])
    assert message.startswith(f"TF_AWS_PROVIDER_VERSION: is not a Terraform version constraint (given {value!r}). Fix:")
    assert "'bindings'" in message and PINNED_AWS_PROVIDER_VERSION in message
