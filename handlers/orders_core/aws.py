"""boto3 clients and per-container caches: created lazily, ONCE, and dropped by ``reset()``.

In Lambda every AWS call of the handlers goes through ``clients()`` (built from boto3's
defaults: the function's region and role, ``AWS_ENDPOINT_URL`` if set). The local pipeline
builds its own ``AwsClients`` per pipeline with ``build_clients(ClientTarget(...))`` and
injects them into the handlers, so no process-wide variable decides where a call goes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from orders_core.settings import Settings

T = TypeVar("T")

# Short timeouts and standard retries: the API handler has a 10 s budget and API
# Gateway gives up at 29 s; a hung connection must fail fast and be retried.
_CLIENT_CONFIG = dict(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)

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
    """The low-level boto3 clients the handlers use."""

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


def build_clients(target: ClientTarget | None = None) -> AwsClients:
    """New SQS, DynamoDB and SNS clients for ``target`` (boto3's defaults when None)."""
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
    config = Config(**_CLIENT_CONFIG)
    return AwsClients(
        sqs=session.client("sqs", config=config, endpoint_url=target.endpoint_url),
        dynamodb=session.client("dynamodb", config=config, endpoint_url=target.endpoint_url),
        sns=session.client("sns", config=config, endpoint_url=target.endpoint_url),
    )


clients: Lazy[AwsClients] = lazy(build_clients)
"""``clients()`` -> the cached ``AwsClients`` (``.sqs``, ``.dynamodb``, ``.sns``)."""

settings: Lazy[Settings] = lazy(Settings.from_environ)
"""``settings()`` -> the cached ``Settings`` parsed from the environment on first use."""


def reset() -> None:
    """Drop every cache (clients, settings, the handlers' services) so the next call rebuilds them."""
    with _registry_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
