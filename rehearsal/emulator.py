"""The rehearsal's own AWS emulator: a patched moto server in a child process on a free loopback port."""

from __future__ import annotations

import errno
import importlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from rehearsal.moto_server import MANAGED_POLICIES_ENV

FAKE_ACCESS_KEY = "rehearsal"
FAKE_SECRET_KEY = "rehearsal"
#: The account moto answers for (sts:GetCallerIdentity).
MOTO_ACCOUNT_ID = "123456789012"
#: Packages of the public Powertools layer that the handlers import (the layer carries them; boto3
#: is the runtime's). The stand-in layer is zipped from the locked versions in this environment.
LAYER_PACKAGES = ("aws_lambda_powertools", "aws_xray_sdk", "fastjsonschema", "wrapt")


class EmulatorError(RuntimeError):
    """The emulator could not start; the message says why and what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    """EmulatorError naming the port when something already listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise EmulatorError(f"port {port} on {host} is already in use. Fix: stop what listens there, or leave --moto-port out to pick a free port.") from error
            raise EmulatorError(f"cannot bind {host}:{port}: {error}. Fix: choose another --moto-port.") from error


class RehearsalEmulator:
    """A patched moto server (``rehearsal.moto_server``) in its own process; ``stop()`` always ends it."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint_url(self) -> str:
        """``http://<host>:<port>``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 60.0) -> None:
        """Start the server and wait until it answers; EmulatorError on a busy port or a failed start."""
        if self.port:
            check_port_free(self.host, self.port)
        else:
            self.port = free_port(self.host)
        self._log = tempfile.TemporaryFile()
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, **MANAGED_POLICIES_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "rehearsal.moto_server", "-H", self.host, "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self.output()
                self._process = None
                raise EmulatorError(f"the moto server exited at start on {self.endpoint_url}: {output[-1500:].strip() or 'no output'}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise EmulatorError(f"the moto server did not answer on {self.endpoint_url} within {timeout_seconds:.0f} s")

    def output(self) -> str:
        """What the server printed so far (start-up errors, tracebacks)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Terminate the server (kill after 10 s); safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for this server with fake credentials."""
        import boto3

        return boto3.session.Session().client(
            service, region_name=region, endpoint_url=self.endpoint_url, aws_access_key_id=FAKE_ACCESS_KEY, aws_secret_access_key=FAKE_SECRET_KEY
        )

    def publish_layer(self, layer_name: str, region: str) -> tuple[str, str]:
        """Publish the stand-in Powertools layer under the public layer's name; (version ARN, what it holds)."""
        content, versions = stand_in_layer_zip()
        response = self.client("lambda", region).publish_layer_version(
            LayerName=layer_name,
            Description="Deploy rehearsal stand-in for the public Powertools layer: " + ", ".join(versions),
            Content={"ZipFile": content},
            CompatibleRuntimes=["python3.12"],
        )
        return response["LayerVersionArn"], ", ".join(versions)


def stand_in_layer_zip() -> tuple[bytes, list[str]]:
    """A Lambda layer zip (``python/<package>/...``) of LAYER_PACKAGES as installed here, and their versions."""
    from importlib import metadata

    buffer = io.BytesIO()
    versions = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in LAYER_PACKAGES:
            module = importlib.import_module(package)
            source = Path(module.__file__).resolve()
            root = source.parent if source.name == "__init__.py" else source
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            for path in files:
                archive.write(path, "python/" + path.relative_to(root.parent).as_posix())
            distribution = package.replace("_", "-") if package != "aws_lambda_powertools" else "aws-lambda-powertools"
            try:
                versions.append(f"{distribution} {metadata.version(distribution)}")
            except metadata.PackageNotFoundError:
                versions.append(package)
    return buffer.getvalue(), versions
