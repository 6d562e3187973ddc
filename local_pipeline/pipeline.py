"""``LocalPipeline``: moto + local API + poller wired like the stack, from the same ``PipelineConfig``.

Two modes: by default it starts its own moto server and provisions the stack's resources in
it; with ``existing=AttachedResources(...)`` it runs the local API and the poller against
resources that already exist in a running emulator (e.g. created by ``terraform apply``).
Either way the real handlers get their settings and clients injected, per pipeline: nothing
goes through process-wide environment variables, so several pipelines run in one process.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from local_pipeline.api_server import LocalApi
from local_pipeline.attached import AttachedResources
from local_pipeline.emulator import FAKE_CREDENTIALS, MotoEmulator, ProvisionedResources, emulator_client, provision
from local_pipeline.lambda_context import LocalLambdaContext
from local_pipeline.poller import QueuePoller
from pipeline_config import ApiAuthorization, ConfigError, PipelineConfig, ResourceNames, output_keys
from pipeline_config.environments import config_for
from pipeline_config.errors import ConfigProblem

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = ROOT / "handlers"

Handler = Callable[[dict, Any], Any]


def _import_handlers_package() -> None:
    # The Lambda package's root is handlers/ (its modules import each other as top-level
    # packages, as they do in Lambda); put it on the path once, idempotently.
    if str(HANDLERS_DIR) not in sys.path:
        sys.path.insert(0, str(HANDLERS_DIR))


@dataclass(frozen=True, kw_only=True)
class LocalPipelineOptions:
    """How to run the pipeline locally. Every field has a default; ``LocalPipeline()`` runs env 'local'."""

    suffix: str = "local"
    """Environment suffix; its ``config_for(suffix)`` settings and names are used (unknown suffixes are dev-like)."""
    config_overrides: Mapping[str, Any] = field(default_factory=dict)
    """PipelineConfig fields to change, validated like any config (e.g. ``{"batching_window_seconds": 1}``)."""
    config: PipelineConfig | None = None
    """A ready config; when given, ``suffix`` and ``config_overrides`` are ignored."""
    existing: AttachedResources | None = None
    """Resources that already exist in a running emulator (``AttachedResources.from_outputs(outputs,
    endpoint_url)``). None: start a moto server and provision them. When set, nothing is started,
    reset, provisioned or stopped besides the local API and the poller; the config still gives
    the batch size, batching window, function names and timeouts."""
    visibility_timeout_seconds: int | None = None
    """LOCAL-ONLY deviation: the order queue's visibility timeout. None: the config's (180 s by default),
    which makes every retry wait 3 minutes; tests use 2. Not allowed with ``existing`` (the queue exists)."""
    host: str = "127.0.0.1"
    """Interface the API and moto bind to. Keep loopback: nothing here authenticates."""
    api_port: int = 0
    """Port of the local API; 0 picks a free one."""
    moto_port: int = 0
    """Port of the moto server; 0 picks a free one. Not allowed with ``existing``."""
    moto_separate_process: bool = True
    """Run moto in a child process (its own interpreter and GIL, so it keeps up under load);
    False runs it in a thread of this process (faster start, one core for everything)."""
    stage_name: str = "local"
    """Stage in the events' requestContext; routes are also served under ``/<stage>/``."""
    api_handler: Handler | None = None
    """Replaces the real API handler (plumbing tests). None: ``api_handler.app.ApiFunction`` on this pipeline's resources."""
    processor_handler: Handler | None = None
    """Replaces the real processor. None: ``order_processor.app.ProcessorFunction`` on this pipeline's resources."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid option (the config itself is validated by PipelineConfig)."""
        p: list[ConfigProblem] = []
        vt = self.visibility_timeout_seconds
        if vt is not None and (isinstance(vt, bool) or not isinstance(vt, int) or not 0 <= vt <= 43_200):
            p.append(ConfigProblem("visibility_timeout_seconds", vt, "must be a whole number of seconds in [0, 43200] or None", "use e.g. 2 for tests, or None for the config's value"))
        for name in ("api_port", "moto_port"):
            port = getattr(self, name)
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                p.append(ConfigProblem(name, port, "must be a TCP port in [0, 65535]", "use 0 to pick a free port"))
        if self.api_port and self.api_port == self.moto_port:
            p.append(ConfigProblem("api_port", self.api_port, "must differ from moto_port", "choose two ports, or 0 for either"))
        if not self.stage_name or "/" in self.stage_name:
            p.append(ConfigProblem("stage_name", self.stage_name, "must be a non-empty path segment", "use e.g. 'local'"))
        if self.existing is not None:
            if not isinstance(self.existing, AttachedResources):
                p.append(ConfigProblem("existing", type(self.existing).__name__, "must be an AttachedResources", "build it with AttachedResources.from_outputs(outputs, endpoint_url)"))
            else:
                p.extend(self.existing.problems())
            if vt is not None:
                p.append(ConfigProblem("visibility_timeout_seconds", vt, "cannot be set when attaching to existing resources (the queue already exists)", "leave it None, or set the visibility timeout where the queue is defined"))
            if self.moto_port:
                p.append(ConfigProblem("moto_port", self.moto_port, "cannot be set when attaching to existing resources (no moto server is started)", "leave it 0; the emulator is existing.endpoint_url"))
        return p

    def resolve_config(self) -> PipelineConfig:
        """The PipelineConfig to run: ``config``, else ``config_for(suffix, **config_overrides)``."""
        return self.config if self.config is not None else config_for(self.suffix, **dict(self.config_overrides))


class LocalPipeline:
    """The order pipeline on this machine: API -> API handler -> SQS -> poller -> processor -> DynamoDB + SNS."""

    def __init__(self, options: LocalPipelineOptions | None = None, **overrides: Any) -> None:
        options = replace(options or LocalPipelineOptions(), **overrides)
        problems = options.problems()
        config: PipelineConfig | None = None
        try:
            config = options.resolve_config()
        except ConfigError as error:
            problems.extend(error.problems)
        if config is not None and not problems and options.existing is None:
            visibility = config.queue_visibility_timeout_seconds if options.visibility_timeout_seconds is None else options.visibility_timeout_seconds
            if visibility <= config.batching_window_seconds:
                problems.append(
                    ConfigProblem(
                        "visibility_timeout_seconds",
                        visibility,
                        f"must be longer than batching_window_seconds ({config.batching_window_seconds}), "
                        "or messages reappear (and are delivered twice) while a batch is still being gathered",
                        f"raise it above {config.batching_window_seconds} or shorten batching_window_seconds",
                    )
                )
        if problems:
            raise ConfigError(problems, context="local pipeline options")
        assert config is not None
        self.options = options
        self.config: PipelineConfig = config
        self.names: ResourceNames = config.names
        self.existing: AttachedResources | None = options.existing
        """The resources this pipeline is attached to; None when it provisions its own."""
        self.emulator: MotoEmulator | None = (
            None if options.existing else MotoEmulator(host=options.host, port=options.moto_port, separate_process=options.moto_separate_process)
        )
        self.resources: ProvisionedResources | None = None
        self.api: LocalApi | None = None
        self.poller: QueuePoller | None = None
        self.api_clients: Any = None
        """The API handler's ``AwsClients`` (register botocore hooks here); None with a stand-in handler."""
        self.processor_clients: Any = None
        """The processor's ``AwsClients``; None with a stand-in handler."""
        self.api_function: Handler | None = None
        """The API handler this pipeline invokes (``ApiFunction`` on its resources, or the stand-in)."""
        self.processor_function: Handler | None = None
        """The processor this pipeline's poller invokes (``ProcessorFunction``, or the stand-in)."""

    # ------------------------------------------------------------------ attributes
    def _need(self) -> ProvisionedResources:
        if self.resources is None:
            raise RuntimeError("LocalPipeline is not started; call start() or use it as a context manager")
        return self.resources

    @property
    def attached(self) -> bool:
        """True when running on existing resources (nothing provisioned, no moto started)."""
        return self.existing is not None

    @property
    def endpoint_url(self) -> str:
        """The emulator's URL: where every AWS call of this pipeline goes."""
        if self.existing is not None:
            return self.existing.endpoint_url
        assert self.emulator is not None
        return self.emulator.endpoint_url

    @property
    def region(self) -> str:
        """Region of the resources: the attached outputs' ``Region``, else the config's."""
        return self.existing.region if self.existing is not None else self.config.region

    @property
    def api_url(self) -> str:
        """The stage's invoke URL, e.g. ``http://127.0.0.1:8080/local`` (POST {api_url}/orders), like the stack's ApiEndpoint."""
        if self.api is None:
            raise RuntimeError("LocalPipeline is not started")
        return self.api.url

    @property
    def queue_url(self) -> str:
        """Order queue URL."""
        return self._need().order_queue_url

    @property
    def queue_arn(self) -> str:
        """Order queue ARN."""
        return self._need().order_queue_arn

    @property
    def dlq_url(self) -> str:
        """Dead-letter queue URL."""
        return self._need().dlq_url

    @property
    def dlq_arn(self) -> str:
        """Dead-letter queue ARN."""
        return self._need().dlq_arn

    @property
    def table_name(self) -> str:
        """Orders table name."""
        return self._need().table_name

    @property
    def topic_arn(self) -> str:
        """Order events topic ARN."""
        return self._need().order_topic_arn

    @property
    def alarm_topic_arn(self) -> str | None:
        """Alarm topic ARN (nothing publishes to it locally: there are no alarms); None if attached without it."""
        return self._need().alarm_topic_arn

    @property
    def events_queue_url(self) -> str:
        """Local-only queue subscribed to the events topic with raw delivery (not available when attached)."""
        url = self._need().events_queue_url
        if url is None:
            raise RuntimeError(
                "this pipeline is attached to existing resources and created no events tap queue; "
                "subscribe a queue of your own to the events topic to read published events"
            )
        return url

    @property
    def visibility_timeout_seconds(self) -> int:
        """The order queue's visibility timeout actually in use (the local override, else the config's; read from the queue when attached)."""
        if self.existing is not None:
            attributes = self.client("sqs").get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"])
            return int(attributes["Attributes"]["VisibilityTimeout"])
        vt = self.options.visibility_timeout_seconds
        return self.config.queue_visibility_timeout_seconds if vt is None else vt

    def client(self, service: str) -> Any:
        """A fresh boto3 client bound to the emulator (fake credentials, the resources' region)."""
        return emulator_client(self.endpoint_url, service, self.region)

    # ------------------------------------------------------------------ lifecycle
    def handler_settings(self) -> Any:
        """The ``orders_core.settings.Settings`` both handlers get: this pipeline's table, queue and topic."""
        _import_handlers_package()
        from orders_core.settings import Settings

        resources = self._need()
        return Settings(
            orders_table_name=resources.table_name,
            order_queue_url=resources.order_queue_url,
            order_topic_arn=resources.order_topic_arn,
        )

    def _handler_clients(self, policy: Any) -> Any:
        # One client set per function, as each Lambda function has its own (with that function's
        # timeout policy): bound to this pipeline's emulator with fake keys, whatever AWS_*
        # variables the process has.
        from orders_core.aws import ClientTarget, build_clients

        return build_clients(
            ClientTarget(
                endpoint_url=self.endpoint_url,
                region=self.region,
                access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
                secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
                session_token=FAKE_CREDENTIALS["aws_session_token"],
            ),
            policy,
        )

    def _load_handlers(self) -> tuple[Handler, Handler]:
        api, processor = self.options.api_handler, self.options.processor_handler
        if api is not None and processor is not None:
            return api, processor
        _import_handlers_package()
        settings = self.handler_settings()
        level = self.config.log_level.upper()
        if api is None:
            from api_handler import app as api_app

            # Loggers are per process (as per container in Lambda): the last pipeline's level wins.
            api_app.logger.setLevel(level)
            self.api_clients = self._handler_clients(api_app.API_TIMEOUTS)
            api = api_app.ApiFunction.bound_to(settings, self.api_clients)
        if processor is None:
            from order_processor import app as processor_app

            processor_app.logger.setLevel(level)
            self.processor_clients = self._handler_clients(processor_app.PROCESSOR_TIMEOUTS)
            processor = processor_app.ProcessorFunction.bound_to(settings, self.processor_clients)
        return api, processor

    def _context_factory(self, function_name: str, memory_mb: int, timeout_seconds: int) -> Callable[[], LocalLambdaContext]:
        region = self.region
        return lambda: LocalLambdaContext(function_name=function_name, region=region, memory_limit_in_mb=memory_mb, timeout_seconds=timeout_seconds)

    def start(self) -> "LocalPipeline":
        """Start moto and provision (unless attached), then start the local API and the poller."""
        try:
            if self.existing is not None:
                self.resources = self.existing.resources()
                self._check_attached()
            else:
                assert self.emulator is not None
                self.emulator.start()
                self.resources = provision(self.emulator, self.config, visibility_timeout_seconds=self.options.visibility_timeout_seconds)
            api_handler, processor_handler = self._load_handlers()
            self.api_function, self.processor_function = api_handler, processor_handler
            cfg = self.config
            self.api = LocalApi(
                api_handler,
                context_factory=self._context_factory(self.names.api_handler_function, cfg.api_handler_memory_mb, cfg.api_handler_timeout_seconds),
                stage=self.options.stage_name,
                host=self.options.host,
                port=self.options.api_port,
            )
            self.api.start()
            self.poller = QueuePoller(
                sqs_client=self.client("sqs"),
                queue_url=self.queue_url,
                queue_arn=self.queue_arn,
                region=self.region,
                handler=processor_handler,
                context_factory=self._context_factory(self.names.order_processor_function, cfg.processor_memory_mb, cfg.processor_timeout_seconds),
                batch_size=cfg.batch_size,
                batching_window_seconds=cfg.batching_window_seconds,
            )
            self.poller.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _check_attached(self) -> None:
        """Fail fast, naming each one, when an attached resource does not answer (read-only calls)."""
        resources = self._need()
        checks: list[tuple[str, Callable[[], Any]]] = [
            (f"order queue {resources.order_queue_url}", lambda: self.client("sqs").get_queue_attributes(QueueUrl=resources.order_queue_url, AttributeNames=["QueueArn"])),
            (f"DLQ {resources.dlq_url}", lambda: self.client("sqs").get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["QueueArn"])),
            (f"table {resources.table_name}", lambda: self.client("dynamodb").describe_table(TableName=resources.table_name)),
            (f"topic {resources.order_topic_arn}", lambda: self.client("sns").get_topic_attributes(TopicArn=resources.order_topic_arn)),
        ]
        failures = []
        for label, check in checks:
            try:
                check()
            except Exception as error:  # noqa: BLE001 - every failure is reported, whatever its type
                failures.append(f"{label}: {type(error).__name__}: {error}")
        if failures:
            raise RuntimeError(
                f"cannot attach to the resources at {self.endpoint_url}:\n  - " + "\n  - ".join(failures)
                + "\nFix: pass the outputs of the stack applied to THIS emulator (terraform output -json), and its endpoint URL."
            )

    def stop(self) -> None:
        """Stop the poller and the API, then moto (only the one this pipeline started)."""
        if self.poller is not None:
            self.poller.stop()
        if self.api is not None:
            self.api.stop()
        if self.emulator is not None:
            self.emulator.stop()

    def __enter__(self) -> "LocalPipeline":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def pause_processing(self) -> None:
        """Stop the poller (after its current batch): orders pile up in the queue, as when the ESM is disabled."""
        if self.poller is None:
            raise RuntimeError("LocalPipeline is not started")
        self.poller.stop()

    def resume_processing(self) -> None:
        """Start the poller again after ``pause_processing``."""
        if self.poller is None:
            raise RuntimeError("LocalPipeline is not started")
        self.poller.start()

    # ------------------------------------------------------------------ observation
    def queue_depths(self) -> dict[str, int]:
        """Visible, in-flight and delayed message counts of the order queue and the DLQ."""
        sqs = self.client("sqs")
        wanted = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        out: dict[str, int] = {}
        for label, url in (("queue", self.queue_url), ("dlq", self.dlq_url)):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=wanted)["Attributes"]
            short = {"ApproximateNumberOfMessages": "visible", "ApproximateNumberOfMessagesNotVisible": "in_flight", "ApproximateNumberOfMessagesDelayed": "delayed"}
            for name, key in short.items():
                out[f"{label}_{key}"] = int(attrs.get(name, 0))
        return out

    def wait_until_idle(self, timeout: float = 30) -> None:
        """Block until the order queue is empty (visible, in flight, delayed) and no batch is running.

        Raises ``TimeoutError`` with the last counts when that does not happen within ``timeout`` s.
        Failed messages count as in flight until their visibility timeout ends, so this waits for retries.
        """
        deadline = time.monotonic() + timeout
        calm = 0
        depths: dict[str, int] = {}
        while time.monotonic() < deadline:
            depths = self.queue_depths()
            idle = not (self.poller and self.poller.busy) and depths["queue_visible"] == depths["queue_in_flight"] == depths["queue_delayed"] == 0
            calm = calm + 1 if idle else 0
            if calm >= 2:  # twice in a row: a batch may be between receive and bookkeeping
                return
            time.sleep(0.1)
        raise TimeoutError(f"local pipeline not idle after {timeout} s: {depths}, poller busy={bool(self.poller and self.poller.busy)}")

    def receive_events(self, *, wait_seconds: int = 1, max_messages: int = 100) -> list[dict[str, Any]]:
        """Read (and delete) published events from the tap queue: ``{"body": parsed JSON or str, "attributes": {...}}``."""
        sqs = self.client("sqs")
        events: list[dict[str, Any]] = []
        while len(events) < max_messages:
            got = sqs.receive_message(
                QueueUrl=self.events_queue_url,
                MaxNumberOfMessages=min(10, max_messages - len(events)),
                WaitTimeSeconds=wait_seconds if not events else 0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                try:
                    body: Any = json.loads(message["Body"])
                except ValueError:
                    body = message["Body"]
                attributes = {k: v.get("StringValue", v.get("BinaryValue")) for k, v in message.get("MessageAttributes", {}).items()}
                events.append({"body": body, "attributes": attributes})
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    # ------------------------------------------------------------------ outputs
    def outputs(self) -> dict[str, Any]:
        """The stack's Terraform outputs, with local values (plus ``AwsEndpointUrl`` and ``EventsQueueUrl``)."""
        r = self._need()
        keys = output_keys
        outputs = {
            keys.API_ENDPOINT: self.api_url,
            keys.ORDERS_TABLE_NAME: r.table_name,
            keys.ORDER_QUEUE_URL: r.order_queue_url,
            keys.ORDER_QUEUE_ARN: r.order_queue_arn,
            keys.ORDER_TOPIC_ARN: r.order_topic_arn,
            keys.DLQ_URL: r.dlq_url,
            keys.DLQ_ARN: r.dlq_arn,
            keys.ALARM_TOPIC_ARN: r.alarm_topic_arn,
            keys.API_HANDLER_FUNCTION_NAME: self.names.api_handler_function,
            keys.ORDER_PROCESSOR_FUNCTION_NAME: self.names.order_processor_function,
            keys.REST_API_ID: "local",
            keys.API_STAGE_NAME: self.options.stage_name,
            # Locally nothing authenticates, whatever config.api_authorization says.
            keys.API_AUTHORIZATION: ApiAuthorization.NONE.value,
            keys.REGION: self.region,
            keys.DASHBOARD_NAME: self.names.dashboard,
            # Local-only: where to point boto3, and where to read published events.
            keys.AWS_ENDPOINT_URL: self.endpoint_url,
            keys.EVENTS_QUEUE_URL: r.events_queue_url,
        }
        # Attached to outputs without an alarm topic, or without the local-only tap: leave them out.
        return {key: value for key, value in outputs.items() if value is not None}

    def write_outputs(self, path: str | os.PathLike[str]) -> Path:
        """Write ``{"<stack>": outputs()}`` as JSON, the shape of ``cdktf output --outputs-file``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({self.names.stack: self.outputs()}, indent=2) + "\n", encoding="utf-8")
        return target
