"""Typed, validated configuration of the order pipeline, shared by the stack, the local pipeline and ordersctl.

Pure Python on purpose: it never imports cdktf, so the local pipeline and the
handlers' tools can read the same settings without paying for jsii start-up.
"""

from pipeline_config.errors import ConfigError
from pipeline_config.naming import ResourceNames, resource_name, stack_name
from pipeline_config.settings import ApiAuthorization, PipelineConfig

__all__ = [
    "ApiAuthorization",
    "ConfigError",
    "PipelineConfig",
    "ResourceNames",
    "resource_name",
    "stack_name",
]
