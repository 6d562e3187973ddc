"""The only module of ordersctl that touches boto3: small adapters over SQS, CloudWatch and DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ordersctl.preflight import Unsupported
from ordersctl.redrive import Message, MoveTask, MoveTaskUnsupported

# Error codes an endpoint answers with when it does not implement an action. moto answers
# StartMessageMoveTask with a bare HTTP 500, so 5xx counts as "unsupported" too.
_UNSUPPORTED_CODES = {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "InvalidAction", "NotImplemented", "UnknownOperationException"}
_DEPTH_ATTRIBUTES = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}


#: Credentials an emulator accepts (moto and LocalStack take any); used only when the caller
#: has none of their own and the endpoint is an emulator.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_unsupported(error: Exception) -> bool:
    """True when a ClientError means "this endpoint does not implement the call" (moto answers 404 or 500)."""
    response = getattr(error, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code in _UNSUPPORTED_CODES or status >= 500 or code.isdigit()


def probe(endpoint_url: str, timeout_seconds: float = 1.0) -> str | None:
    """Why a TCP connection to ``endpoint_url`` fails within ``timeout_seconds``, or None when it answers.

    botocore retries a refused connection with backoff for about half a minute; for an
    emulator on this machine, one refused connect already says everything.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout_seconds):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


def is_emulator(endpoint_url: str | None) -> bool:
    """True for an endpoint on this machine (the local pipeline's moto server, LocalStack, ...)."""
    if not endpoint_url:
        return False
    from urllib.parse import urlsplit

    host = (urlsplit(endpoint_url).hostname or "").lower()
    return host in _LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def client(service: str, *, region: str | None, endpoint_url: str | None, retries: int | None = None, emulator_credentials: bool = False) -> Any:
    """A boto3 client; ``endpoint_url`` points it at an emulator (None: AWS_ENDPOINT_URL or AWS).

    ``emulator_credentials``: when the caller's credential chain is empty, sign with dummy
    credentials (an emulator accepts any), so a plain shell needs no AWS setup.
    """
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": retries, "mode": "standard"}) if retries is not None else None
    session = boto3.session.Session()
    extra: dict[str, str] = {}
    if emulator_credentials and session.get_credentials() is None:
        extra = dict(EMULATOR_CREDENTIALS)
    # boto3-stubs overload Session.client on literal service names only; this factory takes any name.
    make_client: Callable[..., Any] = session.client
    return make_client(service, region_name=region, endpoint_url=endpoint_url, config=config, **extra)


def credentials(region: str | None) -> Any:
    """The caller's frozen AWS credentials (for SigV4 signing), or None."""
    import boto3

    found = boto3.session.Session(region_name=region).get_credentials()
    return found.get_frozen_credentials() if found is not None else None


def queue_depths(sqs: Any, queue_url: str) -> dict[str, int]:
    """Visible, in-flight and delayed counts of one queue."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(_DEPTH_ATTRIBUTES))["Attributes"]
    return {short: int(attrs.get(name, 0)) for name, short in _DEPTH_ATTRIBUTES.items()}


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The ARN of a queue, from its URL."""
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def alarms(cloudwatch: Any, *, prefix: str, suffix: str) -> list[dict[str, Any]]:
    """Every metric/composite alarm named ``<prefix>...-<suffix>``: name, state, reason, updated."""
    out: list[dict[str, Any]] = []
    paginator = cloudwatch.get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            if alarm["AlarmName"].endswith(f"-{suffix}"):
                updated = alarm.get("StateUpdatedTimestamp")
                out.append(
                    {
                        "name": alarm["AlarmName"],
                        "state": alarm.get("StateValue", "UNKNOWN"),
                        "reason": alarm.get("StateReason", ""),
                        "updated": updated.isoformat() if hasattr(updated, "isoformat") else updated,
                    }
                )
    return sorted(out, key=lambda a: a["name"])


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def scan_orders(dynamodb: Any, table_name: str, *, max_items: int) -> list[dict[str, Any]]:
    """Up to ``max_items`` orders from a table scan (unordered; the caller sorts)."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": table_name, "Limit": min(max_items, 100)}
    while len(items) < max_items:
        page = dynamodb.scan(**params)
        items.extend(_plain(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items[:max_items]


def customer_orders(dynamodb: Any, table_name: str, customer_id: str, *, index_name: str, limit: int) -> list[dict[str, Any]]:
    """A customer's newest orders through the customer index."""
    page = dynamodb.query(
        TableName=table_name,
        IndexName=index_name,
        KeyConditionExpression="customerId = :c",
        ExpressionAttributeValues={":c": {"S": customer_id}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_plain(i) for i in page.get("Items", [])]


def dlq_order_ids(sqs: Any, dlq_url: str, *, max_messages: int = 100) -> set[str]:
    """orderIds found in DLQ message bodies (peeked, then made visible again)."""
    import json

    port = SqsQueuePort(sqs)
    seen: dict[str, Message] = {}
    for _ in range(max(1, max_messages // 10)):
        got = [m for m in port.receive(dlq_url, 10, 30) if m.message_id not in seen]
        if not got:
            break
        seen.update((m.message_id, m) for m in got)
    if seen:
        port.release(dlq_url, list(seen.values()))
    ids: set[str] = set()
    for message in seen.values():
        try:
            body = json.loads(message.body)
        except ValueError:
            continue
        if isinstance(body, dict) and isinstance(body.get("orderId"), str):
            ids.add(body["orderId"])
    return ids


class SqsQueuePort:
    """``ordersctl.redrive.QueuePort`` over a boto3 SQS client."""

    def __init__(self, sqs: Any, *, move_task_sqs: Any | None = None, clock: Callable[[], float] = time.time) -> None:
        self._sqs = sqs
        # A no-retry client: an endpoint without move tasks should fail fast, not retry 4 times.
        self._move_sqs = move_task_sqs or sqs
        self._clock = clock
        self._started: dict[str, tuple[str, int]] = {}

    def depth(self, queue_url: str) -> int:
        """Visible messages in a queue."""
        return queue_depths(self._sqs, queue_url)["visible"]

    def receive(self, queue_url: str, max_messages: int, visibility_timeout: int) -> list[Message]:
        """Receive up to ``max_messages`` with their attributes (1 s long poll)."""
        got = self._sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        return [
            Message(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                attributes=m.get("MessageAttributes", {}),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            )
            for m in got
        ]

    @staticmethod
    def _attributes(message: Message) -> dict[str, Any]:
        # Receive returns extra empty list fields SendMessage rejects; keep the value fields.
        keep = ("DataType", "StringValue", "BinaryValue")
        return {name: {k: v for k, v in value.items() if k in keep} for name, value in message.attributes.items()}

    def send_batch(self, queue_url: str, messages: Sequence[Message]) -> tuple[set[str], dict[str, str]]:
        """SendMessageBatch with body and message attributes; (sent ids, {id: error})."""
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.body}
            if message.attributes:
                entry["MessageAttributes"] = self._attributes(message)
            entries.append(entry)
        try:
            result = self._sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as error:  # noqa: BLE001 -- the whole batch failed: nothing may be deleted
            return set(), {m.message_id: str(error) for m in messages}
        sent = {messages[int(ok["Id"])].message_id for ok in result.get("Successful", [])}
        failed = {messages[int(bad["Id"])].message_id: f"{bad.get('Code')}: {bad.get('Message', '')}" for bad in result.get("Failed", [])}
        return sent, failed

    def delete_batch(self, queue_url: str, messages: Sequence[Message]) -> dict[str, str]:
        """DeleteMessageBatch; {message_id: error} of failures."""
        entries = [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)]
        try:
            result = self._sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as error:  # noqa: BLE001 -- the whole batch failed: every message is reported, none lost
            return {m.message_id: str(error) for m in messages}
        return {messages[int(bad["Id"])].message_id: f"{bad.get('Code')}: {bad.get('Message', '')}" for bad in result.get("Failed", [])}

    def release(self, queue_url: str, messages: Sequence[Message]) -> None:
        """Make messages visible again (visibility timeout 0), 10 at a time."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0} for i, m in enumerate(chunk)],
            )

    def start_move_task(self, source_arn: str, destination_arn: str) -> str:
        """StartMessageMoveTask; ``MoveTaskUnsupported`` when the endpoint lacks it."""
        from botocore.exceptions import ClientError

        started_ms = int(self._clock() * 1000)
        try:
            handle = self._move_sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)["TaskHandle"]
        except ClientError as error:
            if is_unsupported(error):
                code = error.response.get("Error", {}).get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                raise MoveTaskUnsupported(f"{code}") from error
            raise
        self._started[handle] = (destination_arn, started_ms)
        return handle

    def move_task(self, source_arn: str, task_handle: str) -> MoveTask:
        """The state of the move task started with ``task_handle`` (``ListMessageMoveTasks``)."""
        results = self._move_sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10).get("Results", [])
        destination, started_ms = self._started.get(task_handle, (None, None))
        return find_move_task(results, task_handle, destination_arn=destination, started_ms=started_ms)


#: How far SQS's StartedTimestamp may lag this machine's clock and still be our task's.
MOVE_TASK_CLOCK_SKEW_MS = 300_000


def find_move_task(results: Sequence[dict[str, Any]], task_handle: str, *, destination_arn: str | None, started_ms: int | None) -> MoveTask:
    """Our task among ``ListMessageMoveTasks`` results (the newest 10 of the source queue).

    SQS returns ``TaskHandle`` only while a task is RUNNING: a task that has finished (COMPLETED,
    FAILED, CANCELLED) is known by its destination and start time instead, so the newest finished
    task to our destination that started no earlier than we asked (less a clock skew) is ours. A
    task found by neither is ``NOT_FOUND``: the caller reports it, never "0 moved" as a success.
    """
    for task in results:
        if task.get("TaskHandle") == task_handle:
            return _move_task(task)
    if destination_arn is not None and started_ms is not None:
        finished = [t for t in results if "TaskHandle" not in t and t.get("DestinationArn") == destination_arn and int(t.get("StartedTimestamp", 0)) >= started_ms - MOVE_TASK_CLOCK_SKEW_MS]
        if finished:
            return _move_task(max(finished, key=lambda t: int(t.get("StartedTimestamp", 0))))
    return MoveTask(status="NOT_FOUND", moved=0)


def _move_task(task: dict[str, Any]) -> MoveTask:
    to_move = task.get("ApproximateNumberOfMessagesToMove")
    return MoveTask(
        status=str(task.get("Status", "UNKNOWN")),
        moved=int(task.get("ApproximateNumberOfMessagesMoved", 0)),
        to_move=None if to_move is None else int(to_move),
        failure_reason=task.get("FailureReason"),
    )


def _error_code(error: Exception) -> str:
    return str((getattr(error, "response", {}) or {}).get("Error", {}).get("Code", ""))


class AwsPreflightPort:
    """``ordersctl.preflight.PreflightPort`` over boto3: AWS, or an emulator at ``endpoint_url``."""

    def __init__(self, *, endpoint_url: str | None, emulated: bool, hcp: Any = None) -> None:
        self._endpoint_url = endpoint_url
        self._emulated = emulated
        self._hcp = hcp
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = client(service, region=region, endpoint_url=self._endpoint_url, retries=2, emulator_credentials=self._emulated)
        return self._clients[key]

    def concurrency_settings(self, region: str) -> tuple[int, int]:
        """(ConcurrentExecutions, UnreservedConcurrentExecutions) from GetAccountSettings."""
        from botocore.exceptions import ClientError

        try:
            limit = self._client("lambda", region).get_account_settings()["AccountLimit"]
        except ClientError as error:
            if is_unsupported(error):
                raise Unsupported(f"GetAccountSettings answered {_error_code(error) or 'an error'}") from error
            raise
        return int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])

    def function_reservation(self, region: str, function_name: str) -> int:
        """The function's reserved concurrency (0: none, or no such function yet)."""
        from botocore.exceptions import ClientError

        try:
            answer = self._client("lambda", region).get_function_concurrency(FunctionName=function_name)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return 0
            raise
        return int(answer.get("ReservedConcurrentExecutions") or 0)

    def all_reservations(self, region: str) -> dict[str, int]:
        """Every function of the region with a reservation (one call per function: only where GetAccountSettings is missing)."""
        lam = self._client("lambda", region)
        found: dict[str, int] = {}
        for page in lam.get_paginator("list_functions").paginate():
            for function in page.get("Functions", []):
                reserved = self.function_reservation(region, function["FunctionName"])
                if reserved:
                    found[function["FunctionName"]] = reserved
        return found

    def layer_version_exists(self, region: str, arn: str) -> bool:
        """GetLayerVersion of the layer ARN and version succeeds (public layers grant it to every account)."""
        from botocore.exceptions import ClientError

        layer_arn, _, version = arn.rpartition(":")
        if not layer_arn or not version.isdigit():
            return False
        try:
            self._client("lambda", region).get_layer_version(LayerName=layer_arn, VersionNumber=int(version))
        except ClientError as error:
            if _error_code(error) in ("ResourceNotFoundException", "404"):
                return False
            raise
        return True

    def account_cloudwatch_role_arn(self, region: str) -> str | None:
        """API Gateway's GetAccount ``cloudwatchRoleArn``."""
        return self._client("apigateway", region).get_account().get("cloudwatchRoleArn") or None

    def role_exists(self, role_name: str) -> bool:
        """IAM GetRole succeeds."""
        from botocore.exceptions import ClientError

        try:
            self._client("iam", "us-east-1").get_role(RoleName=role_name)
        except ClientError as error:
            if _error_code(error) == "NoSuchEntity":
                return False
            raise
        return True

    def bucket_exists(self, bucket: str, region: str) -> bool:
        """S3 HeadBucket succeeds (403, no access, is raised: the check reports it)."""
        from botocore.exceptions import ClientError

        try:
            self._client("s3", region).head_bucket(Bucket=bucket)
        except ClientError as error:
            if _error_code(error) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise
        return True

    def table_hash_key(self, table: str, region: str) -> list[tuple[str, str]] | None:
        """The table's HASH key with its attribute type, or None when the table does not exist."""
        from botocore.exceptions import ClientError

        try:
            description = self._client("dynamodb", region).describe_table(TableName=table)["Table"]
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return None
            raise
        types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
        return [(k["AttributeName"], types.get(k["AttributeName"], "?")) for k in description.get("KeySchema", []) if k["KeyType"] == "HASH"]

    def rest_api_ids(self, region: str, api_name: str) -> list[str]:
        """GetRestApis, every page: the ids of the APIs with this name."""
        pages = self._client("apigateway", region).get_paginator("get_rest_apis").paginate()
        return [api["id"] for page in pages for api in page.get("items", []) if api.get("name") == api_name]

    def log_group_tags(self, region: str, name: str) -> dict[str, str] | None:
        """The group's tags (ListTagsForResource on its ARN), or None when DescribeLogGroups does not list it."""
        logs = self._client("logs", region)
        groups = [g for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name) for g in page.get("logGroups", [])]
        group = next((g for g in groups if g.get("logGroupName") == name), None)
        if group is None:
            return None
        arn = str(group.get("arn", "")).removesuffix(":*")
        return dict(logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))

    def cloud_workspace_exists(self, hostname: str, organization: str, workspace: str) -> bool:
        """Asks HCP Terraform (``ordersctl.hcp``)."""
        from ordersctl import hcp

        return (self._hcp or hcp.workspace_exists)(hostname, organization, workspace)
