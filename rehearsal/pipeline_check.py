"""Use what Terraform created: placeholder until the local pipeline can attach to existing resources."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_pipeline_check(outputs: dict[str, Any], endpoint_url: str, *, stack: str, workdir: Path | None) -> str:
    """Run the handlers against the applied resources."""
    return f"skipped (outputs: {', '.join(sorted(outputs))})"
