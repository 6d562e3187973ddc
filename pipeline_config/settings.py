"""``PipelineConfig``: every tunable of one environment, with documented, secure defaults.

Precedence (one order, everywhere): the defaults below, then the environment's
entry in ``pipeline_config.environments``, then the overrides from the cdktf context
(``pipeline_config.selection``), then what the constructs force (encryption,
point-in-time recovery, TLS-only queues) regardless of config.
Validation runs in ``__post_init__`` and reports every problem at once.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, TypeVar

from pipeline_config import naming, rules
from pipeline_config.defaults import (
    API_HANDLER_SIZING,
    EVENT_SWEEPER_SIZING,
    HOME,
    LOG_RETENTION_DAYS,
    PROCESSOR_SIZING,
    AlarmThresholds,
    EventSourceBatching,
    EventSweepSettings,
    FunctionSizing,
    QueueSettings,
    from_home,
)
from pipeline_config.errors import ConfigError, ConfigProblem, is_whole_number, whole_number_problem
from pipeline_config.naming import ACCOUNT_SELECTOR, SUFFIX_MAX_LENGTH, SUFFIX_PATTERN, ResourceNames, account_stack_name, is_reserved_suffix

_Group = TypeVar("_Group")

# Lambda does not let a function's reserved concurrency exceed the account quota;
# 1000 is the default regional quota.
_MAX_RESERVED_CONCURRENCY = 1000
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Maximum SQS message size (bytes); the API handler rejects larger orders with 413.
SQS_MAX_MESSAGE_BYTES = 262_144
#: CloudWatch allows five actions per alarm state; the pipeline's own alarm topic is one.
MAX_EXTRA_ALARM_TOPICS = rules.ALARM_MAX_ACTIONS_PER_STATE - 1
#: What a synth does when an environment's alarms would page nobody (docs/configuration.md, "Alarm destinations").
ALARM_DESTINATION_CHECKS = ("error", "warn", "off")
#: Field metadata key: the word that stands for ``None`` in cdktf.json. jsii drops JSON
#: null from the cdktf context, so "off" has to be spelled out (docs/configuration.md, "Configuration").
JSON_NONE = "json_none"


class ApiAuthorization(StrEnum):
    """How callers authenticate to the REST API."""

    AWS_IAM = "AWS_IAM"  # SigV4-signed requests; the default.
    API_KEY = "API_KEY"  # x-api-key header, with a usage plan (throttle + quota).
    NONE = "NONE"  # open API; only for throw-away sandboxes.

    @classmethod
    def parse(cls, value: str | ApiAuthorization) -> ApiAuthorization:
        """Accept ``aws_iam``/``iam``, ``api_key``/``apikey`` and ``none`` in any case."""
        if isinstance(value, ApiAuthorization):
            return value
        if not isinstance(value, str):
            # str(None) would read as "NONE" and silently open the API (e.g. JSON null in cdktf.json).
            raise ValueError(f"not an authorization mode: {value!r}")
        key = value.strip().upper().replace("-", "_")
        aliases = {"IAM": "AWS_IAM", "APIKEY": "API_KEY"}
        return cls(aliases.get(key, key))


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Settings of one deployed environment of the order pipeline."""

    # --- identity -------------------------------------------------------------------------
    environment_suffix: str = "dev"
    """Appended to every resource name (``order-queue-<suffix>``). Lowercase letters,
    digits and hyphens, at most 24 characters."""
    region: str = "us-east-1"
    """AWS region of the provider."""
    prod_like: bool = False
    """Marks production-like environments: turns on table deletion protection, Terraform's
    ``prevent_destroy`` on the data and the 30-day KMS deletion window unless they are set
    explicitly."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra provider default tags, merged under Project/Environment/ManagedBy."""

    # --- Lambda -----------------------------------------------------------------------------
    api_handler_timeout_seconds: int = API_HANDLER_SIZING.timeout_seconds
    """API-handler timeout. API Gateway gives up after 29 s, so keep it below that."""
    api_handler_memory_mb: int = API_HANDLER_SIZING.memory_mb
    """API-handler memory (also scales its CPU)."""
    processor_timeout_seconds: int = PROCESSOR_SIZING.timeout_seconds
    """Order-processor timeout; the queue's visibility timeout must be at least 6x this."""
    processor_memory_mb: int = PROCESSOR_SIZING.memory_mb
    """Order-processor memory."""
    processor_reserved_concurrency: int | None = field(default=100, metadata={JSON_NONE: "off"})
    """Reserved concurrency of the processor. ``None`` turns the reservation off (and omits the
    event source's maximum concurrency), for new accounts whose concurrency quota (often 10)
    cannot reserve 100. 0 is rejected: Lambda would throttle every invocation."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of every log group the stack creates (one of CloudWatch's allowed values)."""
    log_level: str = "INFO"
    """POWERTOOLS_LOG_LEVEL of both functions."""
    powertools_layer_version: int = 27
    """Version of the public Powertools for AWS Lambda (Python) v3 layer, pinned so a
    deploy is reproducible. See docs/configuration.md, 'Powertools layer'."""
    powertools_layer_arn: str | None = field(default=None, metadata={JSON_NONE: "default"})
    """Full layer ARN, overriding ``powertools_layer_version`` (e.g. a private mirror). ``None``:
    the public layer at the pinned version."""
    lambda_bytecode: str = "auto"
    """Ship the handlers' bytecode, compiled at synth by a Python of the functions' runtime
    version (python3.12), so a cold start does not compile them: ``"auto"`` (when one is found,
    else sources and a warning), ``"required"`` (fail the synth without one) or ``"off"``. Set
    ``LAMBDA_BYTECODE_PYTHON`` to choose the interpreter. docs/cold-start.md, "Cold start and memory size"."""

    # --- queue ------------------------------------------------------------------------------
    # Defaults and docstrings of the grouped settings: pipeline_config.defaults (one home).
    queue_visibility_timeout_seconds: int = from_home(QueueSettings, "visibility_timeout_seconds")
    queue_message_retention_seconds: int = from_home(QueueSettings, "message_retention_seconds")
    dlq_message_retention_seconds: int = from_home(QueueSettings, "dlq_message_retention_seconds")
    max_receive_count: int = from_home(QueueSettings, "max_receive_count")

    # --- event source mapping ---------------------------------------------------------------
    batch_size: int = from_home(EventSourceBatching, "batch_size")
    batching_window_seconds: int = from_home(EventSourceBatching, "maximum_batching_window_seconds")
    event_source_maximum_concurrency: int | None = field(default=None, metadata={JSON_NONE: "auto"})
    """``scaling_config.maximum_concurrency``. ``None``: equal to the reserved concurrency
    (or omitted when that is off). Must not exceed the reserved concurrency."""

    # --- event sweep: the outbox of events that never got out ------------------------------
    event_sweep_interval_minutes: int = from_home(EventSweepSettings, "interval_minutes")
    event_sweep_min_age_seconds: int = 300
    """How long an order's event must have been unconfirmed before the sweep publishes it. Keep it
    above ``processor_timeout_seconds``: a younger order may still be published by the processor
    itself (the sweep would send a second, harmless, event)."""
    event_sweeper_timeout_seconds: int = EVENT_SWEEPER_SIZING.timeout_seconds
    """Timeout of the event sweeper function (it stops starting pages 10 s before it)."""

    # --- DynamoDB ---------------------------------------------------------------------------
    table_deletion_protection: bool | None = field(default=None, metadata={JSON_NONE: "auto"})
    """Deletion protection of the orders table. ``None``: on when ``prod_like``."""

    # --- protection of the data -------------------------------------------------------------
    prevent_destroy: bool | None = field(default=None, metadata={JSON_NONE: "auto"})
    """Terraform's ``lifecycle.prevent_destroy`` on what holds the data: the orders table, both
    queues and the KMS key. Terraform then refuses any plan that destroys or replaces one of
    them (a rename, ``terraform destroy``) until it is turned off in code. ``None``: on when
    ``prod_like``. docs/rehearsal.md, "Native protections"."""
    kms_deletion_window_days: int | None = field(default=None, metadata={JSON_NONE: "auto"})
    """Days KMS waits before deleting the key once its deletion is scheduled (7-30), the time
    left to cancel it: everything the key encrypted is unreadable afterwards. ``None``: 30 when
    ``prod_like``, else 7."""

    # --- API Gateway ------------------------------------------------------------------------
    api_authorization: ApiAuthorization = ApiAuthorization.AWS_IAM
    """``AWS_IAM`` (default), ``API_KEY`` or ``NONE``."""
    api_throttle_rate_limit: float = 100.0
    """Stage-wide steady-state requests per second."""
    api_throttle_burst_limit: int = 200
    """Stage-wide burst."""
    api_quota_limit_per_day: int = 100_000
    """Requests per day per API key (``API_KEY`` authorization only)."""
    api_data_trace_enabled: bool = False
    """Log full requests/responses in API Gateway execution logs. Off in every environment
    by default, and keep it off in prod-like ones: those logs would hold customer data
    (order contents, customer ids) outside the encrypted table. Turn it on briefly in dev
    to debug the edge."""
    manage_api_gateway_account: bool = False
    """Let this environment's stack own the region-wide ``aws_api_gateway_account`` (API Gateway's
    CloudWatch role) instead of the account-level stack ``orders-account-<region>``. At most one
    listed environment per region may; review (unlisted) environments never may. docs/api-gateway-account.md,
    "API Gateway account settings"."""
    legacy_account_setting_in_state: bool = False
    """This environment's Terraform state still holds API Gateway's account setting, its role and
    policy attachment from before ``orders-account-<region>`` owned them. True adds ``removed``
    blocks (``destroy = false``) so the next apply forgets the three without destroying them; apply
    once, then set it back to false. Off by default: checkov 3.2 cannot read a stack that carries
    those blocks (its terraform_json parser crashes on a top-level ``removed``), so a synth with it
    on says so. docs/api-gateway-account.md, "API Gateway account settings"."""

    # --- alarms -----------------------------------------------------------------------------
    alarm_email: str | None = field(default=None, metadata={JSON_NONE: "off"})
    """E-mail address subscribed to the alarm topic (confirmation needed once). One of the
    alarm destinations (docs/configuration.md, "Alarm destinations")."""
    alarm_sns_topic_arns: tuple[str, ...] = ()
    """Existing SNS topics every alarm also notifies (ALARM and OK), e.g. the topic an on-call
    tool or a chat channel (AWS Chatbot) listens to. At most 4. An alarm destination."""
    alarm_destination_check: str | None = field(default=None, metadata={JSON_NONE: "auto"})
    """What a synth does when no alarm destination is set: ``"error"`` (refuse), ``"warn"`` or
    ``"off"`` (the explicit opt-out). ``None``: ``"error"`` when ``prod_like``, else ``"off"``."""
    alarm_period_seconds: int = from_home(AlarmThresholds, "period_seconds")
    alarm_evaluation_periods: int = from_home(AlarmThresholds, "evaluation_periods")
    processor_errors_threshold: int = from_home(AlarmThresholds, "processor_errors_threshold")
    processor_throttles_threshold: int = from_home(AlarmThresholds, "processor_throttles_threshold")
    api_handler_errors_threshold: int = from_home(AlarmThresholds, "api_handler_errors_threshold")
    api_5xx_threshold: int = from_home(AlarmThresholds, "api_5xx_threshold")
    queue_depth_threshold: int = from_home(AlarmThresholds, "queue_depth_threshold")
    queue_oldest_message_age_seconds_threshold: int = from_home(AlarmThresholds, "queue_oldest_message_age_seconds_threshold")
    order_conflicts_threshold: int = from_home(AlarmThresholds, "order_conflicts_threshold")
    unpublished_events_threshold: int = from_home(EventSweepSettings, "unpublished_events_threshold")

    def __post_init__(self) -> None:
        # Normalise the enum first so a string from JSON/env works like the enum.
        with contextlib.suppress(ValueError):  # reported by validate()
            object.__setattr__(self, "api_authorization", ApiAuthorization.parse(self.api_authorization))
        problems = self.problems()
        if problems:
            raise ConfigError(problems, context=f"configuration for environment {self.environment_suffix!r}")

    # ------------------------------------------------------------------ derived values
    @property
    def names(self) -> ResourceNames:
        """Physical names of every resource in this environment."""
        return ResourceNames(self.environment_suffix)

    def grouped(self, group: type[_Group]) -> _Group:
        """The settings whose home is ``group`` (``pipeline_config.defaults``), as one ``group`` object."""
        values = {f.metadata[HOME][1]: getattr(self, f.name) for f in fields(self) if f.metadata.get(HOME, (None,))[0] is group}
        return group(**values)

    @property
    def alarm_thresholds(self) -> AlarmThresholds:
        """When the pipeline's alarms page (``PipelineAlarmsProps`` takes them by name)."""
        return self.grouped(AlarmThresholds)

    @property
    def queue_settings(self) -> QueueSettings:
        """The order queue's and DLQ's settings (``QueueWithDeadLetterQueueProps`` takes them by name)."""
        return self.grouped(QueueSettings)

    @property
    def event_source_batching(self) -> EventSourceBatching:
        """How the processor's event source batches (``SqsEventSourceProps`` takes them by name)."""
        return self.grouped(EventSourceBatching)

    @property
    def event_sweep_settings(self) -> EventSweepSettings:
        """The event sweep's interval and alarm threshold (``EventSweepProps`` takes them by name)."""
        return self.grouped(EventSweepSettings)

    @property
    def api_handler_sizing(self) -> FunctionSizing:
        """The API handler's timeout and memory."""
        return FunctionSizing(timeout_seconds=self.api_handler_timeout_seconds, memory_mb=self.api_handler_memory_mb)

    @property
    def processor_sizing(self) -> FunctionSizing:
        """The order processor's timeout and memory."""
        return FunctionSizing(timeout_seconds=self.processor_timeout_seconds, memory_mb=self.processor_memory_mb)

    @property
    def event_sweeper_sizing(self) -> FunctionSizing:
        """The event sweeper's timeout, and the processor's memory (it does the same kind of work)."""
        return FunctionSizing(timeout_seconds=self.event_sweeper_timeout_seconds, memory_mb=self.processor_memory_mb)

    @property
    def effective_table_deletion_protection(self) -> bool:
        """Deletion protection after applying the prod-like default."""
        return self.prod_like if self.table_deletion_protection is None else self.table_deletion_protection

    @property
    def effective_prevent_destroy(self) -> bool:
        """``prevent_destroy`` after applying the prod-like default."""
        return self.prod_like if self.prevent_destroy is None else self.prevent_destroy

    @property
    def effective_kms_deletion_window_days(self) -> int:
        """``kms_deletion_window_days`` after applying the prod-like default."""
        if self.kms_deletion_window_days is not None:
            return self.kms_deletion_window_days
        return rules.KMS_DELETION_WINDOW_DAYS_PROD_LIKE if self.prod_like else rules.KMS_DELETION_WINDOW_DAYS_OTHERS

    @property
    def effective_event_source_maximum_concurrency(self) -> int | None:
        """The ESM maximum concurrency after applying its default (``SqsEventSource`` applies the same rule)."""
        if self.event_source_maximum_concurrency is not None:
            return self.event_source_maximum_concurrency
        return rules.default_event_source_maximum_concurrency(self.processor_reserved_concurrency)

    @property
    def effective_alarm_destination_check(self) -> str:
        """``alarm_destination_check`` after applying its prod-like default."""
        if self.alarm_destination_check is not None:
            return self.alarm_destination_check
        return "error" if self.prod_like else "off"

    @property
    def has_alarm_destination(self) -> bool:
        """True when an alarm reaches someone: an e-mail subscriber or another topic."""
        return bool(self.alarm_email) or bool(self.alarm_sns_topic_arns)

    @property
    def effective_powertools_layer_arn(self) -> str:
        """The Powertools layer ARN the functions use."""
        if self.powertools_layer_arn:
            return self.powertools_layer_arn
        # Only the commercial partition: China and GovCloud get their layer from other
        # accounts, so validation requires powertools_layer_arn there.
        return f"arn:aws:lambda:{self.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:{self.powertools_layer_version}"

    # ------------------------------------------------------------------ validation
    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting, in field order. Empty when the config is valid."""
        check = _Checker(self)
        self._identity_problems(check)
        self._lambda_problems(check)
        self._queue_problems(check)
        self._api_problems(check)
        self._alarm_problems(check)
        if not check.problems and (too_long := self.names.length_problems()):
            for what, name, limit in too_long:
                check.problems.append(
                    ConfigProblem("environment_suffix", self.environment_suffix, f"makes {what} {name!r} {len(name)} characters, over the AWS limit of {limit}", "use a shorter suffix")
                )
        return check.problems

    def _identity_problems(self, check: _Checker) -> None:
        suffix = self.environment_suffix
        if not isinstance(suffix, str) or not SUFFIX_PATTERN.match(suffix):
            check.bad(
                "environment_suffix",
                "must start with a lowercase letter and hold only lowercase letters, digits and single hyphens, not ending in a hyphen (AWS rejects other characters in some resource names)",
                "use e.g. 'dev', 'staging' or 'pr-123' (ENVIRONMENT_SUFFIX or cdktf context 'environmentSuffix')",
            )
        elif len(suffix) > SUFFIX_MAX_LENGTH:
            check.bad(
                "environment_suffix",
                f"is {len(suffix)} characters; at most {SUFFIX_MAX_LENGTH} fit in every AWS name limit (Lambda and IAM role names: 64)",
                f"shorten it to {SUFFIX_MAX_LENGTH} characters or fewer",
            )
        elif is_reserved_suffix(suffix):
            check.bad(
                "environment_suffix",
                f"is reserved: '{ACCOUNT_SELECTOR}' selects the account-level stacks ({account_stack_name('<region>')}), and their names must not collide with an environment's",
                "pick another suffix, e.g. 'acct' or 'shared'",
            )
        if not rules.is_region(self.region):
            check.bad("region", "is not an AWS region name", "use e.g. 'us-east-1' or 'eu-west-1'")
        check.flag("prod_like")
        if not isinstance(self.tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()):
            check.bad("tags", "must map strings to strings", "give e.g. {'CostCenter': '1234'}")
        elif reserved_keys := sorted(set(self.tags) & set(naming.DEFAULT_TAG_KEYS)):
            check.bad("tags", f"may not redefine {', '.join(reserved_keys)}; the stack sets them", "remove those keys from tags")

    def _lambda_problems(self, check: _Checker) -> None:
        check.int_range("api_handler_timeout_seconds", 1, 29, " s (API Gateway's integration timeout is 29 s)")
        check.int_range("processor_timeout_seconds", *rules.LAMBDA_TIMEOUT_SECONDS, " s")
        check.int_range("api_handler_memory_mb", *rules.LAMBDA_MEMORY_MB, " MB")
        check.int_range("processor_memory_mb", *rules.LAMBDA_MEMORY_MB, " MB")
        reserved = self.processor_reserved_concurrency
        if reserved == 0 and is_whole_number(reserved):
            check.bad(
                "processor_reserved_concurrency",
                "0 is not 'off': a reservation of 0 throttles every invocation, so no order would ever be processed",
                'use "off" in cdktf.json (None in Python) for no reservation, or a number from 2 up',
            )
        elif reserved is not None:
            check.int_range("processor_reserved_concurrency", 1, _MAX_RESERVED_CONCURRENCY)
        check.add(rules.log_retention_problem(self.log_retention_days, setting="log_retention_days"))
        if not isinstance(self.log_level, str) or self.log_level.upper() not in _LOG_LEVELS:
            check.bad("log_level", f"must be one of {', '.join(_LOG_LEVELS)}", "set log_level to e.g. 'INFO'")
        check.int_range("powertools_layer_version", 1, 10_000)
        if self.powertools_layer_arn is None and isinstance(self.region, str) and (self.region.startswith("cn-") or "-gov-" in self.region):
            check.bad(
                "powertools_layer_arn",
                f"must be set in region {self.region}: the public Powertools layer is published from another account in the China and GovCloud partitions",
                "copy the layer ARN for your partition from the Powertools documentation into powertools_layer_arn",
            )
        if self.powertools_layer_arn is not None and not str(self.powertools_layer_arn).startswith("arn:"):
            check.bad("powertools_layer_arn", "is not an ARN", "give a full layer version ARN or leave it unset")

    def _queue_problems(self, check: _Checker) -> None:
        processor_ok = whole_number_problem("", self.processor_timeout_seconds, *rules.LAMBDA_TIMEOUT_SECONDS) is None
        if check.int_range("queue_visibility_timeout_seconds", *rules.SQS_VISIBILITY_TIMEOUT_SECONDS, " s") and processor_ok:
            check.add(
                rules.visibility_timeout_problem(
                    self.queue_visibility_timeout_seconds,
                    self.processor_timeout_seconds,
                    visibility_setting="queue_visibility_timeout_seconds",
                    timeout_setting="processor_timeout_seconds",
                )
            )
        queue_ret_ok = check.int_range("queue_message_retention_seconds", *rules.SQS_RETENTION_SECONDS, " s")
        if check.int_range("dlq_message_retention_seconds", *rules.SQS_RETENTION_SECONDS, " s") and queue_ret_ok:
            check.add(
                rules.dlq_retention_problem(
                    self.queue_message_retention_seconds,
                    self.dlq_message_retention_seconds,
                    queue_setting="queue_message_retention_seconds",
                    dlq_setting="dlq_message_retention_seconds",
                )
            )
        check.int_range("max_receive_count", *rules.SQS_MAX_RECEIVE_COUNT)
        check.int_range("event_sweep_interval_minutes", *rules.EVENT_SWEEP_INTERVAL_MINUTES, " min")
        check.int_range("event_sweep_min_age_seconds", *rules.EVENT_SWEEP_MIN_AGE_SECONDS, " s")
        check.int_range("event_sweeper_timeout_seconds", *rules.EVENT_SWEEPER_TIMEOUT_SECONDS, " s")

        batch_ok = check.int_range("batch_size", *rules.ESM_BATCH_SIZE)
        if check.int_range("batching_window_seconds", *rules.ESM_BATCHING_WINDOW_SECONDS, " s") and batch_ok:
            check.add(rules.batching_window_problem(self.batch_size, self.batching_window_seconds, batch_setting="batch_size", window_setting="batching_window_seconds"))
        reserved = self.processor_reserved_concurrency
        reserved_ok = reserved is None or whole_number_problem("", reserved, 1, _MAX_RESERVED_CONCURRENCY) is None
        check.add(
            rules.event_source_concurrency_problem(
                self.event_source_maximum_concurrency,
                reserved if reserved_ok else None,
                maximum_setting="event_source_maximum_concurrency",
                reserved_setting="processor_reserved_concurrency",
            )
        )
        for setting in ("table_deletion_protection", "prevent_destroy"):
            if getattr(self, setting) is not None and not isinstance(getattr(self, setting), bool):
                check.bad(setting, 'must be true, false or "auto" (None: follow prod_like)', f'set {setting} to true, false or "auto"')
        if self.kms_deletion_window_days is not None:
            check.int_range("kms_deletion_window_days", *rules.KMS_DELETION_WINDOW_DAYS, " days")

    def _api_problems(self, check: _Checker) -> None:
        if not isinstance(self.api_authorization, ApiAuthorization):
            check.bad("api_authorization", "is not an authorization mode", "use 'AWS_IAM' (default), 'API_KEY' or 'NONE'")
        check.add(rules.request_rate_problem(self.api_throttle_rate_limit, setting="api_throttle_rate_limit"))
        check.int_range("api_throttle_burst_limit", *rules.API_THROTTLE_BURST_LIMIT)
        check.int_range("api_quota_limit_per_day", *rules.API_QUOTA_PER_DAY)
        check.flag("api_data_trace_enabled")
        check.flag("manage_api_gateway_account")
        check.flag("legacy_account_setting_in_state")
        if self.legacy_account_setting_in_state is True and self.manage_api_gateway_account is True:
            check.bad(
                "legacy_account_setting_in_state",
                "cannot be true while manage_api_gateway_account is: this environment owns the setting at those addresses, and Terraform rejects a removed block for a resource still declared",
                "set legacy_account_setting_in_state to false (an owner keeps its resources)",
            )

    def _alarm_problems(self, check: _Checker) -> None:
        if self.alarm_email is not None:
            check.add(rules.email_problem(self.alarm_email, setting="alarm_email"))
        topics = self.alarm_sns_topic_arns
        if not isinstance(topics, tuple) or not all(isinstance(arn, str) and rules.SNS_TOPIC_ARN_PATTERN.match(arn) for arn in topics):
            check.bad(
                "alarm_sns_topic_arns", "must be a list of SNS topic ARNs (arn:<partition>:sns:<region>:<account>:<topic>)", 'give e.g. ["arn:aws:sns:us-east-1:123456789012:oncall"], or leave it out'
            )
        elif len(topics) > MAX_EXTRA_ALARM_TOPICS or len(set(topics)) != len(topics):
            check.bad(
                "alarm_sns_topic_arns",
                f"must hold at most {MAX_EXTRA_ALARM_TOPICS} different topics (CloudWatch allows {rules.ALARM_MAX_ACTIONS_PER_STATE} actions per alarm state; one is the pipeline's own alarm topic)",
                f"list each topic once, at most {MAX_EXTRA_ALARM_TOPICS}",
            )
        if self.lambda_bytecode not in rules.LAMBDA_BYTECODE_MODES:
            check.bad("lambda_bytecode", f"must be one of {', '.join(map(repr, rules.LAMBDA_BYTECODE_MODES))}", 'use "auto" (the default), "required" or "off"')
        if self.alarm_destination_check is not None and self.alarm_destination_check not in ALARM_DESTINATION_CHECKS:
            check.bad(
                "alarm_destination_check",
                f'must be one of {", ".join(map(repr, ALARM_DESTINATION_CHECKS))} or "auto" (None)',
                'use "error", "warn" or "off"; leave it out for the default (error when prod_like)',
            )
        values = {name: getattr(self, name) for name in ("alarm_period_seconds", "alarm_evaluation_periods", *rules.ALARM_THRESHOLDS)}
        check.problems += rules.alarm_problems(values, period_setting="alarm_period_seconds", evaluations_setting="alarm_evaluation_periods")
        check.int_range("unpublished_events_threshold", *rules.UNPUBLISHED_EVENTS_THRESHOLD)


class _Checker:
    """Collects the problems of one config (so each group of checks stays a short method)."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.problems: list[ConfigProblem] = []

    def bad(self, setting: str, problem: str, fix: str) -> None:
        """Record a problem with ``setting``, quoting its current value."""
        self.problems.append(ConfigProblem(setting, getattr(self.config, setting), problem, fix))

    def add(self, problem: ConfigProblem | None) -> None:
        """Record ``problem`` (a rule's finding), if any."""
        if problem is not None:
            self.problems.append(problem)

    def flag(self, setting: str) -> None:
        """Record a problem unless ``setting`` is a bool."""
        if not isinstance(getattr(self.config, setting), bool):
            self.bad(setting, "must be true or false", f"set {setting} to true or false")

    def int_range(self, setting: str, low: int, high: int, unit: str = "") -> bool:
        """Record a problem unless ``setting`` is a whole number in [low, high]; True when it is."""
        problem = whole_number_problem(setting, getattr(self.config, setting), low, high, unit)
        if problem:
            self.problems.append(problem)
        return problem is None


def unknown_setting_problems(names: Mapping[str, Any]) -> list[ConfigProblem]:
    """A problem, with "did you mean", for every name in ``names`` that is not a ``PipelineConfig`` field."""
    known = [f.name for f in fields(PipelineConfig)]
    problems = []
    for name in sorted(set(names) - set(known)):
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        fix = f"rename it to {close[0]!r}" if close else "use one of the settings in docs/configuration.md, 'Configuration' (the fields of PipelineConfig)"
        problems.append(ConfigProblem(str(name), names[name], f"is not a setting{hint}", fix))
    return problems


def json_none_word(setting: str) -> str | None:
    """The word that stands for ``None`` of ``setting`` in cdktf.json (e.g. ``"off"``), or None when it has none."""
    for f in fields(PipelineConfig):
        if f.name == setting:
            return f.metadata.get(JSON_NONE)
    return None
