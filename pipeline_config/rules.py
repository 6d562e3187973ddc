"""The AWS rules both the configuration and the constructs enforce, each written once.

``PipelineConfig`` checks a whole environment with these functions; the constructs in
``constructs_lib`` check their props with the same ones, each caller passing its own
setting names, so a message names what its user typed (``processor_timeout_seconds`` in
cdktf.json, ``function.timeout_seconds`` for a construct's props). Pure Python: no cdktf,
so the configuration is validated without starting jsii.

A rule returns the problem(s) it finds, or nothing; it says nothing about values it cannot
judge (not whole numbers, tokens), because each caller reports those with its range checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline_config.errors import ConfigProblem, is_whole_number, whole_number_problem

#: How a synth treats the handlers' bytecode (``lambda_bytecode``; ``constructs_lib.support.bytecode``).
LAMBDA_BYTECODE_MODES = ("auto", "required", "off")

# --------------------------------------------------------------------------- AWS limits
#: Lambda function timeout, seconds.
LAMBDA_TIMEOUT_SECONDS = (1, 900)
#: Lambda function memory, MB.
LAMBDA_MEMORY_MB = (128, 10_240)
#: SQS visibility timeout, seconds (0 to 12 hours).
SQS_VISIBILITY_TIMEOUT_SECONDS = (0, 43_200)
#: The longest an SQS queue keeps a message (14 days).
SQS_MAX_RETENTION_SECONDS = 1_209_600
#: SQS message retention, seconds (1 minute to 14 days).
SQS_RETENTION_SECONDS = (60, SQS_MAX_RETENTION_SECONDS)
#: Receives before SQS moves a message to its dead-letter queue.
SQS_MAX_RECEIVE_COUNT = (1, 1000)
#: Records per invocation of an SQS event source mapping.
ESM_BATCH_SIZE = (1, 10_000)
#: Seconds an SQS event source gathers records before invoking.
ESM_BATCHING_WINDOW_SECONDS = (0, 300)
#: ``scaling_config.maximum_concurrency`` of an SQS event source.
ESM_MAXIMUM_CONCURRENCY = (2, 1000)
#: AWS advises a queue visibility timeout of at least 6 x the function timeout for SQS event sources.
VISIBILITY_TIMEOUT_FACTOR = 6
#: Stage-wide API Gateway throttle burst (and a usage plan's), requests.
API_THROTTLE_BURST_LIMIT = (1, 1_000_000)
#: Requests per day per API key of a usage plan.
API_QUOTA_PER_DAY = (1, 1_000_000_000)
#: The only retention values CloudWatch Logs accepts.
VALID_LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
#: CloudWatch alarm periods below a minute (high resolution); longer ones are multiples of 60.
ALARM_HIGH_RESOLUTION_PERIODS = (10, 20, 30)
#: Evaluation periods of one alarm.
ALARM_EVALUATION_PERIODS = (1, 100)
#: period x evaluation periods may not exceed one day.
ALARM_MAX_EVALUATION_WINDOW_SECONDS = 24 * 3600
#: Days KMS waits before deleting a key scheduled for deletion (AWS allows 7 to 30): the time left to cancel.
KMS_DELETION_WINDOW_DAYS = (7, 30)
#: The window of prod-like environments (the longest chance to cancel a deletion) and of the others
#: (review and dev stacks come and go; their keys should not linger for a month).
KMS_DELETION_WINDOW_DAYS_PROD_LIKE = 30
KMS_DELETION_WINDOW_DAYS_OTHERS = 7
#: CloudWatch allows five actions per alarm state.
ALARM_MAX_ACTIONS_PER_STATE = 5
#: Alarm thresholds (same setting names in ``PipelineConfig`` and ``PipelineAlarmsProps``) and their
#: highest value. 0 with ">=" would fire every period, so 1 is the lowest useful one; no queued
#: message is older than the SQS retention maximum.
#: The event sweep: how often it runs (a day at most: the alarm watches two intervals, and an
#: alarm's window is at most a day), how old an unconfirmed event must be, the sweeper's timeout
#: (it needs 10 s for a page, Lambda allows 900).
EVENT_SWEEP_INTERVAL_MINUTES = (1, 720)
EVENT_SWEEP_MIN_AGE_SECONDS = (0, 86_400)
EVENT_SWEEPER_TIMEOUT_SECONDS = (20, 900)
#: Orders a sweep could not publish that page (the ``EventSweep`` alarm; not a ``PipelineAlarms`` one).
UNPUBLISHED_EVENTS_THRESHOLD = (1, 100_000_000)

ALARM_THRESHOLDS: Mapping[str, int] = {
    "processor_errors_threshold": 100_000_000,
    "processor_throttles_threshold": 100_000_000,
    "api_handler_errors_threshold": 100_000_000,
    "api_5xx_threshold": 100_000_000,
    "queue_depth_threshold": 100_000_000,
    "queue_oldest_message_age_seconds_threshold": SQS_MAX_RETENTION_SECONDS,
    "order_conflicts_threshold": 100_000_000,
}

_REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"
#: An AWS region name, e.g. ``us-east-1`` or ``us-gov-west-1``.
REGION_PATTERN = re.compile(rf"^{_REGION}$")
#: An SNS topic ARN in any partition.
SNS_TOPIC_ARN_PATTERN = re.compile(rf"^arn:aws[a-z-]*:sns:{_REGION}:\d{{12}}:[A-Za-z0-9_-]{{1,256}}(\.fifo)?$")
#: An e-mail address, as far as a synth can tell (SNS asks the address to confirm anyway).
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- single values
def is_region(value: object) -> bool:
    """True for an AWS region name."""
    return isinstance(value, str) and REGION_PATTERN.match(value) is not None


def log_retention_problem(days: object, *, setting: str) -> ConfigProblem | None:
    """``days`` must be a retention CloudWatch Logs accepts."""
    # bool is excluded explicitly: True == 1 would pass the membership test.
    if not isinstance(days, bool) and days in VALID_LOG_RETENTION_DAYS:
        return None
    return ConfigProblem(setting, days, f"is not a CloudWatch Logs retention value {VALID_LOG_RETENTION_DAYS}", "pick one of the listed values, e.g. 7, 30 or 365")


def email_problem(address: object, *, setting: str) -> ConfigProblem | None:
    """``address`` must look like an e-mail address."""
    if isinstance(address, str) and EMAIL_PATTERN.match(address):
        return None
    return ConfigProblem(setting, address, "is not an e-mail address", 'give e.g. "oncall@example.com"')


def request_rate_problem(rate: object, *, setting: str) -> ConfigProblem | None:
    """An API Gateway throttle rate: a positive, finite number of requests per second."""
    if not isinstance(rate, bool) and isinstance(rate, (int, float)) and 0 < rate < float("inf"):
        return None
    return ConfigProblem(setting, rate, "must be a positive number of requests per second", f"set {setting} to e.g. 100")


# --------------------------------------------------------------------------- queue and event source
def visibility_timeout_problem(visibility: object, timeout: object, *, visibility_setting: str, timeout_setting: str) -> ConfigProblem | None:
    """The queue's visibility timeout must be at least 6 x its consumer's timeout."""
    if not (is_whole_number(visibility) and is_whole_number(timeout)) or visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout:
        return None
    required = VISIBILITY_TIMEOUT_FACTOR * timeout
    return ConfigProblem(
        visibility_setting,
        visibility,
        f"must be at least {VISIBILITY_TIMEOUT_FACTOR} x {timeout_setting} = {required} s, or messages reappear while a batch is still being processed",
        f"raise it to {required} or lower {timeout_setting} to {visibility // VISIBILITY_TIMEOUT_FACTOR} or less",
    )


def dlq_retention_problem(queue_retention: object, dlq_retention: object, *, queue_setting: str, dlq_setting: str) -> ConfigProblem | None:
    """The dead-letter queue must keep messages longer than its source queue."""
    if not (is_whole_number(queue_retention) and is_whole_number(dlq_retention)) or dlq_retention > queue_retention:
        return None
    return ConfigProblem(
        dlq_setting,
        dlq_retention,
        f"must be longer than {queue_setting} ({queue_retention}); SQS keeps a message's original enqueue time when it moves it to the DLQ, so a shorter DLQ retention silently drops failed orders",
        f"raise it above {queue_retention} (the maximum, {SQS_MAX_RETENTION_SECONDS} = 14 days, is the default) or lower {queue_setting}",
    )


def batching_window_problem(batch_size: object, window: object, *, batch_setting: str, window_setting: str) -> ConfigProblem | None:
    """An SQS event source with batches above 10 records needs a batching window of at least 1 s."""
    if not (is_whole_number(batch_size) and is_whole_number(window)) or batch_size <= 10 or window >= 1:
        return None
    return ConfigProblem(
        window_setting,
        window,
        f"must be at least 1 s when {batch_setting} is above 10 ({batch_setting} is {batch_size}; an AWS rule)",
        f"set {window_setting} >= 1 or {batch_setting} <= 10",
    )


def default_event_source_maximum_concurrency(reserved_concurrency: int | None) -> int | None:
    """The event source's maximum concurrency when none is set: the function's reservation, within 2..1000; None without one."""
    if reserved_concurrency is None:
        return None
    low, high = ESM_MAXIMUM_CONCURRENCY
    return max(low, min(high, reserved_concurrency))


def event_source_concurrency_problem(maximum: object, reserved: object, *, maximum_setting: str, reserved_setting: str) -> ConfigProblem | None:
    """The event source's maximum concurrency: 2..1000 and within the function's reservation.

    ``maximum`` None follows the reservation (``default_event_source_maximum_concurrency``),
    which then must be at least 2. ``reserved`` None is no reservation.
    """
    low, high = ESM_MAXIMUM_CONCURRENCY
    if maximum is not None:
        problem = whole_number_problem(maximum_setting, maximum, low, high)
        if problem is None and is_whole_number(maximum) and is_whole_number(reserved) and maximum > reserved:
            problem = ConfigProblem(
                maximum_setting,
                maximum,
                f"must not exceed {reserved_setting} ({reserved}), or the event source invokes into throttles and messages bounce back to the queue",
                f"set it to {reserved} or less, or raise {reserved_setting}",
            )
        return problem
    if is_whole_number(reserved) and reserved < low:
        return ConfigProblem(
            reserved_setting,
            reserved,
            f"must be at least {low} while the event source's maximum concurrency follows it (its minimum is {low})",
            f"set {reserved_setting} >= {low}, turn the reservation off, or set {maximum_setting}",
        )
    return None


# --------------------------------------------------------------------------- alarms
def alarm_problems(values: Mapping[str, object], *, period_setting: str, evaluations_setting: str) -> list[ConfigProblem]:
    """Period, evaluation periods (and their product) and every ``ALARM_THRESHOLDS`` entry of ``values``."""
    problems: list[ConfigProblem] = []
    period, evaluations = values[period_setting], values[evaluations_setting]
    period_ok = is_whole_number(period) and (period in ALARM_HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0))
    if not period_ok:
        problems.append(ConfigProblem(period_setting, period, "must be 10, 20, 30 or a multiple of 60 (a CloudWatch rule)", f"set {period_setting} to e.g. 60"))
    evaluations_problem = whole_number_problem(evaluations_setting, evaluations, *ALARM_EVALUATION_PERIODS)
    if evaluations_problem:
        problems.append(evaluations_problem)
    elif period_ok and is_whole_number(period) and is_whole_number(evaluations) and period * evaluations > ALARM_MAX_EVALUATION_WINDOW_SECONDS:
        problems.append(
            ConfigProblem(
                evaluations_setting,
                evaluations,
                f"x {period_setting} ({period}) = {period * evaluations} s exceeds CloudWatch's one-day evaluation window",
                f"use at most {ALARM_MAX_EVALUATION_WINDOW_SECONDS // period} evaluation periods, or a shorter {period_setting}",
            )
        )
    for setting, high in ALARM_THRESHOLDS.items():
        problem = whole_number_problem(setting, values[setting], 1, high)
        if problem:
            problems.append(problem)
    return problems
