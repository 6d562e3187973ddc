"""Least privilege, derived from the code: the AWS calls each function makes -> the IAM it needs.

Three parts, each small enough to test alone:

- ``CallRecorder`` hooks the handlers' boto3 clients (botocore's ``provide-client-params``
  event, the first one of every call, so a call that an injected fault fails later still
  counts) and remembers every call with the resource it names, per function and per test.
- ``required_accesses`` maps recorded calls to IAM actions on logical resources, and adds the
  documented platform extras (``PLATFORM_EXTRAS``): logs and X-Ray for every function, the event
  source mapping's SQS actions for the processor, and the KMS actions an encrypted queue or
  topic requires of its callers.
- ``granted_accesses`` reads the same thing out of a synthesized role policy, and ``compare``
  tells the developer which grant to add or to drop.

A logical resource is the ``ResourceNames`` property that names it (``order_queue``,
``orders_table``, ``orders_table/index/CustomerIdIndex``, ``order_events_topic``), so calls
recorded against the emulator's ``e2e`` names compare with the ``dev`` stack's references.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_config.naming import ResourceNames
from tests.tfjson import find, policy, ref, resources

#: The ResourceNames properties a function may touch (the logical resources of the comparison).
LOGICAL_RESOURCES = ("order_queue", "order_dlq", "orders_table", "order_events_topic", "alarm_topic")
KEY = "kms_key"
OWN_LOG_GROUP = "own_log_group"
OWN_LOG_GROUP_ITSELF = "own_log_group (the group)"
ANY = "*"

#: botocore operation -> the IAM action that authorizes it, per the Service Authorization
#: Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/). Batch calls
#: are authorized by their single-item action (SendMessageBatch -> sqs:SendMessage, PublishBatch
#: -> sns:Publish). An operation missing here fails the test with a request to add it.
OPERATION_ACTIONS: dict[tuple[str, str], str] = {
    ("sqs", "SendMessage"): "sqs:SendMessage",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "ReceiveMessage"): "sqs:ReceiveMessage",
    ("sqs", "DeleteMessage"): "sqs:DeleteMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibility"): "sqs:ChangeMessageVisibility",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("sqs", "GetQueueAttributes"): "sqs:GetQueueAttributes",
    ("dynamodb", "GetItem"): "dynamodb:GetItem",
    ("dynamodb", "PutItem"): "dynamodb:PutItem",
    ("dynamodb", "UpdateItem"): "dynamodb:UpdateItem",
    ("dynamodb", "DeleteItem"): "dynamodb:DeleteItem",
    ("dynamodb", "Query"): "dynamodb:Query",
    ("dynamodb", "Scan"): "dynamodb:Scan",
    ("dynamodb", "BatchGetItem"): "dynamodb:BatchGetItem",
    ("dynamodb", "BatchWriteItem"): "dynamodb:BatchWriteItem",
    ("dynamodb", "DescribeTable"): "dynamodb:DescribeTable",
    ("sns", "Publish"): "sns:Publish",
    ("sns", "PublishBatch"): "sns:Publish",
}
#: DynamoDB transactions are authorized per item, by the action of the item's kind
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True, order=True)
class Access:
    """One IAM action on one logical resource, optionally only through one AWS service (``kms:ViaService``)."""

    action: str
    resource: str
    via: str = ""
    """The service (``dynamodb``) the action is allowed through, from a ``kms:ViaService`` condition;
    "" for an unconditioned grant."""

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (f" via {self.via}" if self.via else "")


@dataclass(frozen=True)
class RecordedCall:
    """One AWS API call a function made, as botocore saw it before sending it."""

    function: str
    service: str
    operation: str
    params: Mapping[str, Any]
    test: str


@dataclass(frozen=True)
class PlatformExtra:
    """An action a function's role needs that no line of the function's code calls."""

    functions: tuple[str, ...]
    accesses: tuple[Access, ...]
    why: str
    source: str


API_HANDLER = "api-handler"
PROCESSOR = "order-processor"
EVENT_SWEEPER = "event-sweeper"
FUNCTIONS = (API_HANDLER, PROCESSOR, EVENT_SWEEPER)
#: Each function's entry point: how a synthesized function is found whatever its name.
HANDLERS = {API_HANDLER: "api_handler.app.lambda_handler", PROCESSOR: "order_processor.app.lambda_handler", EVENT_SWEEPER: "event_sweeper.app.lambda_handler"}

#: The short, documented list of what a role needs beyond the recorded calls.
PLATFORM_EXTRAS: tuple[PlatformExtra, ...] = (
    PlatformExtra(
        FUNCTIONS,
        (Access("logs:CreateLogStream", OWN_LOG_GROUP), Access("logs:PutLogEvents", OWN_LOG_GROUP)),
        "Lambda writes the function's logs with its role, into the log group the stack created",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
    PlatformExtra(
        FUNCTIONS,
        (Access("logs:CreateLogGroup", OWN_LOG_GROUP_ITSELF),),
        "Lambda recreates the function's log group with its role if it was deleted out of band (else logs are dropped)",
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
    ),
    PlatformExtra(
        FUNCTIONS,
        (Access("xray:PutTraceSegments", ANY), Access("xray:PutTelemetryRecords", ANY)),
        "active tracing: Lambda sends trace segments with the function's role; X-Ray has no resource-level permissions",
        "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    ),
    PlatformExtra(
        (PROCESSOR,),
        (
            Access("sqs:ReceiveMessage", "order_queue"),
            Access("sqs:DeleteMessage", "order_queue"),
            Access("sqs:GetQueueAttributes", "order_queue"),
        ),
        "the SQS event source mapping polls the queue and deletes handled records with the function's role",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions",
    ),
)

#: KMS accesses a caller needs when the resource it uses is encrypted with the customer-managed
#: key (the key policy delegates to IAM, so the caller's role must hold them).
KMS_FOR_ENCRYPTED: dict[str, tuple[Access, ...]] = {
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    "sqs:SendMessage": (Access("kms:GenerateDataKey", KEY), Access("kms:Decrypt", KEY)),
    "sqs:ReceiveMessage": (Access("kms:Decrypt", KEY),),
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#send-to-encrypted-topic
    "sns:Publish": (Access("kms:GenerateDataKey", KEY), Access("kms:Decrypt", KEY)),
    # DynamoDB decrypts the table key as the caller on every item read or write; the grant is
    # limited to DynamoDB (https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).
    **{
        action: (Access("kms:Decrypt", KEY, via="dynamodb"),)
        for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
    },
}

#: Where to change a grant, by the service of the action (the construct that owns the resource).
GRANT_OWNERS = {
    "sqs": "QueueWithDeadLetterQueue.grant_send_statements() / grant_consume_statements() in constructs_lib/queue_with_dlq.py",
    "dynamodb": "OrdersTable.grant_read_statements() / grant_write_statements() in constructs_lib/orders_table.py",
    "sns": "EncryptedTopic.grant_publish_statements() in constructs_lib/encrypted_topic.py",
    "kms": "the KMS statement of the queue's or topic's grant (the construct of the encrypted resource)",
    "logs": "PythonFunction in constructs_lib/python_function.py",
    "xray": "PythonFunction in constructs_lib/python_function.py",
}


# ----------------------------------------------------------------------------- recording
class CallRecorder:
    """Records every AWS call made through the clients it is attached to (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[RecordedCall] = []
        self.current_test = "<outside a test>"
        self._attached: list[tuple[Any, Any, str]] = []

    def attach(self, function: str, clients: Any) -> None:
        """Record the calls of one function's ``AwsClients`` (sqs, dynamodb, sns)."""
        for service in ("sqs", "dynamodb", "sns"):
            client = getattr(clients, service)
            handler = self._handler_for(function)
            unique_id = f"least-privilege-{function}-{service}"
            register_hook(client, "provide-client-params", handler, unique_id)
            self._attached.append((client, handler, unique_id))

    def detach(self) -> None:
        """Remove every hook this recorder added."""
        for client, handler, unique_id in self._attached:
            unregister_hook(client, "provide-client-params", handler, unique_id)
        self._attached.clear()

    def _handler_for(self, function: str):
        def record(params: Mapping[str, Any], model: Any, **_: Any) -> None:
            call = RecordedCall(function, model.service_model.service_name, model.name, dict(params), self.current_test)
            with self._lock:
                self.calls.append(call)

        return record

    def snapshot(self) -> list[RecordedCall]:
        """The calls recorded so far."""
        with self._lock:
            return list(self.calls)


def register_hook(client: Any, event: str, handler: Any, unique_id: str) -> None:
    """Register a botocore hook on a handler client (a plain boto3 client or one that fans out to several)."""
    if hasattr(client, "register") and not hasattr(client, "_make_api_call"):
        client.register(event, handler, unique_id=unique_id)
    else:
        client.meta.events.register(event, handler, unique_id=unique_id)


def unregister_hook(client: Any, event: str, handler: Any, unique_id: str) -> None:
    """Undo ``register_hook``."""
    if hasattr(client, "unregister") and not hasattr(client, "_make_api_call"):
        client.unregister(event, handler, unique_id=unique_id)
    else:
        client.meta.events.unregister(event, handler, unique_id=unique_id)


# ----------------------------------------------------------------------------- calls -> IAM
class UnmappedCall(Exception):
    """A recorded call this module cannot translate to IAM (a new operation or resource)."""


def logical_name(physical: str, names: ResourceNames) -> str:
    """The ResourceNames property whose value is ``physical`` (``order-queue-e2e`` -> ``order_queue``)."""
    for prop in LOGICAL_RESOURCES:
        if getattr(names, prop) == physical:
            return prop
    raise UnmappedCall(f"{physical!r} is none of this environment's resources ({', '.join(LOGICAL_RESOURCES)})")


def _table(name: str, names: ResourceNames, index: str | None = None) -> str:
    table = logical_name(name, names)
    return f"{table}/index/{index}" if index else table


def call_accesses(call: RecordedCall, names: ResourceNames) -> set[Access]:
    """The IAM accesses one recorded call needs."""
    p = call.params
    if call.service == "dynamodb" and call.operation in ("TransactWriteItems", "TransactGetItems"):
        out = set()
        for item in p.get("TransactItems", []):
            ((kind, body),) = item.items()
            out.add(Access(TRANSACT_ITEM_ACTIONS[kind], _table(body["TableName"], names)))
        return out
    action = OPERATION_ACTIONS.get((call.service, call.operation))
    if action is None:
        raise UnmappedCall(f"no IAM action is known for {call.service} {call.operation}: add it to OPERATION_ACTIONS in tests/least_privilege.py")
    if call.service == "sqs":
        return {Access(action, logical_name(str(p["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1], names))}
    if call.service == "sns":
        return {Access(action, logical_name(str(p["TopicArn"]).rsplit(":", 1)[-1], names))}
    if call.operation in ("BatchGetItem", "BatchWriteItem"):
        return {Access(action, _table(table, names)) for table in p.get("RequestItems", {})}
    return {Access(action, _table(p["TableName"], names, p.get("IndexName")))}


def required_accesses(calls: Iterable[RecordedCall], names: ResourceNames, *, encrypted: Iterable[str] = ()) -> dict[str, dict[Access, list[str]]]:
    """Per function: every access it needs -> why (the tests whose calls need it, or the platform reason).

    ``encrypted``: the logical resources encrypted with the customer-managed key (their callers
    need ``KMS_FOR_ENCRYPTED``).
    """
    needed: dict[str, dict[Access, list[str]]] = defaultdict(lambda: defaultdict(list))
    for call in calls:
        for access in call_accesses(call, names):
            reasons = needed[call.function][access]
            label = f"{call.service} {call.operation} in {call.test}"
            if label not in reasons:
                reasons.append(label)
    for extra in PLATFORM_EXTRAS:
        for function in extra.functions:
            for access in extra.accesses:
                needed[function][access].append(f"platform: {extra.why} ({extra.source})")
    encrypted = set(encrypted)
    for accesses in needed.values():
        for access in list(accesses):
            table = access.resource.split("/index/")[0]
            for kms_access in KMS_FOR_ENCRYPTED.get(access.action, ()) if table in encrypted else ():
                accesses[kms_access].append(f"platform: {access} uses a resource encrypted with the CMK")
    return {function: dict(accesses) for function, accesses in needed.items()}


# ----------------------------------------------------------------------------- synthesized JSON
_REF = re.compile(r"^\$\{(?:data\.)?([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)\}(.*)$")


def resolve_resource(value: str, doc: dict, names: ResourceNames, log_group: str) -> str:
    """A role policy's Resource string -> logical resource (``${aws_sqs_queue.x.arn}`` -> ``order_queue``)."""
    if value == "*":
        return ANY
    match = _REF.match(value)
    if not match:
        return f"literal:{value}"
    rtype, rid, attr, rest = match.groups()
    resource = doc.get("resource", {}).get(rtype, {}).get(rid, {})
    if rtype == "aws_kms_key" and attr == "arn" and not rest:
        return KEY
    if rtype == "aws_cloudwatch_log_group" and attr == "arn" and rest == ":*" and resource.get("name") == log_group:
        return OWN_LOG_GROUP
    if rtype == "aws_cloudwatch_log_group" and attr == "arn" and not rest and resource.get("name") == log_group:
        return OWN_LOG_GROUP_ITSELF
    if rtype in ("aws_sqs_queue", "aws_dynamodb_table", "aws_sns_topic") and attr == "arn":
        try:
            base = logical_name(resource.get("name", ""), names)
        except UnmappedCall:
            return f"unknown:{value}"
        return base + rest if rest.startswith("/index/") else (base if not rest else f"unknown:{value}")
    return f"unknown:{value}"


_VIA_SERVICE = re.compile(r"^([a-z0-9-]+)\.[a-z0-9-]+\.amazonaws\.com$")


def via_service(statement: dict) -> str:
    """The service a statement is limited to by ``kms:ViaService`` (``dynamodb``); "" when it has no
    condition. Any other condition is one this model cannot judge: ``UnmappedCall``."""
    condition = statement.get("Condition")
    if not condition:
        return ""
    if set(condition) == {"StringEquals"} and set(condition["StringEquals"]) == {"kms:ViaService"}:
        match = _VIA_SERVICE.match(str(condition["StringEquals"]["kms:ViaService"]))
        if match:
            return match.group(1)
    raise UnmappedCall(f"statement {statement.get('Sid', '?')!r} has a condition this check cannot judge: {condition}")


def granted_accesses(statements: Iterable[dict], doc: dict, names: ResourceNames, log_group: str) -> dict[Access, str]:
    """Every access a role policy allows -> the Sid of the statement that allows it."""
    out: dict[Access, str] = {}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        via = via_service(statement)
        for action in actions:
            for target in targets:
                out[Access(action, resolve_resource(target, doc, names, log_group), via)] = statement.get("Sid", "?")
    return out


def compare(role: str, needed: Mapping[Access, list[str]], granted: Mapping[Access, str]) -> list[str]:
    """What to change in ``role``'s grants so they equal what it needs; [] when they do."""
    problems = []
    for access in sorted(set(needed) - set(granted)):
        owner = GRANT_OWNERS.get(access.action.split(":", 1)[0], "the construct that owns the resource")
        problems.append(f"{role}: ADD {access} (needed by: {'; '.join(needed[access][:3])}). Grant it in {owner}.")
    for access in sorted(set(granted) - set(needed)):
        problems.append(
            f"{role}: DROP {access} (statement {granted[access]!r}): no recorded call of any e2e scenario and "
            "no documented platform need uses it. Remove it from its grant, or, if an untested code path needs it, "
            "add an e2e scenario that makes the call."
        )
    return problems


def role_statements(doc: dict, function: str) -> tuple[list[dict], str]:
    """The one inline policy's statements of a function's role, and the function's log group name."""
    _, fn = find(doc, "aws_lambda_function", handler=HANDLERS[function])
    role_id = fn["role"].split(".")[1]
    policies = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == ref("aws_iam_role", role_id, "id")]
    assert len(policies) == 1, f"{function}: expected one inline policy, found {len(policies)}"
    assert not [a for a in resources(doc, "aws_iam_role_policy_attachment").values() if role_id in a["role"]], f"{function}: managed policies are not allowed"
    return policy(policies[0]["policy"])["Statement"], f"/aws/lambda/{fn['function_name']}"
