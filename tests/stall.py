"""Dependencies that misbehave on the wire: one that never answers, one that trickles its answer, one that answers canned bytes."""

from __future__ import annotations

import socket
import threading


class _Listener:
    """Accepts every connection on 127.0.0.1 (a thread) and hands it to ``connected``; closes them all on exit."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, to use as a boto3 endpoint URL."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._open.append(connection)
            self.connected(connection)

    def connected(self, connection: socket.socket) -> None:
        """A new connection (called on the accepting thread)."""
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in self._open:
                connection.close()
        self._listener.close()


class StallingServer(_Listener):
    """Listens on 127.0.0.1, accepts every connection, reads nothing, writes nothing, holds it open.

    A client connects at once (so connect timeouts do not fire) and then waits for a response
    that never comes: exactly a hung SQS or DynamoDB endpoint.
    """

    def __init__(self) -> None:
        super().__init__()
        self.accepted = 0
        """Connections accepted so far (each one is an attempt that got no answer)."""

    def connected(self, connection: socket.socket) -> None:
        with self._lock:
            self.accepted += 1


class _Server(_Listener):
    """Serves each connection on its own daemon thread: reads a request, answers it with ``serve(connection)``."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        """Requests received so far (each is one attempt of a client)."""

    def connected(self, connection: socket.socket) -> None:
        threading.Thread(target=self._serve_quietly, args=(connection,), daemon=True).start()

    def _serve_quietly(self, connection: socket.socket) -> None:
        try:
            while not self._stop.is_set() and read_request(connection):
                with self._lock:
                    self.requests += 1
                if not self.serve(connection):
                    break
        except OSError:
            pass
        connection.close()

    def serve(self, connection: socket.socket) -> bool:
        """Answer one request; False closes the connection."""
        raise NotImplementedError


def read_request(connection: socket.socket) -> bytes:
    """One HTTP request (headers and a Content-Length body) from ``connection``; b"" when it closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


class TricklingServer(_Server):
    """Answers every request with a status line, then ONE header byte every ``interval`` seconds, for ever.

    The socket is never silent for ``interval``, so a per-read timeout (botocore's ``read_timeout``)
    never fires: only a wall-clock bound on the whole attempt ends it.
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__()
        self.interval = interval

    def serve(self, connection: socket.socket) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not self._stop.wait(self.interval):
            connection.sendall(b"X")
        return False


class CannedServer(_Server):
    """Answers every request with the same raw bytes (``answer``), keeping the connection open."""

    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self.answer = answer

    def serve(self, connection: socket.socket) -> bool:
        connection.sendall(self.answer)
        return True


def http_answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    """The raw bytes of an HTTP/1.1 answer with a Content-Length."""
    head = "".join(f"{name}: {value}\r\n" for name, value in {**headers, "Content-Length": str(len(body))}.items())
    return f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + body
