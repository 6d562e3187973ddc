"""``LocalPipeline``: moto + local API + poller wired like the stack, from the same ``PipelineConfig``."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from local_pipeline.api_server import LocalApi
from local_pipeline.emulator import FAKE_CREDENTIALS, MotoEmulator, ProvisionedResources, provision
from local_pipeline.lambda_context import LocalLambdaContext
from local_pipeline.poller import QueuePoller
from pipeline_config import ApiAuthorization, ConfigError, PipelineConfig, ResourceNames
from pipeline_config.environments import config_for
from pipeline_config.errors import ConfigProblem

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = ROOT / "handlers"
# Same value as stacks/order_pipeline_stack.py (not imported: that would start jsii for nothing).
METRICS_NAMESPACE = "OrderPipeline"

Handler = Callable[[dict, Any], Any]

# moto keeps ONE state per process, shared by every server in it: the first pipeline to start
# wipes leftovers; later ones (other suffixes) must not wipe the running ones.
_ACTIVE_LOCK = threading.Lock()
_ACTIVE_COUNT = 0


@dataclass(frozen=True, kw_only=True)
class LocalPipelineOptions:
    """How to run the pipeline locally. Every field has a default; ``LocalPipeline()`` runs env 'local'."""

    suffix: str = "local"
    """Environment suffix; its ``config_for(suffix)`` settings and names are used (unknown suffixes are dev-like)."""
    config_overrides: Mapping[str, Any] = field(default_factory=dict)
    """PipelineConfig fields to change, validated like any config (e.g. ``{"batching_window_seconds": 1}``)."""
    config: PipelineConfig | None = None
    """A ready config; when given, ``suffix`` and ``config_overrides`` are ignored."""
    visibility_timeout_seconds: int | None = None
    """LOCAL-ONLY deviation: the order queue's visibility timeout. None: the config's (180 s by default),
    which makes every retry wait 3 minutes; tests use 2."""
    host: str = "127.0.0.1"
    """Interface the API and moto bind to. Keep loopback: nothing here authenticates."""
    api_port: int = 0
    """Port of the local API; 0 picks a free one."""
    moto_port: int = 0
    """Port of the moto server; 0 picks a free one."""
    moto_separate_process: bool = True
    """Run moto in a child process (its own interpreter and GIL, so it keeps up under load);
    False runs it in a thread of this process (faster start, one core for everything)."""
    stage_name: str = "local"
    """Stage in the events' requestContext; routes are also served under ``/<stage>/``."""
    api_handler: Handler | None = None
    """Replaces ``handlers/api_handler/app.lambda_handler`` (plumbing tests). None: the real handler."""
    processor_handler: Handler | None = None
    """Replaces ``handlers/order_processor/app.lambda_handler``. None: the real handler."""

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
        if config is not None and not problems:
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
        self.emulator = MotoEmulator(host=options.host, port=options.moto_port, separate_process=options.moto_separate_process)
        self.resources: ProvisionedResources | None = None
        self.api: LocalApi | None = None
        self.poller: QueuePoller | None = None
        self._saved_env: dict[str, str | None] = {}
        self._counted = False

    # ------------------------------------------------------------------ attributes
    def _need(self) -> ProvisionedResources:
        if self.resources is None:
            raise RuntimeError("LocalPipeline is not started; call start() or use it as a context manager")
        return self.resources

    @property
    def endpoint_url(self) -> str:
        """The moto server's URL (AWS_ENDPOINT_URL of the handlers)."""
        return self.emulator.endpoint_url

    @property
    def api_url(self) -> str:
        """Base URL of the local API, e.g. ``http://127.0.0.1:8080`` (POST {api_url}/orders)."""
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
    def alarm_topic_arn(self) -> str:
        """Alarm topic ARN (nothing publishes to it locally: there are no alarms)."""
        return self._need().alarm_topic_arn

    @property
    def events_queue_url(self) -> str:
        """Local-only queue subscribed to the events topic with raw delivery."""
        return self._need().events_queue_url

    @property
    def visibility_timeout_seconds(self) -> int:
        """The order queue's visibility timeout actually in use (the local override, else the config's)."""
        vt = self.options.visibility_timeout_seconds
        return self.config.queue_visibility_timeout_seconds if vt is None else vt

    def client(self, service: str) -> Any:
        """A fresh boto3 client bound to the emulator (fake credentials, the config's region)."""
        return self.emulator.client(service, self.config.region)

    # ------------------------------------------------------------------ lifecycle
    def _handler_env(self) -> dict[str, str | None]:
        resources = self._need()
        return {
            "ORDERS_TABLE_NAME": resources.table_name,
            "ORDER_QUEUE_URL": resources.order_queue_url,
            "ORDER_TOPIC_ARN": resources.order_topic_arn,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": FAKE_CREDENTIALS["aws_session_token"],
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_PROFILE": None,  # a profile would win over the fake keys in some boto3 paths
            "POWERTOOLS_TRACE_DISABLED": "true",
            # Unset on purpose: both handlers share this process, and Powertools Loggers with the same
            # service name share one logger (and its Lambda context keys). Unset, each handler uses its
            # own default service name, as the stack's per-function values do.
            "POWERTOOLS_SERVICE_NAME": None,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": self.config.log_level.upper(),
            "LOG_LEVEL": self.config.log_level.upper(),
        }

    def _apply_env(self, env: Mapping[str, str | None]) -> None:
        for name, value in env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    @staticmethod
    def _reset_handler_clients() -> None:
        if str(HANDLERS_DIR) not in sys.path:
            sys.path.insert(0, str(HANDLERS_DIR))
        try:
            from orders_core import aws
        except ModuleNotFoundError:
            return  # plumbing tests with stand-in handlers and no handlers package yet
        aws.reset()

    def _load_handlers(self) -> tuple[Handler, Handler]:
        api, processor = self.options.api_handler, self.options.processor_handler
        if api is None or processor is None:
            if str(HANDLERS_DIR) not in sys.path:
                sys.path.insert(0, str(HANDLERS_DIR))
            if api is None:
                from api_handler.app import lambda_handler as api
            if processor is None:
                from order_processor.app import lambda_handler as processor
        return api, processor

    def _context_factory(self, function_name: str, memory_mb: int, timeout_seconds: int) -> Callable[[], LocalLambdaContext]:
        region = self.config.region
        return lambda: LocalLambdaContext(function_name=function_name, region=region, memory_limit_in_mb=memory_mb, timeout_seconds=timeout_seconds)

    def start(self) -> "LocalPipeline":
        """Start moto, provision, set the handler env, start the API and the poller."""
        global _ACTIVE_COUNT
        try:
            self.emulator.start()
            with _ACTIVE_LOCK:
                if _ACTIVE_COUNT == 0:
                    self.emulator.reset()
                _ACTIVE_COUNT += 1
                self._counted = True
            self.resources = provision(self.emulator, self.config, visibility_timeout_seconds=self.options.visibility_timeout_seconds)
            self._apply_env(self._handler_env())
            self._reset_handler_clients()
            api_handler, processor_handler = self._load_handlers()
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
                region=cfg.region,
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

    def stop(self) -> None:
        """Stop the poller, the API and moto; restore the environment variables it changed."""
        global _ACTIVE_COUNT
        if self.poller is not None:
            self.poller.stop()
        if self.api is not None:
            self.api.stop()
        self.emulator.stop()
        with _ACTIVE_LOCK:
            if self._counted:
                _ACTIVE_COUNT -= 1
                self._counted = False
        self._restore_env()
        self._reset_handler_clients()  # cached clients point at a server that is gone

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
        return {
            "ApiEndpoint": self.api_url,
            "OrdersTableName": r.table_name,
            "OrderQueueUrl": r.order_queue_url,
            "OrderQueueArn": r.order_queue_arn,
            "OrderTopicArn": r.order_topic_arn,
            "DLQUrl": r.dlq_url,
            "DLQArn": r.dlq_arn,
            "AlarmTopicArn": r.alarm_topic_arn,
            "ApiHandlerFunctionName": self.names.api_handler_function,
            "OrderProcessorFunctionName": self.names.order_processor_function,
            "RestApiId": "local",
            "ApiStageName": self.options.stage_name,
            # Locally nothing authenticates, whatever config.api_authorization says.
            "ApiAuthorization": ApiAuthorization.NONE.value,
            "Region": self.config.region,
            "DashboardName": self.names.dashboard,
            # Local-only: where to point boto3, and where to read published events.
            "AwsEndpointUrl": self.endpoint_url,
            "EventsQueueUrl": r.events_queue_url,
        }

    def write_outputs(self, path: str | os.PathLike[str]) -> Path:
        """Write ``{"<stack>": outputs()}`` as JSON, the shape of ``cdktf output --outputs-file``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({self.names.stack: self.outputs()}, indent=2) + "\n", encoding="utf-8")
        return target
