"""``LocalApi``: a ThreadingHTTPServer that plays API Gateway in front of the API handler, in-process."""

from __future__ import annotations

import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable, Mapping
from urllib.parse import urlsplit

from local_pipeline.api_events import (
    INVALID_BODY,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    INTERNAL_ERROR,
    VALIDATED_ROUTES,
    HttpResponse,
    build_proxy_event,
    gateway_response,
    load_edge_validator,
    match_route,
    proxy_response,
)

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], Any]
ContextFactory = Callable[[], Any]

# API Gateway rejects payloads above 10 MB before invoking anything.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Longest chunk-size or trailer line accepted in a chunked body (real ones are a few bytes).
_MAX_CHUNK_LINE = 1024


class BodyError(Exception):
    """A request body with broken framing (bad Content-Length or chunk) or too large; answered with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    body = bytearray()
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BodyError(400, "Bad Request: malformed chunk size") from None
        if size < 0:
            raise BodyError(400, "Bad Request: malformed chunk size")
        if size == 0:
            # Skip optional trailer headers up to the blank line that ends the message.
            for _ in range(100):
                if rfile.readline(_MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
                    break
            return bytes(body)
        if len(body) + size > limit:
            raise BodyError(413, "Request Too Long")
        data = rfile.read(size)
        if len(data) != size:
            raise BodyError(400, "Bad Request: truncated chunk")
        body += data
        rfile.readline(_MAX_CHUNK_LINE)  # the CRLF after the chunk data


def read_request_body(headers: Mapping[str, str], rfile: BinaryIO, *, limit: int = MAX_BODY_BYTES) -> bytes | None:
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
    return rfile.read(length) if length else None



class _LocalHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog that survives 100+ concurrent clients.

    socketserver's default backlog is 5: under `ordersctl load -c 100` the kernel reset
    the connections that did not fit, which API Gateway would never do.
    """

    request_queue_size = 512
    daemon_threads = True

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
    ) -> None:
        self._handler = handler
        self._context_factory = context_factory
        self.stage = stage
        self._host = host
        self._port = port
        self._validate = validate_body or load_edge_validator()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ request handling (no sockets)
    def handle(self, *, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None, source_ip: str = "127.0.0.1") -> HttpResponse:
        """Answer one request: route, validate at the edge, invoke the handler, map its result."""
        request_id = str(uuid.uuid4())
        parts = urlsplit(target)
        route = match_route(method, parts.path, self.stage)
        if route.status == 404:
            return gateway_response(404, NOT_FOUND, request_id)
        if route.status == 405:
            return gateway_response(405, METHOD_NOT_ALLOWED, request_id, (("Allow", ", ".join(route.allowed_methods)),))
        if body is not None and len(body) > MAX_BODY_BYTES:
            return gateway_response(413, {"message": "Request Too Long"}, request_id)
        if (method.upper(), route.resource) in VALIDATED_ROUTES:
            text = None
            if body:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
            if not self._validate(text):
                return gateway_response(400, INVALID_BODY, request_id)
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
        try:
            result = self._handler(event, self._context_factory())
        except Exception:  # noqa: BLE001 - a crashing Lambda is a 502 at the edge, exactly as in AWS
            log.exception("API handler raised; answering 502 like API Gateway")
            return gateway_response(502, INTERNAL_ERROR, request_id)
        return proxy_response(result, request_id)

    # ------------------------------------------------------------------ server lifecycle
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080`` (routes are served at its root and under ``/<stage>``)."""
        if self._server is None:
            raise RuntimeError("LocalApi is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        api = self

        class _RequestHandler(BaseHTTPRequestHandler):
            server_version = "LocalApiGateway/1.0"

            def _dispatch(self) -> None:
                try:
                    body = read_request_body(self.headers, self.rfile)
                except BodyError as error:
                    # The rest of the stream cannot be trusted: answer, then close the connection.
                    self.close_connection = True
                    response = gateway_response(error.status, {"message": error.message}, str(uuid.uuid4()))
                else:
                    response = api.handle(
                        method=self.command,
                        target=self.path,
                        headers=list(self.headers.items()),
                        body=body,
                        source_ip=self.client_address[0],
                    )
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
                log.debug("api %s - " + format, self.client_address[0], *args)

        self._server = _LocalHttpServer((self._host, self._port), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
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
