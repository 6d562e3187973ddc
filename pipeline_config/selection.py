"""Which stacks one synth writes, with their validated configs: the single path from settings to stacks.

``main.py`` (``make synth``, CI, the cdktf CLI) and ``ordersctl preflight`` both call
``select_stacks`` with the environment variables and the cdktf context
(``pipeline_config.context.read_context``), so what preflight checks is what synth builds.

* ``ENVIRONMENT_SUFFIX`` (or context ``environmentSuffix``) unset: every listed
  environment, plus one account-level stack per region that no environment owns.
* ``ENVIRONMENT_SUFFIX=<suffix>``: that environment alone (unlisted suffixes are dev-like).
* ``ENVIRONMENT_SUFFIX=account``: the account-level stacks alone.

The whole configuration is validated on every synth (every listed environment, the
selected one and every override), so a typo cannot hide until the day that environment
is deployed. Problems name their environment (``[prod] setting: ...``) and are raised
together as one ``ConfigError``. The alarm-destination rule concerns deploying, so it is
applied to the selected environments only: an error for prod-like ones, a warning where
``alarm_destination_check`` says ``"warn"``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_config.account import AccountStackConfig
from pipeline_config.backend import BackendSettings, read_backend
from pipeline_config.environments import (
    ENVIRONMENTS,
    OVERRIDES_CONTEXT_KEY,
    SUFFIX_CONTEXT_KEY,
    SUFFIX_ENV_VAR,
    config_for,
)
from pipeline_config.errors import ConfigError, ConfigProblem
from pipeline_config.naming import ACCOUNT_SELECTOR, account_stack_name
from pipeline_config.settings import JSON_NONE, PipelineConfig

_FIELDS = {f.name: f for f in dataclasses.fields(PipelineConfig)}
#: The context keys this app reads; a near miss (``orderPipelines``) would otherwise be ignored.
OWN_CONTEXT_KEYS = (SUFFIX_CONTEXT_KEY, OVERRIDES_CONTEXT_KEY)


@dataclass(frozen=True)
class Selection:
    """The stacks one synth writes, in order, and what the synth should warn about."""

    environments: tuple[PipelineConfig, ...] = ()
    """Validated configs of the environment stacks, in ``ENVIRONMENTS`` order."""
    account_stacks: tuple[AccountStackConfig, ...] = ()
    """Account-level stacks (one per region that no environment owns)."""
    account_setting_owners: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Region -> the stack that owns API Gateway's account setting there (whether selected or not)."""
    backend: BackendSettings = dataclasses.field(default_factory=BackendSettings)
    """The Terraform state backend of every stack, from ``TF_STATE_*`` / ``TF_CLOUD_*`` (validated)."""
    warnings: tuple[ConfigProblem, ...] = ()
    """Problems that do not stop the synth; printed once, on stderr."""

    @property
    def stack_names(self) -> list[str]:
        """Every stack of this selection: environments first, then account-level stacks."""
        return [c.names.stack for c in self.environments] + [a.stack_name for a in self.account_stacks]


def chosen_suffix(environ: Mapping[str, str], context: Mapping[str, Any]) -> str | None:
    """The suffix picked by ``ENVIRONMENT_SUFFIX`` (which wins) or context ``environmentSuffix``; None for all."""
    chosen = environ.get(SUFFIX_ENV_VAR) or context.get(SUFFIX_CONTEXT_KEY)
    if chosen is None or str(chosen).strip() == "":
        return None
    return str(chosen).strip()


def settings_from_json(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Translate one environment's settings from cdktf.json: ``"off"``-style words to None, lists to tuples, null refused."""
    settings: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for name, value in raw.items():
        field = _FIELDS.get(name)
        if field is None:
            settings[name] = value  # config_for reports it, with "did you mean"
            continue
        word = field.metadata.get(JSON_NONE)
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory() if callable(field.default_factory) else None
        if value is None:
            fix = f'use "{word}" for None, or leave {name} out for its default ({default!r})' if word else f"leave {name} out for its default ({default!r})"
            problems.append(ConfigProblem(name, None, "null is not accepted in the cdktf context: jsii drops null values, so it would silently mean the default on some paths", fix))
        elif word is not None and isinstance(value, str) and value.strip().lower() == word:
            settings[name] = None
        elif (quoted := _quoted_scalar_problem(name, field.type, value)) is not None:
            problems.append(quoted)  # left out of the settings: one clear problem, not a second one about its type
        elif isinstance(default, tuple) and isinstance(value, list):
            settings[name] = tuple(value)
        else:
            settings[name] = value
    return settings, problems


_NUMBER_TYPES = ("int", "int | None", "float", "float | None")
_BOOL_TYPES = ("bool", "bool | None")


def _quoted_scalar_problem(name: str, type_name: object, value: object) -> ConfigProblem | None:
    """A number or a boolean written as a JSON string (``"14"``, ``"true"``): say that, not "14 is not allowed"."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if type_name in _NUMBER_TYPES:
        try:
            number = float(text)
        except ValueError:
            return None
        shown = text if not number.is_integer() or "." in text else str(int(number))
        return ConfigProblem(name, value, "must be a number, not a string (it is in quotes)", f"write {name}: {shown} without the quotes")
    if type_name in _BOOL_TYPES and text.lower() in ("true", "false"):
        return ConfigProblem(name, value, "must be true or false, not a string (it is in quotes)", f"write {name}: {text.lower()} without the quotes")
    return None


def _did_you_mean(word: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _context_key_problems(context: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = []
    for key in context:
        if key in OWN_CONTEXT_KEYS:
            continue
        # Other keys may be cdktf feature flags or another tool's: only near misses of ours are errors.
        close = difflib.get_close_matches(str(key), list(OWN_CONTEXT_KEYS), n=1, cutoff=0.8)
        if close:
            problems.append(ConfigProblem(f"context.{key}", context[key], f"is not a context key this app reads; did you mean {close[0]!r}?", f"rename it to {close[0]!r}"))
    return problems


def _overrides(context: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    overrides = context.get(OVERRIDES_CONTEXT_KEY) or {}
    if not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values()):
        raise ConfigError(
            [ConfigProblem(f"context.{OVERRIDES_CONTEXT_KEY}", overrides, "must map environment suffixes to objects of settings", 'use e.g. {"prod": {"alarm_email": "oncall@example.com"}}')],
            context="configuration",
        )
    return overrides


def _unknown_environment_problems(overrides: Mapping[str, Any], chosen: str | None) -> list[ConfigProblem]:
    problems = []
    listed = list(ENVIRONMENTS)
    for key in overrides:
        if key in ENVIRONMENTS or (key == chosen and key != ACCOUNT_SELECTOR):
            continue
        if key == ACCOUNT_SELECTOR:
            problem, fix = "has no settings: it selects the account-level stacks", f"remove {key!r} from {OVERRIDES_CONTEXT_KEY}"
        else:
            close = _did_you_mean(str(key), listed)
            hint = f"; did you mean {close!r}?" if close else ""
            problem = f"is not an environment (listed: {', '.join(listed)}){hint}"
            fix = (f"rename it to {close!r}" if close else f"add {key!r} to pipeline_config/environments.py, or synthesize it alone with {SUFFIX_ENV_VAR}={key}") + ", or remove it"
        problems.append(ConfigProblem(f"context.{OVERRIDES_CONTEXT_KEY}", key, problem, fix))
    return problems


def _build_configs(overrides: Mapping[str, Mapping[str, Any]], suffixes: list[str]) -> tuple[dict[str, PipelineConfig], list[ConfigProblem]]:
    configs: dict[str, PipelineConfig] = {}
    problems: list[ConfigProblem] = []
    for suffix in suffixes:
        settings, json_problems = settings_from_json(overrides.get(suffix, {}))
        try:
            config = config_for(suffix, **settings)
        except ConfigError as error:
            json_problems += error.problems
        if json_problems:
            problems.extend(p.in_environment(suffix) for p in json_problems)
            continue
        configs[suffix] = config
    return configs, problems


def account_setting_owners(configs: Mapping[str, PipelineConfig]) -> tuple[dict[str, str], list[ConfigProblem]]:
    """Region -> owning stack of API Gateway's account setting: an environment that claims it, else ``orders-account-<region>``.

    At most one environment per region may claim it, and only a listed one: destroying a
    review stack that owned it would reset CloudWatch logging for every API in the region.
    """
    problems: list[ConfigProblem] = []
    claims: dict[str, list[str]] = {}
    for suffix, config in configs.items():
        if not config.manage_api_gateway_account:
            continue
        if suffix not in ENVIRONMENTS:
            problems.append(
                ConfigProblem(
                    "manage_api_gateway_account",
                    True,
                    "an unlisted (review) environment may not own API Gateway's region-wide CloudWatch role: destroying it would turn logging off for every API in the region",
                    f"leave it false; {account_stack_name(config.region)} owns the setting",
                    environment=suffix,
                )
            )
            continue
        claims.setdefault(config.region, []).append(suffix)
    owners: dict[str, str] = {}
    for region, suffixes in claims.items():
        if len(suffixes) > 1:
            problems.append(
                ConfigProblem(
                    "manage_api_gateway_account",
                    True,
                    f"is set in {', '.join(suffixes)}, all in {region}; the setting has one value per account and region, so each apply would overwrite the others'",
                    f"keep it in one environment at most (or in none: then {account_stack_name(region)} owns it)",
                )
            )
        owners[region] = configs[suffixes[0]].names.stack
    for config in configs.values():
        if config.environment_suffix in ENVIRONMENTS:
            owners.setdefault(config.region, account_stack_name(config.region))
    return owners, problems


def _legacy_blocks_warning(config: PipelineConfig) -> ConfigProblem:
    return ConfigProblem(
        "legacy_account_setting_in_state",
        True,
        f"adds removed blocks to {config.names.stack} so its next apply forgets the old account setting; checkov 3.2 cannot read "
        "that stack's cdk.tf.json while they are there (it crashes on the top-level 'removed' and reports nothing)",
        "apply this environment once, then set legacy_account_setting_in_state back to false (docs/api-gateway-account.md, 'API Gateway account settings')",
        environment=config.environment_suffix,
    )


def _alarm_destination_problem(config: PipelineConfig) -> ConfigProblem:
    names = config.names
    return ConfigProblem(
        "alarm_email",
        config.alarm_email,
        f"no alarm destination: every alarm of {names.stack} notifies {names.alarm_topic}, which nobody subscribes to, so an incident would page nobody",
        f'set alarm_email (e.g. "oncall@example.com") or alarm_sns_topic_arns in "context": {{"{OVERRIDES_CONTEXT_KEY}": {{"{config.environment_suffix}": {{...}}}}}} '
        'of cdktf.json, or opt out explicitly with "alarm_destination_check": "off" (docs/configuration.md, "Alarm destinations")',
        environment=config.environment_suffix,
    )


def _error_context(problems: list[ConfigProblem]) -> str:
    environments = {p.environment for p in problems}
    if len(environments) == 1 and None not in environments:
        return f"configuration of environment {environments.pop()!r}"
    return "configuration"


def select_stacks(environ: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> Selection:
    """Validate the whole configuration and return the stacks to synthesize; every problem raised together."""
    environ = os.environ if environ is None else environ
    context = context or {}
    overrides = _overrides(context)
    chosen = chosen_suffix(environ, context)
    problems = _context_key_problems(context) + _unknown_environment_problems(overrides, chosen)
    suffixes = list(ENVIRONMENTS)
    if chosen is not None and chosen not in ENVIRONMENTS and chosen != ACCOUNT_SELECTOR:
        suffixes.append(chosen)
    configs, config_problems = _build_configs(overrides, suffixes)
    problems += config_problems
    owners, owner_problems = account_setting_owners(configs)
    problems += owner_problems
    # The state backend is settled here too, so a bad TF_STATE_* is listed with everything else.
    backend, backend_problems = read_backend(environ)
    problems += backend_problems

    if chosen is None:
        wanted = list(ENVIRONMENTS)
    elif chosen == ACCOUNT_SELECTOR:
        wanted = []
    else:
        wanted = [chosen]
    environments = tuple(configs[s] for s in wanted if s in configs)  # an invalid one is among the problems already
    account_stacks: tuple[AccountStackConfig, ...] = ()
    if chosen in (None, ACCOUNT_SELECTOR):
        account_stacks = tuple(AccountStackConfig(region=region) for region, owner in sorted(owners.items()) if owner == account_stack_name(region))

    warnings: list[ConfigProblem] = []
    for config in environments:
        check = config.effective_alarm_destination_check
        if not config.has_alarm_destination and check != "off":
            (problems if check == "error" else warnings).append(_alarm_destination_problem(config))
    if problems:
        raise ConfigError(problems, context=_error_context(problems))
    warnings += [_legacy_blocks_warning(config) for config in environments if config.legacy_account_setting_in_state]
    return Selection(environments=environments, account_stacks=account_stacks, account_setting_owners=owners, backend=backend, warnings=tuple(warnings))
