"""Terraform state backend of a stack. The local backend is the default.

(Issue 5 adds the S3 and Terraform Cloud backends here.)
"""

from __future__ import annotations

from pipeline_config import PipelineConfig


def configure_backend(stack, config: PipelineConfig) -> None:
    """Attach the configured backend to ``stack``; the local backend needs nothing."""
    return None
