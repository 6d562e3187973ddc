"""What each resource type's changes mean to a running deployment: the ONE list the plan guard reads.

``RESOURCE_CLASSES`` names every resource type the stacks create, with what destroying (deleting
or replacing) one costs. ``tests/rehearsal/test_plan_guard.py`` fails when a stack or the provider
classes the project uses (``constructs_lib.support.provider``) hold a type this list does not classify,
so a new resource is classified when it is added. A type that is not listed (a plan of some other
configuration) is treated as holding data: destroying it is blocked until someone allows it.

The security checks (which attributes hold a policy, a trust policy, a protection or an
authorization) are listed here too, per type.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_LOSS = "data loss"
SECURITY = "security"
AVAILABILITY = "availability"
ROUTINE = "routine"
#: Most severe first: the order of the summary's sections (security is shown first, but does not block).
CLASSES = (DATA_LOSS, SECURITY, AVAILABILITY, ROUTINE)


@dataclass(frozen=True)
class ResourceClass:
    """What destroying one resource of a type costs: ``kind`` (one of CLASSES) and what is lost or paused."""

    kind: str
    loses: str


def _data(loses: str) -> ResourceClass:
    return ResourceClass(DATA_LOSS, loses)


def _availability(loses: str) -> ResourceClass:
    return ResourceClass(AVAILABILITY, loses)


def _routine(loses: str) -> ResourceClass:
    return ResourceClass(ROUTINE, loses)


RESOURCE_CLASSES: dict[str, ResourceClass] = {
    # --- data or identity: deleting or replacing one loses it (blocked unless allowed) ---------
    "aws_dynamodb_table": _data("every stored order in the table"),
    "aws_sqs_queue": _data("every message in the queue: orders waiting to be processed, or failed orders in the DLQ"),
    "aws_kms_key": _data("the key itself: the old key is scheduled for deletion, and whatever it encrypted becomes unreadable when the window ends"),
    "aws_kms_alias": _data("the key's name: whatever finds the key by its alias fails until the new alias exists"),
    "aws_sns_topic": _data("the topic's subscribers (e-mail subscribers must confirm again) and every event published while it is gone"),
    "aws_sns_topic_subscription": _data("the subscription (an e-mail subscriber must confirm again)"),
    "aws_cloudwatch_log_group": _data("every log event in the group"),
    "aws_api_gateway_rest_api": _data("the API's id, which is part of the URL every client calls"),
    "aws_api_gateway_api_key": _data("the API key value the clients hold"),
    # --- availability: replacing one pauses or breaks the service for a while (flagged) --------
    "aws_lambda_function": _availability("the function: invocations fail until the new one exists"),
    "aws_lambda_event_source_mapping": _availability("order processing: nothing is read from the queue until the new mapping runs"),
    "aws_api_gateway_deployment": _availability("the API snapshot the stage serves"),
    "aws_api_gateway_stage": _availability("the stage: requests fail until it is recreated, with its logging and throttling settings"),
    "aws_api_gateway_account": _availability("API Gateway's CloudWatch role for the whole region: every API's logging in the region"),
    "aws_iam_role": _availability("a function's identity: invocations fail while it is recreated"),
    "aws_cloudwatch_event_rule": _availability("the event sweep's schedule: unpublished events wait until the new rule runs"),
    # --- routine: recreated from code in seconds, nothing held --------------------------------
    "aws_api_gateway_gateway_response": _routine("a response template"),
    "aws_api_gateway_integration": _routine("a route's integration (recreated from code)"),
    "aws_api_gateway_method": _routine("a route's method (recreated from code)"),
    "aws_api_gateway_method_settings": _routine("the stage's method settings (recreated from code)"),
    "aws_api_gateway_model": _routine("the request model (recreated from code)"),
    "aws_api_gateway_request_validator": _routine("the request validator (recreated from code)"),
    "aws_api_gateway_resource": _routine("a route's path (recreated from code)"),
    "aws_api_gateway_usage_plan": _routine("the usage plan (quota counters start again)"),
    "aws_api_gateway_usage_plan_key": _routine("the key's link to the usage plan"),
    "aws_cloudwatch_dashboard": _routine("the dashboard (recreated from code)"),
    "aws_cloudwatch_event_target": _routine("the schedule's link to the event sweeper (recreated from code)"),
    "aws_cloudwatch_metric_alarm": _routine("the alarm's state history"),
    "aws_iam_role_policy": _routine("a role's inline policy (recreated from code)"),
    "aws_iam_role_policy_attachment": _routine("a managed policy attachment (recreated from code)"),
    "aws_lambda_function_event_invoke_config": _routine("a function's asynchronous-invocation settings (recreated from code)"),
    "aws_lambda_permission": _routine("an invoke permission (recreated from code)"),
    "aws_sns_topic_policy": _routine("the topic policy (recreated from code)"),
    "aws_sqs_queue_policy": _routine("the queue policy (recreated from code)"),
    "aws_sqs_queue_redrive_allow_policy": _routine("the DLQ's redrive-allow policy (recreated from code)"),
    "aws_sqs_queue_redrive_policy": _routine("the queue's redrive policy (recreated from code)"),
}

#: An unlisted type: destroying it is treated as data loss until the list says otherwise.
UNCLASSIFIED = _data("an unclassified resource type, treated as holding data (classify it in rehearsal/plan_classes.py)")

#: Attributes that hold a resource or identity policy: a change that widens access is flagged.
POLICY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "aws_iam_role_policy": ("policy",),
    "aws_iam_policy": ("policy",),
    "aws_kms_key": ("policy",),
    "aws_sqs_queue": ("policy",),
    "aws_sqs_queue_policy": ("policy",),
    "aws_sns_topic": ("policy",),
    "aws_sns_topic_policy": ("policy",),
    "aws_api_gateway_rest_api": ("policy",),
}

#: Policy attributes that only mirror a separate policy resource in this stack (``aws_sqs_queue_policy``,
#: ``aws_sns_topic_policy``, which are checked themselves): a known new value is compared, but one
#: known only after apply (the resource is replaced) is not flagged twice.
MIRRORED_POLICY_ATTRIBUTES: frozenset[tuple[str, str]] = frozenset({("aws_sqs_queue", "policy"), ("aws_sns_topic", "policy")})

#: Trust policies: any change is flagged (who may become the role).
TRUST_ATTRIBUTES: dict[str, tuple[str, ...]] = {"aws_iam_role": ("assume_role_policy",)}

#: Protections, per type: (attribute path, rule, what it protects). Rules: ``on`` must not go from
#: true to false, ``set`` must not go from a value to empty, ``no-shorter`` must not decrease,
#: ``off`` must not go from false to true.
PROTECTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "aws_dynamodb_table": (
        ("deletion_protection_enabled", "on", "deletion protection"),
        ("point_in_time_recovery[0].enabled", "on", "point-in-time recovery"),
        ("server_side_encryption[0].enabled", "on", "encryption with the customer-managed key"),
        ("server_side_encryption[0].kms_key_arn", "set", "encryption with the customer-managed key"),
    ),
    "aws_sqs_queue": (("kms_master_key_id", "set", "encryption with the customer-managed key"),),
    "aws_sns_topic": (("kms_master_key_id", "set", "encryption with the customer-managed key"),),
    "aws_cloudwatch_log_group": (("kms_key_id", "set", "encryption with the customer-managed key"),),
    "aws_lambda_function": (("kms_key_arn", "set", "encryption of the environment variables with the customer-managed key"),),
    "aws_kms_key": (
        ("enable_key_rotation", "on", "key rotation"),
        ("deletion_window_in_days", "no-shorter", "the deletion window (the days left to cancel a scheduled deletion)"),
    ),
    "aws_api_gateway_method": (("api_key_required", "on", "the API key requirement"),),
    "aws_api_gateway_method_settings": (("settings[0].data_trace_enabled", "off", "request and response bodies kept out of the logs (customer data)"),),
}

#: API methods: a change of these attributes changes who may call the route.
AUTHORIZATION_ATTRIBUTES: dict[str, tuple[str, ...]] = {"aws_api_gateway_method": ("authorization", "authorizer_id")}

#: Grants that exist as their own resource: creating one, or changing these attributes, lets someone new in.
GRANT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "aws_lambda_permission": ("principal", "source_arn", "source_account", "function_name", "action"),
    "aws_iam_role_policy_attachment": ("policy_arn", "role"),
}
