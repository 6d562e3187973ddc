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
    raw = b"3;ext=1\r\n{\"a\r\n4\r\n\": 1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n"
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
        ({"Transfer-Encoding": "chunked"}, b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413),
    ],
)
def test_broken_framing_is_a_body_error_with_a_status(headers, raw, status):
    with pytest.raises(BodyError) as caught:
        read(headers, raw, limit=10)
    assert caught.value.status == status and caught.value.message


def _raw_request(api: LocalApi, data: bytes) -> tuple[int, bytes]:
    host, port = api.url.removeprefix("http://").split(":")
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

    local = LocalApi(handler, context_factory=lambda: None)
    local.start()
    local.seen = seen  # type: ignore[attr-defined]
    yield local
    local.stop()


def test_server_answers_broken_framing_and_deep_nesting_with_4xx_not_a_dropped_connection(api):
    prefix = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, body = _raw_request(api, prefix + b"Content-Length: abc\r\n\r\n{}")
    assert status == 400 and json.loads(body)["message"]
    deep = b"[" * 100_000 + b"]" * 100_000
    status, body = _raw_request(api, prefix + b"Content-Length: %d\r\n\r\n" % len(deep) + deep)
    assert status == 400 and json.loads(body) == {"message": "Invalid request body"}
    assert api.seen == []


def test_server_accepts_a_chunked_order(api):
    order = json.dumps(ORDER).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(order), order)
    status, body = _raw_request(api, b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    assert status == 200 and json.loads(json.loads(body)["body"]) == ORDER
