"""Which stacks a synth writes, and the whole-configuration checks on the way (pure Python, no synth)."""

from __future__ import annotations

import pytest

from pipeline_config import ConfigError
from pipeline_config.environments import ENVIRONMENTS
from pipeline_config.selection import select_stacks, settings_from_json

# The repository's prod opts out of the alarm-destination refusal in cdktf.json; tests that are
# not about alarms give every environment a destination instead, so they stay about one thing.
ALARMS = {suffix: {"alarm_email": f"oncall-{suffix}@example.com"} for suffix in ENVIRONMENTS}


def context(**per_environment) -> dict:
    """A cdktf context whose orderPipeline overrides merge ``per_environment`` into ALARMS."""
    merged = {suffix: dict(settings) for suffix, settings in ALARMS.items()}
    for suffix, settings in per_environment.items():
        merged.setdefault(suffix, {}).update(settings)
    return {"orderPipeline": merged}


def problems_of(environ: dict, ctx: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        select_stacks(environ, ctx)
    return [str(p) for p in caught.value.problems]


# ------------------------------------------------------------------------------ selection
def test_a_full_synth_is_every_environment_and_one_account_stack_per_region():
    selection = select_stacks({}, context())
    assert selection.stack_names == ["orders-dev", "orders-staging", "orders-prod", "orders-account-us-east-1"]
    assert selection.account_setting_owners == {"us-east-1": "orders-account-us-east-1"}


def test_one_environment_alone_and_the_account_stacks_alone():
    assert select_stacks({"ENVIRONMENT_SUFFIX": "pr-7"}, context()).stack_names == ["orders-pr-7"]
    assert select_stacks({}, {**context(), "environmentSuffix": "staging"}).stack_names == ["orders-staging"]
    # The environment variable wins over the context.
    assert select_stacks({"ENVIRONMENT_SUFFIX": "dev"}, {**context(), "environmentSuffix": "staging"}).stack_names == ["orders-dev"]
    assert select_stacks({"ENVIRONMENT_SUFFIX": "account"}, context()).stack_names == ["orders-account-us-east-1"]


def test_an_environment_in_another_region_gets_its_own_account_stack():
    selection = select_stacks({}, context(staging={"region": "eu-west-1"}))
    assert selection.stack_names[-2:] == ["orders-account-eu-west-1", "orders-account-us-east-1"]


def test_overrides_apply_per_environment():
    by_suffix = {c.environment_suffix: c for c in select_stacks({}, context(prod={"log_level": "DEBUG"})).environments}
    assert by_suffix["prod"].log_level == "DEBUG" and by_suffix["dev"].log_level == "INFO"


def test_an_invalid_selected_suffix_is_named():
    (message,) = problems_of({"ENVIRONMENT_SUFFIX": "PR_7"}, context())
    assert message.startswith("[PR_7] environment_suffix:")


# ------------------------------------------------------------------------------ errors name their environment
def test_problems_of_two_environments_say_which_is_which():
    problems = problems_of({}, context(staging={"log_retention_days": 8}, prod={"log_retention_days": 8}))
    assert [p.split(" ", 1)[0] for p in problems] == ["[staging]", "[prod]"]
    assert problems[0].split(" ", 1)[1] == problems[1].split(" ", 1)[1]


def test_a_non_selected_environment_is_validated_too():
    # A broken prod override must not hide until the day prod is synthesized.
    (message,) = problems_of({"ENVIRONMENT_SUFFIX": "dev"}, context(prod={"batch_size": 0}))
    assert message.startswith("[prod] batch_size:")


def test_unknown_environment_key_is_an_error_with_a_guess():
    (message,) = problems_of({}, context(prd={"alarm_email": "x@example.com"}))
    assert message == ("context.orderPipeline: is not an environment (listed: dev, staging, prod); did you mean 'prod'? (given 'prd'). Fix: rename it to 'prod', or remove it")


def test_overrides_of_the_selected_unlisted_environment_are_accepted():
    (pr,) = select_stacks({"ENVIRONMENT_SUFFIX": "pr-7"}, context(**{"pr-7": {"log_level": "DEBUG"}})).environments
    assert pr.log_level == "DEBUG"
    # ...but they are unknown keys in a synth that does not select it.
    (message,) = problems_of({}, context(**{"pr-7": {"log_level": "DEBUG"}}))
    assert "'pr-7'" in message and "ENVIRONMENT_SUFFIX=pr-7" in message


def test_unknown_setting_name_is_an_error_with_a_guess_and_its_environment():
    (message,) = problems_of({}, context(prod={"alarm_emial": "oncall@example.com"}))
    assert message.startswith("[prod] alarm_emial: is not a setting; did you mean 'alarm_email'?")


def test_a_near_miss_of_the_context_key_is_an_error():
    (message,) = problems_of({}, {**context(), "orderPipelines": {"prod": {}}})
    assert message.startswith("context.orderPipelines: is not a context key this app reads; did you mean 'orderPipeline'?")
    # Other keys (cdktf feature flags, other tools) are left alone.
    select_stacks({}, {**context(), "excludeStackIdFromLogicalIds": "true"})


def test_overrides_must_be_objects_of_settings():
    (message,) = problems_of({}, {"orderPipeline": ["dev"]})
    assert message.startswith("context.orderPipeline: must map environment suffixes to objects of settings")


def test_an_override_cannot_rename_the_environment():
    (message,) = problems_of({"ENVIRONMENT_SUFFIX": "dev"}, context(dev={"environment_suffix": "other"}))
    assert message.startswith("[dev] environment_suffix:") and "given 'other'" in message
    # Repeating its own suffix is harmless.
    select_stacks({"ENVIRONMENT_SUFFIX": "dev"}, context(dev={"environment_suffix": "dev"}))


# ------------------------------------------------------------------------------ "off" values that survive jsii
def test_off_words_stand_for_none_and_null_is_refused():
    settings, problems = settings_from_json({"processor_reserved_concurrency": "off", "table_deletion_protection": "auto", "alarm_sns_topic_arns": ["arn:aws:sns:us-east-1:123456789012:t"]})
    assert settings == {"processor_reserved_concurrency": None, "table_deletion_protection": None, "alarm_sns_topic_arns": ("arn:aws:sns:us-east-1:123456789012:t",)}
    assert problems == []
    _, (null,) = settings_from_json({"processor_reserved_concurrency": None})
    assert str(null).startswith("processor_reserved_concurrency: null is not accepted")
    assert 'use "off" for None' in str(null) and "default (100)" in str(null)


def test_reservation_off_reaches_the_config_and_null_names_the_word_to_use():
    (dev,) = select_stacks({"ENVIRONMENT_SUFFIX": "dev"}, context(dev={"processor_reserved_concurrency": "off"})).environments
    assert dev.processor_reserved_concurrency is None and dev.effective_event_source_maximum_concurrency is None
    (message,) = problems_of({"ENVIRONMENT_SUFFIX": "dev"}, context(dev={"processor_reserved_concurrency": None}))
    assert message.startswith("[dev] processor_reserved_concurrency: null is not accepted")


# ------------------------------------------------------------------------------ one owner of the account setting
def test_a_designated_environment_replaces_the_account_stack_of_its_region():
    selection = select_stacks({}, context(prod={"manage_api_gateway_account": True}))
    assert selection.stack_names == ["orders-dev", "orders-staging", "orders-prod"]
    assert selection.account_setting_owners == {"us-east-1": "orders-prod"}


def test_two_owners_in_one_region_are_refused():
    (message,) = problems_of({}, context(staging={"manage_api_gateway_account": True}, prod={"manage_api_gateway_account": True}))
    assert message.startswith("manage_api_gateway_account: is set in staging, prod, all in us-east-1")


def test_a_review_environment_may_not_own_the_account_setting():
    (message,) = problems_of({"ENVIRONMENT_SUFFIX": "pr-9"}, context(**{"pr-9": {"manage_api_gateway_account": True}}))
    assert message.startswith("[pr-9] manage_api_gateway_account: an unlisted (review) environment may not own")


def test_account_is_not_an_environment_key():
    (message,) = problems_of({}, context(account={"region": "eu-west-1"}))
    assert "has no settings: it selects the account-level stacks" in message


# ------------------------------------------------------------------------------ alarm destinations
def test_prod_without_an_alarm_destination_refuses_to_synthesize():
    ctx = context()
    del ctx["orderPipeline"]["prod"]
    (message,) = problems_of({}, ctx)
    assert message.startswith("[prod] alarm_email: no alarm destination: every alarm of orders-prod notifies order-alarms-prod")
    assert '"alarm_destination_check": "off"' in message


def test_an_sns_topic_is_a_destination_and_off_is_the_explicit_opt_out():
    topic = {"alarm_sns_topic_arns": ["arn:aws:sns:us-east-1:123456789012:chat-oncall"]}
    ctx = context()
    ctx["orderPipeline"]["prod"] = topic
    assert select_stacks({"ENVIRONMENT_SUFFIX": "prod"}, ctx).warnings == ()
    ctx["orderPipeline"]["prod"] = {"alarm_destination_check": "off"}
    assert select_stacks({"ENVIRONMENT_SUFFIX": "prod"}, ctx).warnings == ()


def test_staging_without_a_destination_warns_once_naming_the_setting_and_the_fix():
    ctx = context()
    del ctx["orderPipeline"]["staging"]
    (warning,) = select_stacks({}, ctx).warnings
    assert str(warning).startswith("[staging] alarm_email: no alarm destination") and "Fix: set alarm_email" in str(warning)


def test_the_alarm_rule_applies_to_the_selected_stacks_only():
    ctx = context()
    del ctx["orderPipeline"]["prod"]
    assert select_stacks({"ENVIRONMENT_SUFFIX": "dev"}, ctx).stack_names == ["orders-dev"]


def test_a_quoted_number_or_boolean_says_it_is_in_quotes_not_that_the_value_is_wrong():
    """`"log_retention_days": "14"` used to read as "14 is not a retention value"."""
    messages = problems_of({}, context(dev={"log_retention_days": "14", "api_throttle_rate_limit": " 50.5 ", "prod_like": "True"}))
    assert any(m.startswith("[dev] log_retention_days: must be a number, not a string (it is in quotes) (given '14'). Fix: write log_retention_days: 14 without the quotes") for m in messages), (
        messages
    )
    assert any("api_throttle_rate_limit: must be a number, not a string" in m and "write api_throttle_rate_limit: 50.5 without the quotes" in m for m in messages), messages
    assert any("prod_like: must be true or false, not a string" in m and "write prod_like: true without the quotes" in m for m in messages), messages
    assert not any("CloudWatch Logs retention value" in m for m in messages)  # one problem per setting
    # The spelled-out words keep their meaning; a quoted word that is not a number is judged as before.
    assert select_stacks({"ENVIRONMENT_SUFFIX": "dev"}, context(dev={"processor_reserved_concurrency": "off"})).environments[0].processor_reserved_concurrency is None
    assert any("log_retention_days" in m and "without the quotes" not in m for m in problems_of({}, context(dev={"log_retention_days": "fourteen"})))
