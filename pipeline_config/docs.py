"""Render the configuration reference (docs/configuration.md's tables) from ``PipelineConfig`` itself.

``python -m pipeline_config.docs`` prints the tables; a test fails when the page's
copy drifts from the code, so the documented defaults are always the real ones.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pipeline_config import defaults
from pipeline_config.environments import ENVIRONMENTS, REVIEW_ENVIRONMENT
from pipeline_config.settings import JSON_NONE, PipelineConfig


def field_docs() -> dict[str, str]:
    """Each setting's docstring: the string literal right after it in ``PipelineConfig``, or in its home (``pipeline_config.defaults``)."""
    docs = defaults.field_docs(PipelineConfig)
    for field in dataclasses.fields(PipelineConfig):
        if home := field.metadata.get(defaults.HOME):
            group, name = home
            docs[field.name] = defaults.field_docs(group)[name]
    return docs


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
        return f"`{value.value}`" if hasattr(value, "value") else f"`{value!r}`"
    return "`{}`"


def config_table() -> str:
    """Markdown table: setting, default, meaning."""
    docs = field_docs()
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for field in dataclasses.fields(PipelineConfig):
        text = docs.get(field.name, "")
        if word := field.metadata.get(JSON_NONE):
            # jsii drops JSON null from the cdktf context, so None has a spelled-out word there.
            text += f' In cdktf.json, None is `"{word}"`.'
        rows.append(f"| `{field.name}` | {_default(field)} | {text} |")
    return "\n".join(rows)


def environments_table() -> str:
    """Markdown table of the environments and what each overrides."""
    rows = ["| environment (stack) | overrides of the defaults |", "|---|---|"]
    for suffix, overrides in ENVIRONMENTS.items():
        text = ", ".join(f"`{k}={v!r}`" for k, v in overrides.items()) or "none: the defaults"
        rows.append(f"| `{suffix}` (`orders-{suffix}`) | {text} |")
    review = ", ".join(f"`{k}={v!r}`" for k, v in REVIEW_ENVIRONMENT.items())
    rows.append(f"| any other suffix, e.g. `pr-42` (`orders-pr-42`): a review environment | dev's, then {review} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(config_table())
    print()
    print(environments_table())
