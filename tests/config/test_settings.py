"""PipelineConfig validation: every bad setting is named, with the value given and the fix."""

from __future__ import annotations

import pytest

from pipeline_config import ApiAuthorization, ConfigError, PipelineConfig
from pipeline_config.environments import config_for


def problems_of(**settings) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        PipelineConfig(**settings)
    return [str(p) for p in caught.value.problems]


def test_defaults_are_valid_and_documented_values():
    config = PipelineConfig()
    assert config.environment_suffix == "dev"
    assert config.processor_reserved_concurrency == 100
    assert config.max_receive_count == 3
    assert config.dlq_message_retention_seconds == 14 * 24 * 3600
    assert config.batch_size == 10 and config.batching_window_seconds == 5
    assert config.queue_visibility_timeout_seconds >= 6 * config.processor_timeout_seconds
    assert config.log_retention_days == 7
    assert config.api_authorization is ApiAuthorization.AWS_IAM
    assert config.effective_event_source_maximum_concurrency == 100


@pytest.mark.parametrize("suffix", ["Dev", "dev_1", "1dev", "dev-", "de--v", "", "dev!", "ünï"])
def test_suffix_with_characters_aws_rejects(suffix):
    (message,) = problems_of(environment_suffix=suffix)
    assert message.startswith("environment_suffix:")
    assert repr(suffix) in message
    assert "Fix:" in message


def test_suffix_too_long_names_the_limit():
    (message,) = problems_of(environment_suffix="a" * 25)
    assert "25 characters" in message and "24" in message and "shorten" in message


def test_visibility_timeout_too_short():
    (message,) = problems_of(processor_timeout_seconds=60, queue_visibility_timeout_seconds=300)
    assert message.startswith("queue_visibility_timeout_seconds:")
    assert "6 x processor_timeout_seconds = 360" in message and "(given 300)" in message
    assert "raise it to 360" in message


def test_maximum_concurrency_above_reserved_concurrency():
    (message,) = problems_of(processor_reserved_concurrency=20, event_source_maximum_concurrency=50)
    assert message.startswith("event_source_maximum_concurrency:")
    assert "(20)" in message and "(given 50)" in message and "set it to 20 or less" in message


def test_reserved_concurrency_can_be_turned_off():
    config = PipelineConfig(processor_reserved_concurrency=None)
    assert config.effective_event_source_maximum_concurrency is None
    # An explicit maximum concurrency is still allowed without a reservation.
    assert PipelineConfig(processor_reserved_concurrency=None, event_source_maximum_concurrency=5).effective_event_source_maximum_concurrency == 5


def test_dlq_retention_must_exceed_queue_retention():
    (message,) = problems_of(queue_message_retention_seconds=1_209_600, dlq_message_retention_seconds=1_209_600)
    assert message.startswith("dlq_message_retention_seconds:")


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        environment_suffix="BAD",
        log_retention_days=8,
        batch_size=0,
        alarm_email="not-an-email",
        api_authorization="basic",
        tags={"Project": "x"},
    )
    settings = [p.split(":", 1)[0] for p in problems]
    assert settings == ["environment_suffix", "tags", "log_retention_days", "batch_size", "api_authorization", "alarm_email"]


def test_authorization_aliases():
    # The spelling a JSON or environment setting gives (a str, not the enum the field declares): __post_init__ normalises it.
    assert PipelineConfig(api_authorization="api_key").api_authorization is ApiAuthorization.API_KEY  # type: ignore[arg-type]
    assert PipelineConfig(api_authorization="none").api_authorization is ApiAuthorization.NONE  # type: ignore[arg-type]
    assert PipelineConfig(api_authorization="iam").api_authorization is ApiAuthorization.AWS_IAM  # type: ignore[arg-type]


def test_prod_like_defaults():
    prod = config_for("prod")
    dev = config_for("dev")
    assert prod.effective_table_deletion_protection and not dev.effective_table_deletion_protection
    # Data trace writes customer data to logs: off everywhere unless turned on explicitly.
    assert not prod.api_data_trace_enabled and not dev.api_data_trace_enabled
    assert config_for("prod", api_data_trace_enabled=True).api_data_trace_enabled


def test_data_protections_follow_prod_like_unless_set_and_are_checked():
    assert config_for("prod").effective_prevent_destroy and not config_for("dev").effective_prevent_destroy
    assert (config_for("prod").effective_kms_deletion_window_days, config_for("dev").effective_kms_deletion_window_days) == (30, 7)
    with pytest.raises(ConfigError) as caught:
        config_for("dev", prevent_destroy="yes", kms_deletion_window_days=3)
    text = str(caught.value)
    assert 'prevent_destroy: must be true, false or "auto"' in text and "(given 'yes')" in text
    assert "kms_deletion_window_days:" in text and "(given 3)" in text and "7" in text and "30" in text


def test_unknown_setting_is_rejected_with_its_name_and_a_guess():
    with pytest.raises(ConfigError, match="reserved_concurency: is not a setting; did you mean 'processor_reserved_concurrency'"):
        config_for("dev", reserved_concurency=5)
    with pytest.raises(ConfigError, match=r"zzz: is not a setting \(given 5\)\. Fix: use one of the settings"):
        config_for("dev", zzz=5)


def test_reserved_concurrency_zero_is_not_off():
    (message,) = problems_of(processor_reserved_concurrency=0)
    assert message.startswith("processor_reserved_concurrency: 0 is not 'off'") and '"off"' in message


@pytest.mark.parametrize("suffix", ["account", "account-us-east-1"])
def test_account_suffixes_are_reserved_for_the_account_level_stacks(suffix):
    (message,) = problems_of(environment_suffix=suffix)
    assert message.startswith("environment_suffix: is reserved") and "orders-account-<region>" in message


def test_alarm_destination_settings_are_checked():
    problems = problems_of(alarm_sns_topic_arns=("arn:aws:sqs:us-east-1:123456789012:q",), alarm_destination_check="loud")
    assert [p.split(":", 1)[0] for p in problems] == ["alarm_sns_topic_arns", "alarm_destination_check"]
    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    (too_many,) = problems_of(alarm_sns_topic_arns=tuple(f"{topic}-{i}" for i in range(5)))
    assert "at most 4" in too_many
    config = PipelineConfig(alarm_sns_topic_arns=(topic,))
    assert config.has_alarm_destination and not PipelineConfig().has_alarm_destination


def test_alarm_destination_check_follows_prod_like_unless_set():
    assert PipelineConfig().effective_alarm_destination_check == "off"
    assert PipelineConfig(prod_like=True).effective_alarm_destination_check == "error"
    assert PipelineConfig(prod_like=True, alarm_destination_check="warn").effective_alarm_destination_check == "warn"
    assert config_for("staging").effective_alarm_destination_check == "warn"
    assert config_for("prod").effective_alarm_destination_check == "error"


@pytest.mark.parametrize("value", [None, 0, True, ["NONE"]])
def test_authorization_that_is_not_a_string_is_rejected_not_read_as_none(value):
    # JSON null in cdktf.json must not quietly become NONE (an open API).
    problems = problems_of(api_authorization=value)
    assert [p.split(":", 1)[0] for p in problems] == ["api_authorization"]
    assert "AWS_IAM" in problems[0]


def test_log_retention_true_is_not_one_day():
    assert [p.split(":", 1)[0] for p in problems_of(log_retention_days=True)] == ["log_retention_days"]


def test_layer_arn_required_outside_the_commercial_partition():
    (message,) = problems_of(region="cn-north-1")
    assert message.startswith("powertools_layer_arn:") and "cn-north-1" in message
    arn = "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"
    assert PipelineConfig(region="cn-north-1", powertools_layer_arn=arn).effective_powertools_layer_arn == arn
    assert PipelineConfig(region="eu-west-1").effective_powertools_layer_arn.startswith("arn:aws:lambda:eu-west-1:017000801446:")
