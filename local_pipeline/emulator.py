"""``MotoEmulator`` and ``provision``: an embedded moto server holding the pipeline's resources, from the stack's config."""

from __future__ import annotations

import errno
import json
import signal
import socket
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_config import PipelineConfig, resource_name
from pipeline_config.naming import CUSTOMER_INDEX_NAME, UNPUBLISHED_INDEX_NAME

#: Local-only queue subscribed (raw delivery) to the events topic, so tests and the CLI can read events.
EVENTS_TAP_COMPONENT = "order-events-tap"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def emulator_client(endpoint_url: str, service: str, region: str, *, config: Any = None) -> Any:
    """A new boto3 client for ``service`` bound to an emulator at ``endpoint_url``, with fake credentials (and a botocore ``config``)."""
    import boto3

    # Typed loosely: boto3-stubs' overloads take only literal service names; this factory takes any.
    make_client: Callable[..., Any] = boto3.session.Session().client
    return make_client(service, region_name=region, endpoint_url=endpoint_url, config=config, **FAKE_CREDENTIALS)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    """RuntimeError naming the port and the fix when something already listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise RuntimeError(f"the moto server cannot start: port {port} on {host} is already in use. Fix: stop what listens there, or choose another port (0 picks a free one).") from error
            raise RuntimeError(f"the moto server cannot bind {host}:{port}: {error}. Fix: choose another port.") from error


class MotoEmulator:
    """A moto server bound to ``host`` only: in a daemon thread of this process, or in a child process.

    The child process (``separate_process=True``) gives the emulator its own interpreter and
    GIL, so under load it no longer competes with the local API's threads and the handlers;
    its state starts empty and dies with it. The in-process thread starts faster, but moto
    keeps ONE state per process, shared by every in-process server: the first one started in
    a process wipes what earlier ones left; later ones (other suffixes) leave the running ones alone.
    """

    # Running in-process servers of this interpreter: they share moto's process-wide state.
    _in_process_lock = threading.Lock()
    _in_process_running = 0

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        separate_process: bool = False,
        server_module: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        own_process_group: bool = False,
    ) -> None:
        """``server_module``/``extra_env`` (child process only): run ``python -m <module> -H host -p port``
        instead of moto's own server, with these variables added (the deploy rehearsal's patched moto).

        ``own_process_group`` (child process only): start the child in a process group of its own, so
        a terminal's Ctrl-C or a group signal reaches only the parent, which must then stop it
        (``stop()``) after whatever still uses it. Off by default: a parent that does not stop
        in order lets its server die with it."""
        self._own_process_group = own_process_group
        self._host = host
        self._port = port
        self._separate_process = separate_process or server_module is not None
        self._server_module = server_module
        self._extra_env = dict(extra_env or {})
        self._server: Any = None
        self._process: Any = None
        self._bound_port = 0

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``: give it to boto3 as ``endpoint_url`` (or AWS_ENDPOINT_URL)."""
        if self._server is None and self._process is None:
            raise RuntimeError("MotoEmulator is not started; call start() first")
        if self._server is not None:
            host, port = self._server.get_host_and_port()
            return f"http://{host}:{port}"
        return f"http://{self._host}:{self._bound_port}"

    def start(self) -> None:
        """Start the server (moto is imported here, so importing this module stays cheap)."""
        if self._separate_process:
            self._start_process()
            return
        import logging

        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO: hundreds of lines per second with a polling consumer.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port or free_port(self._host), verbose=False)
        self._server.start()
        with MotoEmulator._in_process_lock:
            if MotoEmulator._in_process_running == 0:
                self.reset()
            MotoEmulator._in_process_running += 1

    def _start_process(self, timeout_seconds: float = 60.0) -> None:
        import os
        import subprocess
        import sys
        import tempfile
        import time

        if self._port:
            check_port_free(self._host, self._port)
        self._bound_port = self._port or free_port(self._host)
        if self._server_module:
            command = [sys.executable, "-m", self._server_module]
        else:
            # moto's own server entry point, with werkzeug's per-request log silenced (a polling
            # consumer makes hundreds of lines per second).
            code = "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.WARNING);from moto.server import main; sys.exit(main(sys.argv[1:]))"
            command = [sys.executable, "-c", code]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, **self._extra_env, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # What remains on stderr (start-up failures, tracebacks) goes to a temp file, read on failure.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the server: output() reads it after start
        self._process = subprocess.Popen(
            [*command, "-H", self._host, "-p", str(self._bound_port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
            cwd=root,
            # With its own process group, a terminal's Ctrl-C (SIGINT to the foreground group)
            # reaches only the parent, which stops its users first and then this server. In the
            # parent's group, moto died first and every AWS call of a stopping poller failed.
            process_group=0 if self._own_process_group else None,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self.output()[-2000:]
                self._process = None
                raise RuntimeError(f"the moto server exited at start (port {self._bound_port}): {error.strip() or 'no output'}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"the moto server did not answer on {self._host}:{self._bound_port} within {timeout_seconds:.0f} s")

    def output(self) -> str:
        """What the child-process server wrote to stderr so far (start-up errors, tracebacks)."""
        stderr = getattr(self, "_stderr", None)
        if stderr is None:
            return ""
        stderr.seek(0)
        return stderr.read().decode(errors="replace")

    @property
    def pid(self) -> int | None:
        """The child process's id (None in-process or when not started)."""
        return self._process.pid if self._process is not None else None

    def exit_description(self) -> str | None:
        """How the child process ended (``"exited with status 1"``, ``"was killed by SIGKILL"``); None while it runs or in-process."""
        if self._process is None or self._process.poll() is None:
            return None
        status = self._process.returncode
        if status < 0:
            try:
                return f"was killed by {signal.Signals(-status).name}"
            except ValueError:
                return f"was killed by signal {-status}"
        return f"exited with status {status}"

    @property
    def running(self) -> bool:
        """True while the server (thread or child process) is up."""
        if self._process is not None:
            return self._process.poll() is None
        return self._server is not None

    def reset(self) -> None:
        """Drop every resource moto holds in this process (moto's state is process-global)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def client(self, service: str, region: str) -> Any:
        """A boto3 client bound to this server with fake credentials."""
        return emulator_client(self.endpoint_url, service, region)

    def stop(self, stop_timeout_seconds: float = 3.0) -> None:
        """Stop the server and free its port (a child process that ignores SIGTERM is killed after ``stop_timeout_seconds``)."""
        if self._server is not None:
            self._server.stop()
            with MotoEmulator._in_process_lock:
                MotoEmulator._in_process_running -= 1
        self._server = None
        if self._process is not None:
            self._process.terminate()
            try:
                # moto exits at once on SIGTERM; a child that does not is killed soon, so a
                # Ctrl-C never waits long for it.
                self._process.wait(timeout=stop_timeout_seconds)
            except Exception:  # noqa: BLE001 -- it must not outlive us
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None


# ---------------------------------------------------------------------------- resource definitions (pure)
def order_queue_attributes(config: PipelineConfig, dlq_arn: str, visibility_timeout_seconds: int | None = None) -> dict[str, str]:
    """SQS attributes of the order queue, from the config; ``visibility_timeout_seconds`` is the local-only override."""
    visibility = config.queue_visibility_timeout_seconds if visibility_timeout_seconds is None else visibility_timeout_seconds
    return {
        "VisibilityTimeout": str(visibility),
        "MessageRetentionPeriod": str(config.queue_message_retention_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": config.max_receive_count}),
    }


def dlq_attributes(config: PipelineConfig) -> dict[str, str]:
    """SQS attributes of the dead-letter queue."""
    return {"MessageRetentionPeriod": str(config.dlq_message_retention_seconds)}


def orders_table_definition(config: PipelineConfig) -> dict[str, Any]:
    """CreateTable arguments of the orders table (orderId key, CustomerIdIndex and the sparse UnpublishedIndex, on-demand)."""
    return {
        "TableName": config.names.orders_table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "orderId", "AttributeType": "S"},
            {"AttributeName": "customerId", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
            {"AttributeName": "unpublishedShard", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "orderId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": CUSTOMER_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "customerId", "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": UNPUBLISHED_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "unpublishedShard", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    }


@dataclass(frozen=True)
class ProvisionedResources:
    """Identifiers of the resources a pipeline runs on: what ``provision`` created, or what it attached to."""

    order_queue_url: str
    order_queue_arn: str
    dlq_url: str
    dlq_arn: str
    table_name: str
    order_topic_arn: str
    alarm_topic_arn: str | None = None
    """None when attached to resources whose outputs do not name it."""
    events_queue_url: str | None = None
    """Local-only events tap; None when attached (nothing is created then)."""
    events_queue_arn: str | None = None


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def provision(emulator: MotoEmulator, config: PipelineConfig, *, visibility_timeout_seconds: int | None = None) -> ProvisionedResources:
    """Create the queue + DLQ, table, topics and the events tap queue, named and sized by ``config``."""
    names = config.names
    sqs = emulator.client("sqs", config.region)
    sns = emulator.client("sns", config.region)
    dynamodb = emulator.client("dynamodb", config.region)

    dlq_url, dlq_arn = _queue(sqs, names.order_dlq, dlq_attributes(config))
    queue_url, queue_arn = _queue(sqs, names.order_queue, order_queue_attributes(config, dlq_arn, visibility_timeout_seconds))
    dynamodb.create_table(**orders_table_definition(config))
    order_topic_arn = sns.create_topic(Name=names.order_events_topic)["TopicArn"]
    alarm_topic_arn = sns.create_topic(Name=names.alarm_topic)["TopicArn"]
    tap_url, tap_arn = _queue(sqs, resource_name(EVENTS_TAP_COMPONENT, config.environment_suffix), {})
    sns.subscribe(TopicArn=order_topic_arn, Protocol="sqs", Endpoint=tap_arn, Attributes={"RawMessageDelivery": "true"})
    return ProvisionedResources(
        order_queue_url=queue_url,
        order_queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        table_name=names.orders_table,
        order_topic_arn=order_topic_arn,
        alarm_topic_arn=alarm_topic_arn,
        events_queue_url=tap_url,
        events_queue_arn=tap_arn,
    )
