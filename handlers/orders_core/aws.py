"""boto3 clients and per-container caches: created lazily, ONCE, and dropped by ``reset()``.

``build_clients(target, policy=...)`` makes the SQS, DynamoDB and SNS clients of one function:
each is a ``BudgetedClient`` (``orders_core.budget``) whose calls fit the invocation's deadline.
In Lambda each handler module caches one set built from boto3's defaults (the function's
region and role, ``AWS_ENDPOINT_URL`` if set). The local pipeline builds its own set per
pipeline and function with an explicit ``ClientTarget`` and injects it into the handlers, so no
process-wide variable decides where a call goes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from orders_core.budget import BudgetedClient, TimeoutPolicy
from orders_core.settings import Settings

T = TypeVar("T")

_registry_lock = threading.Lock()
_caches: list["Lazy[Any]"] = []


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

    def maker(service: str) -> Callable[[float, float], Any]:
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

    built = AwsClients(
        sqs=BudgetedClient(maker("sqs"), policy),
        dynamodb=BudgetedClient(maker("dynamodb"), policy),
        sns=BudgetedClient(maker("sns"), policy),
    )
    for client in (built.sqs, built.dynamodb, built.sns):
        client.rung(policy.attempt_timeouts_seconds[0])
    return built

settings: Lazy[Settings] = lazy(Settings.from_environ)
"""``settings()`` -> the cached ``Settings`` parsed from the environment on first use."""


def reset() -> None:
    """Drop every cache (clients, settings, the handlers' services) so the next call rebuilds them."""
    with _registry_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
