"""``FaultProxy``: an HTTP proxy in front of the emulator that makes chosen AWS calls misbehave, the way AWS and networks do.

The handlers' clients point at the proxy (``LocalPipelineOptions.fault_proxy``); it forwards
each call to the emulator unchanged, unless its plan (``FaultPlan``: a call -> a ``Fault`` or
None) picks a fault for it. Each fault is one failure shape, named by what the caller sees and
whether the call took effect:

==================  =========  ==========================================================
fault               effect     what the caller gets
==================  =========  ==========================================================
``error-before``    none       a 500 of the service (``InternalFailure`` / ``InternalError``)
``error-after``     applied    the same 500: the call took effect, its answer is lost
``throttle``        none       the service's throttling error
``kms-throttle``    none       KMS throttling as SQS (``KmsThrottled`` + ``x-amzn-query-error``)
                               and SNS (``KMSThrottling``) report it; DynamoDB: its throttle
``stall``           applied    nothing at all: the connection stays open, silent
``trickle``         applied    the status line, then one byte of the answer per interval
``late``            applied    the whole answer, ``late_seconds`` after the call took effect
``reset``           applied    a TCP reset instead of the answer
``cut-headers``     applied    ``200 OK`` and part of the headers, then the connection closes
``empty-200``       applied    ``200 OK`` with an empty body and no checksum header
==================  =========  ==========================================================

A stalled or trickled connection is held at most ``hold_cap_seconds`` (then closed), so a
client that never gives up does not keep a proxy thread for ever. ``stats`` counts the calls
seen and the faults injected, per kind and per operation. Everything is loopback and in-process;
it reads only what it needs to route (the SigV4 credential scope names the service, the
``X-Amz-Target`` header or the ``Action`` form field the operation).
"""

from __future__ import annotations

import collections
import http.client
import json
import logging
import random
import re
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from local_pipeline.api_server import LocalHttpServer

log = logging.getLogger(__name__)


class Fault(StrEnum):
    """One failure shape of an AWS call (module docstring)."""

    ERROR_BEFORE = "error-before"
    ERROR_AFTER = "error-after"
    THROTTLE = "throttle"
    KMS_THROTTLE = "kms-throttle"
    STALL = "stall"
    TRICKLE = "trickle"
    LATE = "late"
    RESET = "reset"
    CUT_HEADERS = "cut-headers"
    EMPTY_200 = "empty-200"

    @property
    def forwards(self) -> bool:
        """True when the call reaches the emulator (takes effect) before the fault."""
        return self not in (Fault.ERROR_BEFORE, Fault.THROTTLE, Fault.KMS_THROTTLE)


@dataclass(frozen=True)
class AwsCall:
    """One call as the proxy sees it: which service and operation, and its body."""

    service: str
    """The SigV4 signing name: ``sqs``, ``dynamodb``, ``sns``..."""
    operation: str
    """``SendMessage``, ``PutItem``, ``PublishBatch``..."""
    body: bytes = b""


#: A fault plan: the fault for one call, or None to forward it untouched.
FaultPlan = Callable[[AwsCall], "Fault | None"]


def no_faults(call: AwsCall) -> Fault | None:
    """The plan that forwards everything."""
    return None


class RandomFaults:
    """Each call of the chosen operations fails with probability ``rate``, with a kind drawn from ``kinds`` (seeded: repeatable)."""

    def __init__(
        self,
        rate: float,
        *,
        kinds: Iterable[Fault] = tuple(Fault),
        operations: Iterable[str] | None = None,
        seed: int = 21,
    ) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1 (given {rate!r}); use e.g. 0.08 for 8 %")
        self.rate = rate
        self.kinds = tuple(kinds)
        if not self.kinds:
            raise ValueError("kinds must name at least one Fault")
        self.operations = frozenset(operations) if operations is not None else None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, call: AwsCall) -> Fault | None:
        """The fault for ``call``, or None."""
        if self.operations is not None and call.operation not in self.operations:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.kinds)


@dataclass
class FaultStats:
    """What the proxy saw and did (thread-safe through ``FaultProxy``)."""

    calls: collections.Counter = field(default_factory=collections.Counter)
    """``service.Operation`` -> calls seen."""
    faults: collections.Counter = field(default_factory=collections.Counter)
    """fault kind -> times injected."""
    by_operation: collections.Counter = field(default_factory=collections.Counter)
    """(``service.Operation``, fault kind) -> times injected."""

    @property
    def total_calls(self) -> int:
        """Every call seen."""
        return sum(self.calls.values())

    @property
    def total_faults(self) -> int:
        """Every fault injected."""
        return sum(self.faults.values())


_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
#: Error answers per service: (status, extra headers, body). JSON services name the error by
#: ``__type``; SQS adds its query code in ``x-amzn-query-error`` (awsQueryCompatible); SNS answers XML.
_DYNAMODB_ERROR = "com.amazonaws.dynamodb.v20120810#{}"


def _error_body(error_type: str) -> bytes:
    """A JSON-protocol error body, compact as AWS sends it."""
    return json.dumps({"__type": error_type, "message": "injected by the fault proxy"}, separators=(",", ":")).encode()


def _json_error(service: str, kind: Fault) -> tuple[int, dict[str, str], bytes]:
    if service == "sqs":
        code, query, status = {
            Fault.THROTTLE: ("RequestThrottled", "RequestThrottled;Sender", 403),
            Fault.KMS_THROTTLE: ("KmsThrottled", "KMS.ThrottlingException;Sender", 400),
        }.get(kind, ("InternalFailure", "InternalFailure;Receiver", 500))
        body = _error_body(f"com.amazonaws.sqs#{code}")
        return status, {"x-amzn-query-error": query, "Content-Type": "application/x-amz-json-1.0"}, body
    code, status = {
        Fault.THROTTLE: ("ThrottlingException", 400),
        Fault.KMS_THROTTLE: ("ProvisionedThroughputExceededException", 400),
    }.get(kind, ("InternalServerError", 500))
    body = _error_body(_DYNAMODB_ERROR.format(code))
    return status, {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF)}, body


def _query_error(kind: Fault) -> tuple[int, dict[str, str], bytes]:
    code, kind_of, status = {
        Fault.THROTTLE: ("Throttling", "Sender", 400),
        Fault.KMS_THROTTLE: ("KMSThrottling", "Sender", 400),
    }.get(kind, ("InternalError", "Receiver", 500))
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        f"<Type>{kind_of}</Type><Code>{code}</Code><Message>injected by the fault proxy</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return status, {"Content-Type": "text/xml"}, body


def error_answer(service: str, kind: Fault) -> tuple[int, dict[str, str], bytes]:
    """The service's own error answer for a throttle, a KMS throttle or a 500 (any other kind)."""
    return _query_error(kind) if service == "sns" else _json_error(service, kind)


class FaultProxy:
    """Forwards AWS calls to ``upstream`` (the emulator), injecting the faults its plan picks; see the module docstring."""

    def __init__(
        self,
        plan: FaultPlan = no_faults,
        *,
        late_seconds: float = 3.0,
        trickle_interval_seconds: float = 0.2,
        hold_cap_seconds: float = 30.0,
        host: str = "127.0.0.1",
        observer: Callable[[AwsCall, int, bytes], None] | None = None,
    ) -> None:
        """``observer(call, status, body)``: told of every call the emulator answered (faulted or not),
        with the emulator's own answer: what really took effect, whatever the client then got."""
        self.plan = plan
        self.observer = observer
        self.late_seconds = late_seconds
        self.trickle_interval_seconds = trickle_interval_seconds
        self.hold_cap_seconds = hold_cap_seconds
        self._host = host
        self._lock = threading.Lock()
        self._stats = FaultStats()
        self._server: LocalHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.upstream: str | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: give it to the clients as their endpoint URL."""
        if self._server is None:
            raise RuntimeError("FaultProxy is not started; call start(upstream) first")
        return self._server.root_url

    def start(self, upstream: str) -> FaultProxy:
        """Listen on a free loopback port and forward to ``upstream`` (``http://host:port``)."""
        self.upstream = upstream.rstrip("/")
        self._stop.clear()
        self._server = LocalHttpServer((self._host, 0), _handler_class(self))
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held connections are released."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stats(self) -> FaultStats:
        """A copy of the counts so far."""
        with self._lock:
            return FaultStats(collections.Counter(self._stats.calls), collections.Counter(self._stats.faults), collections.Counter(self._stats.by_operation))

    # ------------------------------------------------------------------ per call
    def decide(self, call: AwsCall) -> Fault | None:
        """The plan's fault for ``call`` (a failing plan forwards), counted."""
        try:
            fault = self.plan(call)
        except Exception:
            log.exception("fault plan failed; forwarding the call")
            fault = None
        name = f"{call.service}.{call.operation}"
        with self._lock:
            self._stats.calls[name] += 1
            if fault is not None:
                self._stats.faults[fault.value] += 1
                self._stats.by_operation[(name, fault.value)] += 1
        return fault

    def hold(self, seconds: float) -> bool:
        """Wait ``seconds`` (at most the cap), or until the proxy stops; True when it stopped."""
        return self._stop.wait(min(seconds, self.hold_cap_seconds))

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stop.is_set()


def identify(headers: Message, body: bytes) -> AwsCall:
    """Service and operation of a signed AWS request (``unknown`` where the request does not say)."""
    scope = _SCOPE.search(headers.get("Authorization", ""))
    service = scope.group(1) if scope else "unknown"
    target = headers.get("X-Amz-Target", "")
    if target:
        return AwsCall(service, target.rsplit(".", 1)[-1], body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["unknown"])[0]
    return AwsCall(service, action, body)


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do
        upstream_connection: http.client.HTTPConnection | None = None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            call = identify(self.headers, body)
            fault = proxy.decide(call)
            if fault is not None and not fault.forwards:
                status, error_headers, payload = error_answer(call.service, fault)
                self._answer(status, error_headers, payload)
                return
            status, headers, payload = self._forward(body)
            if proxy.observer is not None:
                proxy.observer(call, status, payload)
            _Misbehave(self, proxy, call).answer(fault, status, headers, payload)

        do_GET = do_PUT = do_DELETE = do_POST

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            for attempt in (1, 2):  # a kept-alive upstream connection may have been closed meanwhile
                connection = self.upstream_connection or self._connect()
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    return response.status, response.getheaders(), response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    self.upstream_connection = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        def _connect(self) -> http.client.HTTPConnection:
            parts = urlsplit(proxy.upstream or "")
            if not parts.hostname:
                raise RuntimeError(f"FaultProxy: the upstream {proxy.upstream!r} is not an http://host:port URL; start(upstream) with the emulator's URL")
            self.upstream_connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            return self.upstream_connection

        def _answer(self, status: int, headers: dict[str, str] | list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items() if isinstance(headers, dict) else headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def finish(self) -> None:
            if self.upstream_connection is not None:
                self.upstream_connection.close()
            super().finish()

        def log_message(self, format: str, *args: object) -> None:
            if log.isEnabledFor(logging.DEBUG):  # http.server's format and args, formatted as its own log_message does
                log.debug("fault proxy %s - %s", self.client_address[0], format % args)

    return _Handler


class _Misbehave:
    """The answer to a forwarded call, with its fault (None: the real answer)."""

    def __init__(self, handler: BaseHTTPRequestHandler, proxy: FaultProxy, call: AwsCall) -> None:
        self.handler, self.proxy, self.call = handler, proxy, call

    def answer(self, fault: Fault | None, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        """Write the answer the fault calls for."""
        handler = self.handler
        if fault is None:
            handler._answer(status, headers, payload)  # type: ignore[attr-defined]
        elif fault is Fault.ERROR_AFTER:
            handler._answer(*error_answer(self.call.service, fault))  # type: ignore[attr-defined]
        elif fault is Fault.LATE:
            self.proxy.hold(self.proxy.late_seconds)
            handler._answer(status, headers, payload)  # type: ignore[attr-defined]
        elif fault is Fault.STALL:
            handler.close_connection = True
            self._silent_until_closed()
        elif fault is Fault.TRICKLE:
            self._trickle(status, headers, payload)
        elif fault is Fault.RESET:
            self._reset()
        elif fault is Fault.CUT_HEADERS:
            handler.close_connection = True
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n")
            handler.wfile.flush()
        elif fault is Fault.EMPTY_200:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def _trickle(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        handler, proxy = self.handler, self.proxy
        handler.close_connection = True
        head = "".join(f"{name}: {value}\r\n" for name, value in headers if name.lower() not in ("connection", "transfer-encoding"))
        raw = f"HTTP/1.1 {status} {http.client.responses.get(status, 'Unknown')}\r\n".encode() + head.encode() + b"\r\n" + payload
        started = time.monotonic()
        first_line = raw.index(b"\r\n") + 2
        handler.wfile.write(raw[:first_line])
        handler.wfile.flush()
        for index in range(first_line, len(raw)):
            if proxy.hold(proxy.trickle_interval_seconds) or time.monotonic() - started > proxy.hold_cap_seconds:
                return
            handler.wfile.write(raw[index : index + 1])
            handler.wfile.flush()

    def _silent_until_closed(self) -> None:
        """Say nothing until the client gives up (closes), the cap passes or the proxy stops."""
        import select

        connection: socket.socket = self.handler.connection
        deadline = time.monotonic() + self.proxy.hold_cap_seconds
        while not self.proxy.stopping and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0.2)
            if readable and not connection.recv(1, socket.MSG_PEEK):
                return  # the client closed its side

    def _reset(self) -> None:
        connection: socket.socket = self.handler.connection
        self.handler.close_connection = True
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
