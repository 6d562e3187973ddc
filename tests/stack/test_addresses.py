"""The resource addresses operators type by hand (pipeline_config.addresses) exist in every synthesized stack."""

from __future__ import annotations

from pipeline_config.addresses import EXECUTION_LOG_GROUP_ADDRESS
from pipeline_config.naming import EXECUTION_LOG_GROUP_PREFIX, api_execution_log_group
from tests.tfjson import ref, resources


def test_the_execution_log_group_address_is_the_one_every_environment_synthesizes(stacks, review_stacks):
    rtype, logical = EXECUTION_LOG_GROUP_ADDRESS.split(".", 1)
    for name, doc in {**stacks, **review_stacks}.items():
        group = resources(doc, rtype).get(logical)
        assert group is not None, f"{name}: no {EXECUTION_LOG_GROUP_ADDRESS}; update pipeline_config/addresses.py"
        (api_id,) = resources(doc, "aws_api_gateway_rest_api")
        assert group["name"] == api_execution_log_group(ref("aws_api_gateway_rest_api", api_id, "id"))
        assert group["name"].startswith(EXECUTION_LOG_GROUP_PREFIX)
