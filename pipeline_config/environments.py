"""The environments ``main.py`` synthesizes: one place, one table (mirrored in docs/configuration.md).

Each entry only lists what differs from ``PipelineConfig``'s defaults.
``ENVIRONMENT_SUFFIX`` (or the cdktf context key ``environmentSuffix``) selects one
environment; a suffix that is not listed here (e.g. ``pr-123``) gets dev's settings
with ``REVIEW_ENVIRONMENT`` on top, which is what ephemeral review environments want. Which stacks a synth
writes, and the overrides from cdktf.json, are ``pipeline_config.selection``'s.
"""

from __future__ import annotations

from typing import Any

from pipeline_config.errors import ConfigError, ConfigProblem
from pipeline_config.settings import PipelineConfig, unknown_setting_problems

#: Overrides per environment suffix, applied on top of the dataclass defaults.
ENVIRONMENTS: dict[str, dict[str, Any]] = {
    # dev is the defaults, exactly: what docs/configuration.md documents is what dev gets.
    "dev": {},
    "staging": {
        "prod_like": True,
        # A staging incident should reach someone, but it is not worth refusing a synth over.
        "alarm_destination_check": "warn",
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

#: What an unlisted suffix (a review environment, ``pr-123``) changes on top of dev's settings.
#: No reserved concurrency: a reservation is taken from the account's regional pool whether the
#: environment is busy or not, and Lambda keeps 100 of the pool unreserved. With the default quota
#: of 1,000, dev (100), staging (50) and prod (100) leave room for five more reservations of 100;
#: the 6th or 7th review environment would fail PutFunctionConcurrency mid-deploy. Review
#: environments carry no production traffic, so they share the unreserved pool instead. Set a
#: number for one in cdktf.json (``"pr-7": {"processor_reserved_concurrency": 10}``) when a test
#: needs it; ``ordersctl preflight`` checks the account can afford it.
REVIEW_ENVIRONMENT: dict[str, Any] = {"processor_reserved_concurrency": None}

DEFAULT_ENVIRONMENT = "dev"
SUFFIX_ENV_VAR = "ENVIRONMENT_SUFFIX"
SUFFIX_CONTEXT_KEY = "environmentSuffix"
#: cdktf context key holding per-environment overrides, e.g. in cdktf.json:
#: ``"context": {"orderPipeline": {"prod": {"alarm_email": "oncall@example.com"}}}``
OVERRIDES_CONTEXT_KEY = "orderPipeline"


def config_for(suffix: str, **overrides: Any) -> PipelineConfig:
    """Build the validated config of one environment (unlisted suffixes get dev settings and ``REVIEW_ENVIRONMENT``)."""
    base = ENVIRONMENTS[suffix] if suffix in ENVIRONMENTS else {**ENVIRONMENTS[DEFAULT_ENVIRONMENT], **REVIEW_ENVIRONMENT}
    if "environment_suffix" in overrides and overrides["environment_suffix"] != suffix:
        # The suffix picks the environment; an override that disagrees would be silently ignored.
        raise ConfigError(
            [
                ConfigProblem(
                    "environment_suffix",
                    overrides["environment_suffix"],
                    f"cannot be overridden inside the settings of environment {suffix!r}",
                    "remove it from the overrides; choose the environment with ENVIRONMENT_SUFFIX or cdktf context 'environmentSuffix'",
                )
            ]
        )
    settings = {**base, **overrides, "environment_suffix": suffix}
    unknown = unknown_setting_problems(settings)
    if unknown:
        raise ConfigError(unknown, context=f"configuration for environment {suffix!r}")
    return PipelineConfig(**settings)
