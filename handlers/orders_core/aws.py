"""boto3 clients and per-container caches: created lazily, ONCE, and dropped by ``reset()``.

Every AWS call of the handlers goes through ``clients()``, so tests (and the local
pipeline) can hook botocore events on exactly these clients. Endpoints are never
passed explicitly: boto3 honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``.
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


def _build_clients() -> AwsClients:
    # boto3 is imported here, not at module import: tests of pure logic never pay for it.
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(**_CLIENT_CONFIG)
    return AwsClients(
        sqs=session.client("sqs", config=config),
        dynamodb=session.client("dynamodb", config=config),
        sns=session.client("sns", config=config),
    )


clients: Lazy[AwsClients] = lazy(_build_clients)
"""``clients()`` -> the cached ``AwsClients`` (``.sqs``, ``.dynamodb``, ``.sns``)."""

settings: Lazy[Settings] = lazy(Settings.from_environ)
"""``settings()`` -> the cached ``Settings`` parsed from the environment on first use."""


def reset() -> None:
    """Drop every cache (clients, settings, the handlers' services) so the next call rebuilds them."""
    with _registry_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
