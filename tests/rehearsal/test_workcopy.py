"""The working copy differs from the synthesized stack only by the listed overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehearsal.workcopy import WorkCopyError, endpoint_services, pinned_provider_version, working_copy_override

LAYER = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"


def _doc(**resources) -> dict:
    return {
        "terraform": {"backend": {"s3": {"bucket": "b", "key": "k"}}, "required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}},
        "provider": {"aws": [{"region": "eu-west-1", "default_tags": [{"tags": {"Project": "x"}}]}]},
        "data": {"aws_caller_identity": {"c": {}}},
        "resource": resources
        or {
            "aws_sqs_queue": {"q": {}},
            "aws_lambda_function": {"f": {"layers": [LAYER, "arn:aws:lambda:us-east-1:111122223333:layer:mine:1"]}, "g": {"layers": []}},
        },
    }


def test_emulator_override_lists_every_deviation_and_nothing_else(tmp_path: Path):
    override, deviations = working_copy_override(
        _doc(), state_path=tmp_path / "s.tfstate", provider_version="5.100.0", endpoint_url="http://127.0.0.1:1", access_key="a", secret_key="b", layer_arn="arn:standin:1"
    )
    assert [d.what for d in deviations] == ["backend", "provider version", "provider endpoints", "Powertools layer of 1 function(s)"]
    assert deviations[0].ships == "s3 b/k" and deviations[1].ships == "6.25.0"
    assert override["terraform"] == {"backend": {"local": {"path": str(tmp_path / "s.tfstate")}}, "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}}
    provider = override["provider"]["aws"][0]
    assert provider["region"] == "eu-west-1" and "default_tags" not in provider  # merged, not replaced
    assert provider["endpoints"] == [{"sqs": "http://127.0.0.1:1", "lambda": "http://127.0.0.1:1", "sts": "http://127.0.0.1:1"}]
    # Only the public Powertools layer is swapped; the function's other layer stays; g is untouched.
    assert override["resource"] == {"aws_lambda_function": {"f": {"layers": ["arn:standin:1", "arn:aws:lambda:us-east-1:111122223333:layer:mine:1"]}}}


def test_pinned_provider_and_no_emulator_means_no_override_at_all():
    override, deviations = working_copy_override(_doc(), state_path=None, provider_version="6.25.0")
    assert override == {} and deviations == []


def test_unknown_resource_type_stops_the_rehearsal_instead_of_calling_aws():
    with pytest.raises(WorkCopyError, match=r"aws_s3_bucket.*would call real AWS.*SERVICE_ENDPOINTS"):
        endpoint_services(_doc(aws_s3_bucket={"b": {}}))


def test_emulator_override_needs_the_stand_in_layer_when_the_stack_uses_powertools():
    with pytest.raises(WorkCopyError, match="stand-in layer"):
        working_copy_override(_doc(), state_path=None, provider_version=None, endpoint_url="http://x", layer_arn=None)


def test_provider_pin_must_be_one_exact_version():
    doc = _doc()
    doc["terraform"]["required_providers"]["aws"]["version"] = "~> 6.0"
    with pytest.raises(WorkCopyError, match="not one exact version"):
        pinned_provider_version(doc)
    doc["terraform"]["required_providers"]["aws"]["version"] = "= 6.25.0"
    assert pinned_provider_version(doc) == "6.25.0"


def test_every_resource_type_of_the_real_stacks_has_an_emulator_endpoint(stacks):
    for name, doc in stacks.items():
        assert "sts" in endpoint_services(doc), name
