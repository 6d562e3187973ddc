"""The environments ``main.py`` synthesizes: one place, one table (mirrored in the README).

Each entry only lists what differs from ``PipelineConfig``'s defaults.
``ENVIRONMENT_SUFFIX`` (or the cdktf context key ``environmentSuffix``) selects one
environment; a suffix that is not listed here (e.g. ``pr-123``) gets dev-like
settings, which is what ephemeral review environments want.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from pipeline_config.errors import ConfigError, ConfigProblem
from pipeline_config.settings import PipelineConfig

#: Overrides per environment suffix, applied on top of the dataclass defaults.
ENVIRONMENTS: dict[str, dict[str, Any]] = {
    # dev is the defaults, exactly: what the README documents is what dev gets.
    "dev": {},
    "staging": {
        "prod_like": True,
        "processor_reserved_concurrency": 50,
        "log_retention_days": 30,
        "queue_depth_threshold": 500,
    },
    "prod": {
        "prod_like": True,
        "processor_reserved_concurrency": 100,
        "log_retention_days": 90,
        "queue_depth_threshold": 1000,
        "api_throttle_rate_limit": 500.0,
        "api_throttle_burst_limit": 1000,
    },
}

DEFAULT_ENVIRONMENT = "dev"
SUFFIX_ENV_VAR = "ENVIRONMENT_SUFFIX"
SUFFIX_CONTEXT_KEY = "environmentSuffix"
#: cdktf context key holding per-environment overrides, e.g. in cdktf.json:
#: ``"context": {"orderPipeline": {"prod": {"alarm_email": "oncall@example.com"}}}``
OVERRIDES_CONTEXT_KEY = "orderPipeline"


def config_for(suffix: str, **overrides: Any) -> PipelineConfig:
    """Build the validated config of one environment (unknown suffixes get dev settings)."""
    base = ENVIRONMENTS.get(suffix, ENVIRONMENTS[DEFAULT_ENVIRONMENT])
    if "environment_suffix" in overrides and overrides["environment_suffix"] != suffix:
        # The suffix picks the environment; an override that disagrees would be silently ignored.
        raise ConfigError(
            [ConfigProblem("environment_suffix", overrides["environment_suffix"], f"cannot be overridden inside the settings of environment {suffix!r}", "remove it from the overrides; choose the environment with ENVIRONMENT_SUFFIX or cdktf context 'environmentSuffix'")]
        )
    settings = {**base, **overrides, "environment_suffix": suffix}
    known = set(PipelineConfig.__dataclass_fields__)
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            [ConfigProblem(name, settings[name], "is not a setting", "use one of the fields of PipelineConfig (README, 'Configuration')") for name in unknown]
        )
    return PipelineConfig(**settings)


def selected_suffixes(environ: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> list[str]:
    """The suffixes to synthesize: the one chosen by env var or context, else every listed environment."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(SUFFIX_ENV_VAR) or (context or {}).get(SUFFIX_CONTEXT_KEY)
    if chosen is not None and str(chosen).strip() != "":
        return [str(chosen).strip()]
    return list(ENVIRONMENTS)


def load_configs(environ: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> list[PipelineConfig]:
    """Validated configs of every environment to synthesize; all problems raised together."""
    configs: list[PipelineConfig] = []
    problems: list[ConfigProblem] = []
    overrides = (context or {}).get(OVERRIDES_CONTEXT_KEY) or {}
    if not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values()):
        raise ConfigError(
            [ConfigProblem(f"context.{OVERRIDES_CONTEXT_KEY}", overrides, "must map environment suffixes to objects of settings", 'use e.g. {"prod": {"alarm_email": "oncall@example.com"}}')]
        )
    for suffix in selected_suffixes(environ, context):
        try:
            configs.append(config_for(suffix, **dict(overrides.get(suffix, {}))))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return configs
