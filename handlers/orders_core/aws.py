"""boto3 clients and per-container caches: created lazily, ONCE, and dropped by ``reset()``.

``build_clients(target, policy=...)`` makes the SQS, DynamoDB and SNS clients of one function:
each is a ``BudgetedClient`` (``orders_core.budget``) whose calls fit the invocation's deadline,
and the DynamoDB and SQS ones accept only answers they can vouch for (``check_dynamodb_answer``,
``check_sqs_send_answer``).
In Lambda each handler module caches one set built from boto3's defaults (the function's
region and role, ``AWS_ENDPOINT_URL`` if set). The local pipeline builds its own set per
pipeline and function with an explicit ``ClientTarget`` and injects it into the handlers, so no
process-wide variable decides where a call goes.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from orders_core.budget import UNSAFE_TO_REPEAT, BudgetedClient, TimeoutPolicy, UnverifiedResponse
from orders_core.settings import Settings

#: The services a function's clients talk to (a Literal, so the boto3 stubs type each client).
Service = Literal["sqs", "dynamodb", "sns"]
SERVICES: tuple[Service, ...] = ("sqs", "dynamodb", "sns")

T = TypeVar("T")

_registry_lock = threading.Lock()
_caches: list[Lazy[Any]] = []


class Lazy(Generic[T]):
    """A value built on first call and cached until ``reset()``; thread-safe (the local API is threaded)."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False
        with _registry_lock:
            _caches.append(self)

    def __call__(self) -> T:
        """Return the cached value, building it once."""
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = self._factory()
                    self._built = True
        return self._value  # type: ignore[return-value]

    def clear(self) -> None:
        """Forget the cached value; the next call rebuilds it."""
        with self._lock:
            self._value = None
            self._built = False


def lazy(factory: Callable[[], T]) -> Lazy[T]:
    """Cache ``factory()`` per container; ``reset()`` clears it (use for services built on clients)."""
    return Lazy(factory)


@dataclass(frozen=True)
class AwsClients:
    """The clients one function uses (``BudgetedClient`` in the handlers; any boto3-like client in tests)."""

    sqs: Any
    dynamodb: Any
    sns: Any


@dataclass(frozen=True, kw_only=True)
class ClientTarget:
    """Where and as whom the clients call AWS. Every field defaults to boto3's own resolution.

    In Lambda nothing is set: the region, the credentials and any ``AWS_ENDPOINT_URL`` come
    from the function's environment. The local pipeline sets all three explicitly, so two
    pipelines in one process never share a process-wide variable.
    """

    endpoint_url: str | None = None
    """One endpoint for every service (an emulator). None: boto3's (AWS_ENDPOINT_URL* or AWS)."""
    region: str | None = None
    """Region of the clients. None: boto3's (AWS_REGION / AWS_DEFAULT_REGION)."""
    access_key_id: str | None = None
    """Static credentials (an emulator's fake keys). None: boto3's credential chain."""
    secret_access_key: str | None = None
    """Secret of ``access_key_id``."""
    session_token: str | None = None
    """Session token of ``access_key_id`` (optional)."""


def build_clients(target: ClientTarget | None, policy: TimeoutPolicy) -> AwsClients:
    """SQS, DynamoDB and SNS clients for ``target`` (boto3's defaults when None), budgeted by ``policy``.

    The main rung of each (the longest per-attempt timeout) is created here, so a cold start
    pays for it during init, as before; shorter rungs are created on first need.
    """
    # boto3 is imported here, not at module import: tests of pure logic never pay for it.
    import boto3
    from botocore.config import Config

    target = target or ClientTarget()
    session = boto3.session.Session(
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        aws_session_token=target.session_token,
        region_name=target.region,
    )
    # A boto3 session is not thread-safe while it creates clients (the local API is threaded).
    session_lock = threading.Lock()

    def maker(service: Service) -> Callable[[float, float], Any]:
        def make(connect_timeout: float, read_timeout: float) -> Any:
            # botocore's own retries are off: BudgetedClient retries within the deadline.
            config = Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": 1},
                tcp_keepalive=True,
            )
            with session_lock:
                return session.client(service, config=config, endpoint_url=target.endpoint_url)

        return make

    built = AwsClients(**{service: BudgetedClient(maker(service), policy, unsafe_to_repeat=UNSAFE_TO_REPEAT.get(service, frozenset())) for service in SERVICES})
    built.dynamodb.register("after-call.dynamodb", check_dynamodb_answer, unique_id="orders-core-dynamodb-crc32")
    built.sqs.register("before-parameter-build.sqs.SendMessage", remember_sqs_body_md5, unique_id="orders-core-sqs-md5-expected")
    built.sqs.register("after-call.sqs.SendMessage", check_sqs_send_answer, unique_id="orders-core-sqs-md5-check")
    for client in (built.sqs, built.dynamodb, built.sns):
        client.rung(policy.attempt_timeouts_seconds[0])
    return built


#: The header DynamoDB puts on every answer: the CRC32 of its body
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
DYNAMODB_CRC32_HEADER = "x-amz-crc32"


def check_dynamodb_answer(http_response: Any = None, model: Any = None, **_: Any) -> None:
    """botocore ``after-call`` hook of the DynamoDB clients: a success answer must be one DynamoDB vouches for.

    A 200 cut off inside its headers reads as a 200 with an empty body, which botocore parses as
    "no item": GetItem would say 404 and the POST's duplicate check would pass. DynamoDB sends
    ``x-amz-crc32`` on every answer and never an empty JSON body, so a 2xx answer without the
    header, with an empty body or with a body that fails the checksum raises ``UnverifiedResponse``
    (retryable: the adapters make it a 503 or a retried record). botocore checks this header only
    in its legacy retry mode, and only when present.
    """
    if http_response is None or not 200 <= int(getattr(http_response, "status_code", 0) or 0) < 300:
        return
    operation = getattr(model, "name", "DynamoDB")
    body = http_response.content or b""
    expected = http_response.headers.get(DYNAMODB_CRC32_HEADER)
    if not body.strip():
        raise UnverifiedResponse(operation, "a success answer with an empty body")
    if expected is None:
        raise UnverifiedResponse(operation, f"a success answer without {DYNAMODB_CRC32_HEADER}")
    actual = zlib.crc32(body) & 0xFFFFFFFF
    if not expected.strip().isdigit() or int(expected) != actual:
        raise UnverifiedResponse(operation, f"{DYNAMODB_CRC32_HEADER} {expected!r} does not match the body's CRC32 {actual}")


settings: Lazy[Settings] = lazy(Settings.from_environ)
"""``settings()`` -> the cached ``Settings`` parsed from the environment on first use."""


def reset() -> None:
    """Drop every cache (clients, settings, the handlers' services) so the next call rebuilds them."""
    with _registry_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()


#: Where ``remember_sqs_body_md5`` leaves the expected digest for ``check_sqs_send_answer``
#: (botocore passes one request context dict to both events of a call).
_EXPECTED_MD5 = "orders_core_expected_md5_of_body"


def remember_sqs_body_md5(params: Any = None, context: Any = None, **_: Any) -> None:
    """botocore ``before-parameter-build`` hook of SendMessage: note the MD5 of the body being sent."""
    if isinstance(params, dict) and isinstance(context, dict) and isinstance(params.get("MessageBody"), str):
        context[_EXPECTED_MD5] = hashlib.md5(params["MessageBody"].encode("utf-8"), usedforsecurity=False).hexdigest()


def check_sqs_send_answer(http_response: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
    """botocore ``after-call`` hook of SendMessage: a success answer must name the message and the MD5 of its body.

    SQS answers every SendMessage with ``MessageId`` and ``MD5OfMessageBody``
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
    An answer cut short or emptied parses as a success without them: the message may or may not
    be queued, so ``UnverifiedResponse`` (outcome unknown) instead of a 202 nobody can vouch for.
    """
    if http_response is None or not 200 <= int(getattr(http_response, "status_code", 0) or 0) < 300:
        return
    parsed = parsed if isinstance(parsed, dict) else {}
    expected = context.get(_EXPECTED_MD5) if isinstance(context, dict) else None
    if not parsed.get("MessageId"):
        raise UnverifiedResponse("SendMessage", "a success answer without a MessageId")
    if expected is not None and parsed.get("MD5OfMessageBody") != expected:
        raise UnverifiedResponse("SendMessage", f"MD5OfMessageBody {parsed.get('MD5OfMessageBody')!r} is not the body's {expected}")
