"""A TCP server that accepts connections and never answers: the stalled dependency of the timeout tests."""

from __future__ import annotations

import socket
import threading


class StallingServer:
    """Listens on 127.0.0.1, accepts every connection, reads nothing, writes nothing, holds it open.

    A client connects at once (so connect timeouts do not fire) and then waits for a response
    that never comes: exactly a hung SQS or DynamoDB endpoint.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="stalling-server", daemon=True)
        self.accepted = 0
        """Connections accepted so far (each one is an attempt that got no answer)."""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, to use as a boto3 endpoint URL."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(connection)
                self.accepted += 1

    def __enter__(self) -> "StallingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in self._held:
                connection.close()
        self._listener.close()
