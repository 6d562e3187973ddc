"""``PipelineConfig``: every tunable of one environment, with documented, secure defaults.

Precedence (one order, everywhere): the defaults below, then the environment's
entry in ``pipeline_config.environments``, then what the constructs force
(encryption, point-in-time recovery, TLS-only queues) regardless of config.
Validation runs in ``__post_init__`` and reports every problem at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, Mapping

from pipeline_config.errors import ConfigError, ConfigProblem, whole_number_problem
from pipeline_config.naming import SUFFIX_MAX_LENGTH, SUFFIX_PATTERN, ResourceNames

# Lambda does not let a function's reserved concurrency exceed the account quota;
# 1000 is the default regional quota.
_MAX_RESERVED_CONCURRENCY = 1000
# SQS event source maximum concurrency must be between 2 and 1000.
_ESM_MAX_CONCURRENCY_RANGE = (2, 1000)
#: The only retention values CloudWatch Logs accepts (also checked by the constructs).
VALID_LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
#: The longest an SQS queue keeps a message (14 days).
SQS_MAX_RETENTION_SECONDS = 1_209_600
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Maximum SQS message size (bytes); the API handler rejects larger orders with 413.
SQS_MAX_MESSAGE_BYTES = 262_144


class ApiAuthorization(str, Enum):
    """How callers authenticate to the REST API."""

    AWS_IAM = "AWS_IAM"  # SigV4-signed requests; the default.
    API_KEY = "API_KEY"  # x-api-key header, with a usage plan (throttle + quota).
    NONE = "NONE"  # open API; only for throw-away sandboxes.

    @classmethod
    def parse(cls, value: "str | ApiAuthorization") -> "ApiAuthorization":
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
    """Marks production-like environments: turns on table deletion protection unless it is
    set explicitly."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra provider default tags, merged under Project/Environment/ManagedBy."""

    # --- Lambda -----------------------------------------------------------------------------
    api_handler_timeout_seconds: int = 10
    """API-handler timeout. API Gateway gives up after 29 s, so keep it below that."""
    api_handler_memory_mb: int = 256
    """API-handler memory (also scales its CPU)."""
    processor_timeout_seconds: int = 30
    """Order-processor timeout; the queue's visibility timeout must be at least 6x this."""
    processor_memory_mb: int = 256
    """Order-processor memory."""
    processor_reserved_concurrency: int | None = 100
    """Reserved concurrency of the processor. ``None`` turns the reservation off, for new
    accounts whose concurrency quota (often 10) cannot reserve 100."""
    log_retention_days: int = 7
    """Retention of every log group the stack creates (one of CloudWatch's allowed values)."""
    log_level: str = "INFO"
    """POWERTOOLS_LOG_LEVEL of both functions."""
    powertools_layer_version: int = 27
    """Version of the public Powertools for AWS Lambda (Python) v3 layer, pinned so a
    deploy is reproducible. See README, 'Powertools layer'."""
    powertools_layer_arn: str | None = None
    """Full layer ARN, overriding ``powertools_layer_version`` (e.g. a private mirror)."""

    # --- queue ------------------------------------------------------------------------------
    queue_visibility_timeout_seconds: int = 180
    """Visibility timeout of the order queue; >= 6 x processor timeout, as AWS advises for
    Lambda event sources, so in-flight messages are not delivered twice."""
    queue_message_retention_seconds: int = 4 * 24 * 3600
    """How long an unprocessed order waits in the queue (4 days)."""
    dlq_message_retention_seconds: int = 14 * 24 * 3600
    """How long a failed order waits in the DLQ (14 days, the SQS maximum). Must exceed the
    queue's retention: SQS keeps a message's original enqueue time when it moves it."""
    max_receive_count: int = 3
    """Receives before SQS moves a message to the DLQ."""

    # --- event source mapping ---------------------------------------------------------------
    batch_size: int = 10
    """Records per processor invocation."""
    batching_window_seconds: int = 5
    """How long Lambda gathers records before invoking with a partial batch."""
    event_source_maximum_concurrency: int | None = None
    """``scaling_config.maximum_concurrency``. ``None``: equal to the reserved concurrency
    (or omitted when that is off). Must not exceed the reserved concurrency."""

    # --- DynamoDB ---------------------------------------------------------------------------
    table_deletion_protection: bool | None = None
    """Deletion protection of the orders table. ``None``: on when ``prod_like``."""

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
    manage_api_gateway_account: bool = True
    """Create the region-wide ``aws_api_gateway_account`` and its CloudWatch role. It is a
    singleton per account and region: turn this off in every stack but one."""

    # --- alarms -----------------------------------------------------------------------------
    alarm_email: str | None = None
    """E-mail address subscribed to the alarm topic (confirmation needed once)."""
    alarm_period_seconds: int = 60
    """Period of every alarm's metric."""
    alarm_evaluation_periods: int = 1
    """Periods that must breach before an alarm fires."""
    processor_errors_threshold: int = 1
    """Processor errors per period that page."""
    processor_throttles_threshold: int = 1
    """Processor throttles per period that page."""
    api_handler_errors_threshold: int = 1
    """API-handler errors per period that page."""
    api_5xx_threshold: int = 1
    """API 5XX responses per period that page."""
    queue_depth_threshold: int = 1000
    """Visible messages in the order queue that page (a backlog)."""
    queue_oldest_message_age_seconds_threshold: int = 300
    """Age of the oldest queued order that pages (processing stalled)."""

    def __post_init__(self) -> None:
        # Normalise the enum first so a string from JSON/env works like the enum.
        try:
            object.__setattr__(self, "api_authorization", ApiAuthorization.parse(self.api_authorization))
        except ValueError:
            pass  # reported by validate()
        problems = self.problems()
        if problems:
            raise ConfigError(problems, context=f"configuration for environment {self.environment_suffix!r}")

    # ------------------------------------------------------------------ derived values
    @property
    def names(self) -> ResourceNames:
        """Physical names of every resource in this environment."""
        return ResourceNames(self.environment_suffix)

    @property
    def effective_table_deletion_protection(self) -> bool:
        """Deletion protection after applying the prod-like default."""
        return self.prod_like if self.table_deletion_protection is None else self.table_deletion_protection

    @property
    def effective_api_data_trace_enabled(self) -> bool:
        """Data trace as deployed (kept as a property so callers need not change if a default moves)."""
        return self.api_data_trace_enabled

    @property
    def effective_event_source_maximum_concurrency(self) -> int | None:
        """The ESM maximum concurrency after applying its default."""
        if self.event_source_maximum_concurrency is not None:
            return self.event_source_maximum_concurrency
        if self.processor_reserved_concurrency is None:
            return None
        low, high = _ESM_MAX_CONCURRENCY_RANGE
        return max(low, min(high, self.processor_reserved_concurrency))

    @property
    def effective_powertools_layer_arn(self) -> str:
        """The Powertools layer ARN the functions use."""
        if self.powertools_layer_arn:
            return self.powertools_layer_arn
        # Only the commercial partition: China and GovCloud get their layer from other
        # accounts, so validation requires powertools_layer_arn there.
        return (
            f"arn:aws:lambda:{self.region}:017000801446:layer:"
            f"AWSLambdaPowertoolsPythonV3-python312-x86_64:{self.powertools_layer_version}"
        )

    def with_overrides(self, **overrides: Any) -> "PipelineConfig":
        """Return a validated copy with some settings changed."""
        unknown = sorted(set(overrides) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(
                [ConfigProblem(name, overrides[name], "is not a setting", "use one of the fields of PipelineConfig (README, 'Configuration')") for name in unknown]
            )
        return replace(self, **overrides)

    # ------------------------------------------------------------------ validation
    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting, in field order. Empty when the config is valid."""
        p: list[ConfigProblem] = []

        def bad(setting: str, problem: str, fix: str) -> None:
            p.append(ConfigProblem(setting, getattr(self, setting), problem, fix))

        def int_range(setting: str, low: int, high: int, unit: str = "") -> bool:
            problem = whole_number_problem(setting, getattr(self, setting), low, high, unit)
            if problem:
                p.append(problem)
            return problem is None

        suffix = self.environment_suffix
        if not isinstance(suffix, str) or not SUFFIX_PATTERN.match(suffix):
            bad(
                "environment_suffix",
                "must start with a lowercase letter and hold only lowercase letters, digits and single hyphens, "
                "not ending in a hyphen (AWS rejects other characters in some resource names)",
                "use e.g. 'dev', 'staging' or 'pr-123' (ENVIRONMENT_SUFFIX or cdktf context 'environmentSuffix')",
            )
        elif len(suffix) > SUFFIX_MAX_LENGTH:
            bad(
                "environment_suffix",
                f"is {len(suffix)} characters; at most {SUFFIX_MAX_LENGTH} fit in every AWS name limit (Lambda and IAM role names: 64)",
                f"shorten it to {SUFFIX_MAX_LENGTH} characters or fewer",
            )
        if not isinstance(self.region, str) or not _REGION_PATTERN.match(self.region):
            bad("region", "is not an AWS region name", "use e.g. 'us-east-1' or 'eu-west-1'")

        int_range("api_handler_timeout_seconds", 1, 29, " s (API Gateway's integration timeout is 29 s)")
        processor_ok = int_range("processor_timeout_seconds", 1, 900, " s")
        int_range("api_handler_memory_mb", 128, 10240, " MB")
        int_range("processor_memory_mb", 128, 10240, " MB")
        reserved = self.processor_reserved_concurrency
        reserved_ok = reserved is None or int_range("processor_reserved_concurrency", 1, _MAX_RESERVED_CONCURRENCY)
        # bool is excluded explicitly: True == 1 would pass the membership test.
        if isinstance(self.log_retention_days, bool) or self.log_retention_days not in VALID_LOG_RETENTION_DAYS:
            bad("log_retention_days", f"is not a CloudWatch Logs retention value {VALID_LOG_RETENTION_DAYS}", "pick one of the listed values, e.g. 7, 30 or 365")
        if not isinstance(self.log_level, str) or self.log_level.upper() not in _LOG_LEVELS:
            bad("log_level", f"must be one of {', '.join(_LOG_LEVELS)}", "set log_level to e.g. 'INFO'")
        int_range("powertools_layer_version", 1, 10_000)
        if (
            self.powertools_layer_arn is None
            and isinstance(self.region, str)
            and (self.region.startswith("cn-") or "-gov-" in self.region)
        ):
            bad(
                "powertools_layer_arn",
                f"must be set in region {self.region}: the public Powertools layer is published from another account in the China and GovCloud partitions",
                "copy the layer ARN for your partition from the Powertools documentation into powertools_layer_arn",
            )
        if self.powertools_layer_arn is not None and not str(self.powertools_layer_arn).startswith("arn:"):
            bad("powertools_layer_arn", "is not an ARN", "give a full layer version ARN or leave it unset")

        visibility_ok = int_range("queue_visibility_timeout_seconds", 0, 43_200, " s")
        if visibility_ok and processor_ok and self.queue_visibility_timeout_seconds < 6 * self.processor_timeout_seconds:
            bad(
                "queue_visibility_timeout_seconds",
                f"must be at least 6 x processor_timeout_seconds = {6 * self.processor_timeout_seconds} s, "
                "or messages reappear while a batch is still being processed",
                f"raise it to {6 * self.processor_timeout_seconds} or lower processor_timeout_seconds",
            )
        queue_ret_ok = int_range("queue_message_retention_seconds", 60, SQS_MAX_RETENTION_SECONDS, " s")
        dlq_ret_ok = int_range("dlq_message_retention_seconds", 60, SQS_MAX_RETENTION_SECONDS, " s")
        if queue_ret_ok and dlq_ret_ok and self.dlq_message_retention_seconds <= self.queue_message_retention_seconds:
            bad(
                "dlq_message_retention_seconds",
                f"must be longer than queue_message_retention_seconds ({self.queue_message_retention_seconds}); "
                "SQS keeps the original enqueue time, so a shorter DLQ retention silently drops failed orders",
                "raise it (the maximum, 1209600 = 14 days, is the default) or lower the queue's retention",
            )
        int_range("max_receive_count", 1, 1000)

        batch_ok = int_range("batch_size", 1, 10_000)
        window_ok = int_range("batching_window_seconds", 0, 300, " s")
        if batch_ok and window_ok and self.batch_size > 10 and self.batching_window_seconds < 1:
            bad("batching_window_seconds", "must be at least 1 s when batch_size is above 10 (an AWS rule)", "set batching_window_seconds >= 1 or batch_size <= 10")
        esm = self.event_source_maximum_concurrency
        if esm is not None:
            low, high = _ESM_MAX_CONCURRENCY_RANGE
            if int_range("event_source_maximum_concurrency", low, high) and reserved_ok and reserved is not None and esm > reserved:
                bad(
                    "event_source_maximum_concurrency",
                    f"must not exceed processor_reserved_concurrency ({reserved}), or the event source invokes "
                    "into throttles and messages bounce back to the queue",
                    f"set it to {reserved} or less, or raise processor_reserved_concurrency",
                )
        elif reserved_ok and reserved is not None and reserved < _ESM_MAX_CONCURRENCY_RANGE[0]:
            bad(
                "processor_reserved_concurrency",
                "must be at least 2 while the event source's maximum concurrency follows it (its minimum is 2)",
                "set processor_reserved_concurrency >= 2, or None to turn the reservation off",
            )

        for flag in ("prod_like", "manage_api_gateway_account", "api_data_trace_enabled"):
            if not isinstance(getattr(self, flag), bool):
                bad(flag, "must be true or false", f"set {flag} to True or False")
        for flag in ("table_deletion_protection",):
            if getattr(self, flag) is not None and not isinstance(getattr(self, flag), bool):
                bad(flag, "must be true, false or None (None: follow prod_like)", f"set {flag} to True, False or None")

        if not isinstance(self.api_authorization, ApiAuthorization):
            bad("api_authorization", "is not an authorization mode", "use 'AWS_IAM' (default), 'API_KEY' or 'NONE'")
        rate = self.api_throttle_rate_limit
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            bad("api_throttle_rate_limit", "must be a positive number of requests per second", "set e.g. 100")
        int_range("api_throttle_burst_limit", 1, 1_000_000)
        int_range("api_quota_limit_per_day", 1, 1_000_000_000)

        if self.alarm_email is not None and (not isinstance(self.alarm_email, str) or not _EMAIL_PATTERN.match(self.alarm_email)):
            bad("alarm_email", "is not an e-mail address", "give e.g. 'oncall@example.com', or leave it unset")
        if self.alarm_period_seconds not in (10, 20, 30) and not (
            isinstance(self.alarm_period_seconds, int) and self.alarm_period_seconds >= 60 and self.alarm_period_seconds % 60 == 0
        ):
            bad("alarm_period_seconds", "must be 10, 20, 30 or a multiple of 60 (a CloudWatch rule)", "set e.g. 60")
        int_range("alarm_evaluation_periods", 1, 100)
        for threshold in (
            "processor_errors_threshold",
            "processor_throttles_threshold",
            "api_handler_errors_threshold",
            "api_5xx_threshold",
            "queue_depth_threshold",
            "queue_oldest_message_age_seconds_threshold",
        ):
            int_range(threshold, 1, 100_000_000)
        if not isinstance(self.tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()):
            bad("tags", "must map strings to strings", "give e.g. {'CostCenter': '1234'}")
        elif reserved_keys := sorted(set(self.tags) & {"Project", "Environment", "ManagedBy"}):
            bad("tags", f"may not redefine {', '.join(reserved_keys)}; the stack sets them", "remove those keys from tags")

        if not p and (too_long := self.names.length_problems()):
            for what, name, limit in too_long:
                p.append(ConfigProblem("environment_suffix", suffix, f"makes {what} {name!r} {len(name)} characters, over the AWS limit of {limit}", "use a shorter suffix"))
        return p
