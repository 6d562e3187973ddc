"""The local API's body framing: Content-Length and chunked bodies, and clear 4xx for broken framing."""

from __future__ import annotations

import io
import json
import socket

import pytest

from local_pipeline.api_server import BodyError, LocalApi, read_request_body

pytestmark = pytest.mark.timeout(60)

ORDER = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}]}


def read(headers, raw: bytes, **kwargs):
    return read_request_body(headers, io.BytesIO(raw), **kwargs)


def test_content_length_body_is_read_exactly():
    assert read({"Content-Length": "2"}, b"{}trailing") == b"{}"
    assert read({}, b"ignored") is None
    assert read({"Content-Length": "0"}, b"") is None


def test_chunked_body_is_reassembled_with_extensions_and_trailers():
    raw = b'3;ext=1\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
    assert read({"Transfer-Encoding": "chunked"}, raw) == b'{"a": 1}'
    assert read({"Transfer-Encoding": "chunked"}, b"0\r\n\r\n") is None


@pytest.mark.parametrize(
    ("headers", "raw", "status"),
    [
        ({"Content-Length": "abc"}, b"{}", 400),
        ({"Content-Length": "-5"}, b"{}", 400),
        ({"Content-Length": "1e3"}, b"{}", 400),
        ({"Content-Length": "11"}, b"", 413),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\n{}\r\n0\r\n\r\n", 400),
        ({"Transfer-Encoding": "chunked"}, b"-2\r\n{}\r\n0\r\n\r\n", 400),
        ({"Transfer-Encoding": "chunked"}, b"5\r\n{}", 400),
        ({"Content-Length": "9"}, b"{}", 400),  # the body ended before Content-Length bytes
        ({"Transfer-Encoding": "chunked"}, b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413),
    ],
)
def test_broken_framing_is_a_body_error_with_a_status(headers, raw, status):
    with pytest.raises(BodyError) as caught:
        read(headers, raw, limit=10)
    assert caught.value.status == status and caught.value.message


def _raw_request(api: LocalApi, data: bytes) -> tuple[int, bytes]:
    host, port = api.server_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.fixture
def api():
    seen: list[dict] = []

    def handler(event, context):
        seen.append(event)
        return {"statusCode": 200, "body": json.dumps({"body": event["body"]})}

    local = LocalApi(handler, context_factory=lambda: None, read_timeout_seconds=1)
    local.start()
    local.seen = seen  # type: ignore[attr-defined]  # the tests read what the handler got off the server they use
    yield local
    local.stop()


def test_server_answers_broken_framing_and_deep_nesting_with_4xx_not_a_dropped_connection(api):
    prefix = b"POST /local/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, body = _raw_request(api, prefix + b"Content-Length: abc\r\n\r\n{}")
    assert status == 400 and json.loads(body)["message"]
    deep = b"[" * 100_000 + b"]" * 100_000
    status, body = _raw_request(api, prefix + b"Content-Length: %d\r\n\r\n" % len(deep) + deep)
    assert status == 400 and json.loads(body)["message"] == "Invalid request body"
    assert api.seen == []


def test_server_accepts_a_chunked_order(api):
    order = json.dumps(ORDER).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(order), order)
    status, body = _raw_request(api, b"POST /local/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    assert status == 200 and json.loads(json.loads(body)["body"]) == ORDER


# ---------------------------------------------------------------- stalled, short and vanishing clients

POST = b"POST /local/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def _connect(api: LocalApi) -> socket.socket:
    host, port = api.server_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    response = b""
    while chunk := sock.recv(65536):
        response += chunk
    return response


def test_a_body_shorter_than_its_content_length_is_a_400_not_a_shorter_order(api):
    order = json.dumps(ORDER).encode()
    with _connect(api) as sock:
        sock.sendall(POST + b"Content-Length: %d\r\n\r\n" % (len(order) + 50) + order)
        sock.shutdown(socket.SHUT_WR)  # the client is done: the last 50 bytes never come
        head, _, body = _read_all(sock).partition(b"\r\n\r\n")
    assert int(head.split()[1]) == 400 and b"ended after" in body
    assert api.seen == []


def test_fifty_stalled_half_bodies_do_not_hold_the_server(api):
    """50 clients that send half a body and stall are dropped after the read timeout; others are served meanwhile."""
    import threading
    import time

    order = json.dumps(ORDER).encode()
    before = threading.active_count()
    stalled = [_connect(api) for _ in range(50)]
    try:
        for sock in stalled:
            sock.sendall(POST + b"Content-Length: %d\r\n\r\n" % len(order) + order[: len(order) // 2])
        time.sleep(0.3)
        assert threading.active_count() >= before + 50  # one server thread each, waiting
        status, _ = _raw_request(api, POST + b"Content-Length: %d\r\n\r\n" % len(order) + order)
        assert status == 200
        deadline = time.monotonic() + 10
        while threading.active_count() > before + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert threading.active_count() <= before + 1, "stalled clients still hold server threads after the read timeout"
        for sock in stalled:  # the server closed them: EOF, no response to a request it never got
            assert _read_all(sock) == b""
    finally:
        for sock in stalled:
            sock.close()
    assert len(api.seen) == 1


def test_a_client_that_vanishes_before_its_answer_prints_no_traceback(api, capfd):
    """Broken pipes and resets are routine for a server: logged at DEBUG, never a traceback on stderr."""
    import struct
    import time

    big = json.dumps({"x": "y" * 2_000_000})
    for _ in range(5):
        sock = _connect(api)
        body = json.dumps(ORDER).encode()
        sock.sendall(POST + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        sock.close()
    api._handler = lambda event, context: {"statusCode": 200, "body": big}  # a large answer meets the closed socket
    for _ in range(5):
        sock = _connect(api)
        body = json.dumps(ORDER).encode()
        sock.sendall(POST + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(1)
    status, _ = _raw_request(api, b"GET /local/orders/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err


def test_a_body_over_api_gateways_10_mb_is_a_plain_text_413(api):
    with _connect(api) as sock:
        sock.sendall(POST + b"Content-Length: %d\r\n\r\n" % (10 * 1024 * 1024 + 1))
        head, _, body = _read_all(sock).partition(b"\r\n\r\n")
    assert int(head.split()[1]) == 413 and body == b"HTTP content length exceeded 10485760 bytes."
    assert b"text/plain" in head


def test_an_event_over_lambdas_6_mb_is_a_413_and_the_function_never_runs(api):
    """A body the gateway accepts (< 10 MB, valid by the schema) whose event exceeds Lambda's 6 MB payload limit."""
    padded = json.dumps(ORDER).encode()[:-1] + b" " * (6 * 1024 * 1024) + b"}"  # JSON whitespace: still a valid order
    status, body = _raw_request(api, POST + b"Content-Length: %d\r\n\r\n" % len(padded) + padded)
    assert status == 413 and json.loads(body) == {"message": "Request Too Long"}
    assert api.seen == []
    just_under = json.dumps(ORDER).encode()[:-1] + b" " * (5 * 1024 * 1024) + b"}"
    status, _ = _raw_request(api, POST + b"Content-Length: %d\r\n\r\n" % len(just_under) + just_under)
    assert status == 200 and len(api.seen) == 1


# ---------------------------------------------------------------- framing that lies, clients that trickle


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"2\r\n{}EXTRA\r\n0\r\n\r\n", id="chunk-longer-than-its-size"),
        pytest.param(b"0" * 1100 + b"\r\n\r\n", id="1100-zeros-chunk-size-line"),
        pytest.param(b"0x2\r\n{}\r\n0\r\n\r\n", id="0x-prefixed-size"),
        pytest.param(b"+2\r\n{}\r\n0\r\n\r\n", id="signed-size"),
        pytest.param(b"1_0\r\n" + b"x" * 10 + b"\r\n0\r\n\r\n", id="underscore-in-size"),
        pytest.param(b"2\r\n{}\r\n0\r\n" + b"X: y\r\n" * 101 + b"\r\n", id="endless-trailers"),
    ],
)
def test_chunked_framing_that_lies_is_a_400(raw):
    """A chunk longer than its declared size, or a size line of 1,100 zeros, was accepted (the zeros as "the end")."""
    with pytest.raises(BodyError) as caught:
        read({"Transfer-Encoding": "chunked"}, raw)
    assert caught.value.status == 400


def test_a_chunk_longer_than_its_size_is_a_400_from_the_server(api):
    status, body = _raw_request(api, POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"2\r\n{}EXTRA\r\n0\r\n\r\n")
    assert status == 400 and b"longer than its declared size" in body
    assert api.seen == []


def test_a_client_trickling_its_headers_loses_its_connection_at_the_request_deadline():
    """One header byte every 0.2 s never trips the 1 s read timeout; the whole request has 1.5 s, then the thread is free."""
    import threading
    import time

    local = LocalApi(lambda event, context: {"statusCode": 200, "body": "{}"}, context_factory=lambda: None, read_timeout_seconds=1, request_deadline_seconds=1.5)
    local.start()
    try:
        before = threading.active_count()
        with _connect(local) as sock:
            started = time.monotonic()
            closed_after = None
            for byte in POST + b"X-Slow: " + b"a" * 100:
                try:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
                    sock.settimeout(0.01)
                    if sock.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed_after = time.monotonic() - started
                    break
        assert closed_after is not None and closed_after < 4, f"the trickling client kept its connection for {closed_after} s"
        deadline = time.monotonic() + 5
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() <= before
    finally:
        local.stop()
