"""``LocalApi``: a ThreadingHTTPServer that plays API Gateway in front of the API handler, in-process."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, TypeAlias
from urllib.parse import urlsplit

from local_pipeline.api_events import (
    BAD_REQUEST_BODY,
    INTEGRATION_FAILURE,
    LAMBDA_SYNC_PAYLOAD_BYTES,
    MISSING_AUTHENTICATION_TOKEN,
    VALIDATED_ROUTES,
    HttpResponse,
    body_over_gateway_limit,
    build_proxy_event,
    gateway_response,
    load_edge_validator,
    match_route,
    payload_too_large,
    proxy_response,
)

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], Any]
ContextFactory = Callable[[], Any]

# API Gateway rejects payloads above 10 MB before invoking anything.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: How long a client may take between two reads of its request (headers or body) before the
#: connection is dropped: a client that stalls mid-body does not hold a server thread for ever.
DEFAULT_READ_TIMEOUT_SECONDS = 10.0
#: How long a client may take to send its WHOLE request (request line, headers, body). A client
#: that trickles (a byte every few seconds) never trips the per-read timeout; this deadline ends it.
DEFAULT_REQUEST_DEADLINE_SECONDS = 30.0
# Longest chunk-size or trailer line accepted in a chunked body (real ones are a few bytes).
_MAX_CHUNK_LINE = 1024
#: A chunk size: hex digits only (``int(x, 16)`` would also take "0x1f", "+5", " 5", "1_0"), at most
#: 16 of them (no body here is near 2**64 bytes), then optional extensions after ";".
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")


class BodyError(Exception):
    """A request body with broken framing (bad Content-Length or chunk) or too large; answered with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: What a request body is read from: a socket file (http.server's ``rfile``) or a test's BytesIO.
RequestStream: TypeAlias = BinaryIO | io.BufferedIOBase


def _chunk_line(rfile: RequestStream) -> bytes:
    line = rfile.readline(_MAX_CHUNK_LINE + 1)
    if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
        raise BodyError(400, f"Bad Request: a chunk-size or trailer line is longer than {_MAX_CHUNK_LINE} bytes or unterminated")
    return line


def _read_chunked(rfile: RequestStream, limit: int) -> bytes:
    body = bytearray()
    while True:
        match = _CHUNK_SIZE.fullmatch(_chunk_line(rfile))
        if match is None:
            raise BodyError(400, "Bad Request: malformed chunk size")
        size = int(match.group(1), 16)
        if size == 0:
            # Optional trailer headers, up to the blank line that ends the message.
            for _ in range(100):
                if _chunk_line(rfile) in (b"\r\n", b"\n"):
                    return bytes(body)
            raise BodyError(400, "Bad Request: more than 100 trailer lines")
        if len(body) + size > limit:
            raise BodyError(413, "Request Too Long")
        data = rfile.read(size)
        if len(data) != size:
            raise BodyError(400, "Bad Request: the connection ended inside a chunk")
        body += data
        # The chunk's data must end exactly where its size says: a longer chunk is not accepted.
        if rfile.readline(3) not in (b"\r\n", b"\n"):
            raise BodyError(400, f"Bad Request: a chunk is longer than its declared size ({size} bytes)")


def read_request_body(headers: Message | Mapping[str, str], rfile: RequestStream, *, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body per ``Content-Length`` or ``Transfer-Encoding: chunked`` (None when there is none).

    Raises ``BodyError`` (400 for a malformed length or chunk, 413 above ``limit``) instead of
    reading an unbounded or garbled body, so a bad request is an answer, never a dropped connection.
    """
    transfer_encoding = (headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in transfer_encoding:
        return _read_chunked(rfile, limit) or None
    raw_length = (headers.get("Content-Length") or "").strip()
    if not raw_length:
        return None
    if not (raw_length.isascii() and raw_length.isdigit()):
        raise BodyError(400, f"Bad Request: Content-Length must be a non-negative integer (got {raw_length[:40]!r})")
    length = int(raw_length)
    if length > limit:
        raise BodyError(413, "Request Too Long")
    if not length:
        return None
    body = rfile.read(length)
    if len(body) < length:
        # The client closed its side early: the body is incomplete, never a shorter order.
        raise BodyError(400, f"Bad Request: the body ended after {len(body)} of {length} bytes (Content-Length)")
    return body


class _DeadlineReader(io.RawIOBase):
    """The connection as a raw stream: every receive waits at most the per-read timeout AND what is left of the request's deadline.

    A per-read timeout alone (``socket.settimeout``) restarts with every byte, so a client that
    trickles its request line or headers a byte at a time would hold its server thread for ever.
    """

    def __init__(self, connection: socket.socket, per_read_timeout: float) -> None:
        super().__init__()
        self._connection = connection
        self._per_read_timeout = per_read_timeout
        self.deadline: float | None = None
        """``time.monotonic()`` by which the current request must have been read; None: no deadline."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self._per_read_timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the client did not send its whole request before the request deadline")
            timeout = min(timeout, left)
        self._connection.settimeout(timeout)
        return self._connection.recv_into(buffer)


#: Errors of a client that went away (closed, reset) or stalled: routine for a server, never a traceback.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class LocalHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog that survives 100+ concurrent clients.

    socketserver's default backlog is 5: under `ordersctl load -c 100` the kernel reset
    the connections that did not fit, which API Gateway would never do.
    """

    request_queue_size = 512
    daemon_threads = True

    @property
    def root_url(self) -> str:
        """``http://<host>:<port>`` of the bound socket (the port the kernel picked for port 0)."""
        host, port = self.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows it; an AF_INET server's address is a str
            host = host.decode()
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that disconnected or stalled is logged at DEBUG; anything else with its traceback."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, CLIENT_GONE):
            log.debug("client %s went away: %r", client_address, error)
            return
        log.error("local API: unexpected error serving %s", client_address, exc_info=error)


def _framing_error(error: BodyError) -> HttpResponse:
    """The answer to a body whose framing is broken (400) or that exceeds the gateway's 10 MB (413)."""
    if error.status == 413:
        return body_over_gateway_limit(MAX_BODY_BYTES)
    headers = (("Content-Type", "application/json"), ("x-amzn-ErrorType", "BadRequestException"))
    return HttpResponse(error.status, headers, json.dumps({"message": error.message}).encode("utf-8"))


class FunctionTimedOut(Exception):
    """The handler ran past its Lambda timeout (Lambda would have stopped it: "Task timed out")."""


def invoke_within_timeout(handler: Handler, event: dict, context: Any) -> Any:
    """Call ``handler`` as Lambda does: it has until the context's deadline, and no longer.

    Lambda stops a function at its timeout and API Gateway answers the client 502. Python cannot
    stop a thread, so the call runs in a daemon thread whose late result is discarded; the caller
    gets ``FunctionTimedOut`` at the deadline, exactly when AWS would give up. Contexts without
    ``get_remaining_time_in_millis`` (none in this project) run without a limit.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return handler(event, context)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = handler(event, context)
        except BaseException as error:  # noqa: BLE001 -- handed to the caller, re-raised there
            outcome["error"] = error

    worker = threading.Thread(target=run, name="lambda-invocation", daemon=True)
    worker.start()
    worker.join(timeout=remaining() / 1000)
    if worker.is_alive():
        raise FunctionTimedOut(f"task timed out after {getattr(context, 'timeout_seconds', '?')} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


class LocalApi:
    """Routes HTTP requests to the API handler as REST proxy events, after API Gateway's edge checks."""

    def __init__(
        self,
        handler: Handler,
        *,
        context_factory: ContextFactory,
        stage: str = "local",
        host: str = "127.0.0.1",
        port: int = 0,
        validate_body: Callable[[str | None], bool] | None = None,
        read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
        request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
    ) -> None:
        self._handler = handler
        self.read_timeout_seconds = read_timeout_seconds
        self.request_deadline_seconds = request_deadline_seconds
        self._context_factory = context_factory
        self.stage = stage
        self._host = host
        self._port = port
        self._validate = validate_body or load_edge_validator()
        self._server: LocalHttpServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ request handling (no sockets)
    def handle(self, *, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None, source_ip: str = "127.0.0.1") -> HttpResponse:
        """Answer one request: route, validate at the edge, invoke the handler, map its result."""
        request_id = str(uuid.uuid4())
        parts = urlsplit(target)
        route = match_route(method, parts.path, self.stage)
        if route.status != 200:
            return gateway_response(MISSING_AUTHENTICATION_TOKEN, request_id)
        if body is not None and len(body) > MAX_BODY_BYTES:
            return body_over_gateway_limit(MAX_BODY_BYTES)
        if (method.upper(), route.resource) in VALIDATED_ROUTES:
            text = None
            if body:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
            if not self._validate(text):
                return gateway_response(BAD_REQUEST_BODY, request_id)
        event = build_proxy_event(
            method=method,
            raw_path=parts.path,
            query_string=parts.query,
            headers=headers,
            body=body,
            route=route,
            stage=self.stage,
            source_ip=source_ip,
        )
        event["requestContext"]["requestId"] = request_id
        # Lambda refuses a synchronous invocation whose payload (the JSON event) exceeds 6 MB,
        # although API Gateway accepts bodies up to 10 MB: the function never runs.
        if len(json.dumps(event).encode("utf-8")) > LAMBDA_SYNC_PAYLOAD_BYTES:
            return payload_too_large(request_id)
        context = self._context_factory()
        try:
            result = invoke_within_timeout(self._handler, event, context)
        except FunctionTimedOut as timed_out:
            log.error("API handler %s; answering 502 like API Gateway", timed_out)
            return gateway_response(INTEGRATION_FAILURE, request_id)
        except Exception:
            log.exception("API handler raised; answering 502 like API Gateway")
            return gateway_response(INTEGRATION_FAILURE, request_id)
        return proxy_response(result, request_id)

    # ------------------------------------------------------------------ server lifecycle
    @property
    def server_url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:8080`` (nothing is served there: 403, as in AWS)."""
        if self._server is None:
            raise RuntimeError("LocalApi is not started; call start() first")
        return self._server.root_url

    @property
    def url(self) -> str:
        """The stage's invoke URL, e.g. ``http://127.0.0.1:8080/local``: the routes live under it, as on
        API Gateway's default endpoint (``https://<api>.execute-api.<region>.amazonaws.com/v1``)."""
        return f"{self.server_url}/{self.stage}"

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        api = self

        class _RequestHandler(BaseHTTPRequestHandler):
            server_version = "LocalApiGateway/1.0"
            # A socket timeout on every read: the request line, the headers (socketserver applies it)
            # and the body; a stalled client gets its connection closed instead of a thread for ever.
            timeout = api.read_timeout_seconds

            def setup(self) -> None:
                super().setup()
                # Reads go through the deadline reader: the whole request has api.request_deadline_seconds.
                self.rfile.close()
                self._reader = _DeadlineReader(self.connection, api.read_timeout_seconds)
                self.rfile = io.BufferedReader(self._reader)

            def handle_one_request(self) -> None:
                self._reader.deadline = time.monotonic() + api.request_deadline_seconds
                super().handle_one_request()

            def _request_read(self) -> None:
                """The request is in: the deadline no longer applies (the answer may take the handler's time)."""
                self._reader.deadline = None
                self.connection.settimeout(api.read_timeout_seconds)

            def _dispatch(self) -> None:
                try:
                    body = read_request_body(self.headers, self.rfile)
                    self._request_read()
                except BodyError as error:
                    # The rest of the stream cannot be trusted: answer, then close the connection.
                    self._request_read()
                    self.close_connection = True
                    response = _framing_error(error)
                except TimeoutError:
                    self.close_connection = True
                    log.debug("client %s stalled or trickled its body past the read timeout or the request deadline; connection closed", self.client_address)
                    return
                else:
                    response = api.handle(
                        method=self.command,
                        target=self.path,
                        headers=list(self.headers.items()),
                        body=body,
                        source_ip=self.client_address[0],
                    )
                try:
                    self.send_response(response.status)
                    for name, value in response.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(response.body)
                except CLIENT_GONE as error:  # the client left before its answer: nothing to tell it
                    self.close_connection = True
                    log.debug("client %s went away before its response: %r", self.client_address, error)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

            def log_message(self, format: str, *args: Any) -> None:
                if log.isEnabledFor(logging.DEBUG):  # http.server's format and args, formatted as its own log_message does
                    log.debug("api %s - %s", self.client_address[0], format % args)

        self._server = LocalHttpServer((self._host, self._port), _RequestHandler)
        self._server.daemon_threads = True
        # serve_forever checks for shutdown() every poll_interval: the default 0.5 s made every
        # stop() wait up to half a second (a test's teardown, a Ctrl-C); waking 20 times a second
        # while idle is a negligible price for a local tool.
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
