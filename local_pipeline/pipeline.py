"""``LocalPipeline``: moto + local API + poller + event-sweep schedule wired like the stack, from the same ``PipelineConfig``.

Two modes: by default it starts its own moto server and provisions the stack's resources in
it; with ``existing=AttachedResources(...)`` it runs the local API and the poller against
resources that already exist in a running emulator (e.g. created by ``terraform apply``).
Either way the real handlers get their settings and clients injected, per pipeline: nothing
goes through process-wide environment variables, so several pipelines run in one process.

This module wires and runs; each other concern has its own module: the options and their
checks (``options``), where resources come from (``resources``), loading the handlers
(``handler_loading``), observing a running pipeline (``probes``) and its outputs (``outputs``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.config import Config

from local_pipeline import probes
from local_pipeline.api_server import LocalApi
from local_pipeline.attached import AttachedResources
from local_pipeline.emulator import MotoEmulator, ProvisionedResources, emulator_client
from local_pipeline.handler_loading import Handler, handler_settings, load_handlers
from local_pipeline.lambda_context import LocalLambdaContext
from local_pipeline.options import LocalPipelineOptions, resolve
from local_pipeline.outputs import local_outputs, write_outputs_file
from local_pipeline.poller import QueuePoller
from local_pipeline.resources import acquire_resources
from local_pipeline.schedule import Run, Schedule
from pipeline_config import PipelineConfig, ResourceNames

__all__ = ["LocalPipeline", "LocalPipelineOptions"]

# The poller retries on its own (as the event source mapping does), so its client does not: with
# botocore's default backoff, one call to an emulator that is gone took up to ~15 s, and a
# Ctrl-C waited for it.
POLLER_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1})


class LocalPipeline:
    """The order pipeline on this machine: API -> API handler -> SQS -> poller -> processor -> DynamoDB + SNS."""

    def __init__(self, options: LocalPipelineOptions | None = None, **overrides: Any) -> None:
        options = replace(options or LocalPipelineOptions(), **overrides)
        config = resolve(options)
        self.options = options
        self.config: PipelineConfig = config
        self.names: ResourceNames = config.names
        self.existing: AttachedResources | None = options.existing
        """The resources this pipeline is attached to; None when it provisions its own."""
        self.emulator: MotoEmulator | None = (
            None
            if options.existing
            # Its own process group: a Ctrl-C stops the poller and the API first, then moto (__main__).
            else MotoEmulator(
                host=options.host,
                port=options.moto_port,
                separate_process=options.moto_separate_process,
                server_module=options.moto_server_module,
                own_process_group=True,
            )
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
        self.sweeper_clients: Any = None
        """The event sweeper's ``AwsClients``; None with stand-in handlers."""
        self.sweep_schedule: Schedule | None = None
        """Plays the EventBridge rule that runs the event sweeper; None with stand-in handlers."""
        self.fault_proxy = options.fault_proxy
        """The ``FaultProxy`` the handlers' calls go through, if any."""

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
            raise RuntimeError("this pipeline is attached to existing resources and created no events tap queue; subscribe a queue of your own to the events topic to read published events")
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
        return handler_settings(self._need(), self.options.handlers_dir)

    def _context_factory(self, function_name: str, memory_mb: int, timeout_seconds: int) -> Callable[[], LocalLambdaContext]:
        region = self.region
        return lambda: LocalLambdaContext(function_name=function_name, region=region, memory_limit_in_mb=memory_mb, timeout_seconds=timeout_seconds)

    def start(self) -> LocalPipeline:
        """Start moto and provision (unless attached), then the fault proxy (if any), the local API, the poller and the sweep schedule."""
        try:
            self.resources = acquire_resources(
                self.config,
                existing=self.existing,
                emulator=self.emulator,
                visibility_timeout_seconds=self.options.visibility_timeout_seconds,
                client=self.client,
            )
            handlers_endpoint = self.endpoint_url
            if self.fault_proxy is not None:
                handlers_endpoint = self.fault_proxy.start(self.endpoint_url).url
            loaded = load_handlers(
                resources=self.resources,
                endpoint_url=handlers_endpoint,
                region=self.region,
                log_level=self.config.log_level,
                sweep_min_age_seconds=self.config.event_sweep_min_age_seconds,
                api=self.options.api_handler,
                processor=self.options.processor_handler,
                handlers_dir=self.options.handlers_dir,
            )
            self.api_clients, self.processor_clients, self.sweeper_clients = loaded.api_clients, loaded.processor_clients, loaded.sweeper_clients
            self.api_function, self.processor_function = loaded.api, loaded.processor
            self._start_api(loaded.api)
            self._start_poller(loaded.processor)
            if loaded.sweeper is not None:
                self._start_sweep_schedule(loaded.sweeper)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_api(self, handler: Handler) -> None:
        cfg = self.config
        self.api = LocalApi(
            handler,
            context_factory=self._context_factory(self.names.api_handler_function, cfg.api_handler_memory_mb, cfg.api_handler_timeout_seconds),
            stage=self.options.stage_name,
            host=self.options.host,
            port=self.options.api_port,
        )
        self.api.start()

    def _start_poller(self, handler: Handler) -> None:
        cfg = self.config
        self.poller = QueuePoller(
            sqs_client=emulator_client(self.endpoint_url, "sqs", self.region, config=POLLER_CLIENT_CONFIG),
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            region=self.region,
            handler=handler,
            context_factory=self._context_factory(self.names.order_processor_function, cfg.processor_memory_mb, cfg.processor_timeout_seconds),
            batch_size=cfg.batch_size,
            batching_window_seconds=cfg.batching_window_seconds,
            concurrency=self.options.processor_concurrency,
            crash_after_batch=self.options.poller_crash_after_batch,
        )
        self.poller.start()

    def _start_sweep_schedule(self, handler: Handler) -> None:
        cfg = self.config
        interval = self.options.event_sweep_interval_seconds
        self.sweep_schedule = Schedule(
            handler,
            context_factory=self._context_factory(self.names.event_sweeper_function, cfg.processor_memory_mb, cfg.event_sweeper_timeout_seconds),
            interval_seconds=cfg.event_sweep_interval_minutes * 60 if interval is None else interval,
            rule_name=self.names.event_sweep_schedule,
            region=self.region,
        )
        self.sweep_schedule.start()

    def sweep_now(self) -> Run:
        """Run the event sweeper once, now (as its EventBridge schedule would); its ``Run`` (result or error)."""
        if self.sweep_schedule is None:
            raise RuntimeError("LocalPipeline is not started, or runs stand-in handlers (no event sweeper)")
        return self.sweep_schedule.run_now()

    def stop(self) -> None:
        """Stop the sweep schedule, the poller and the API, the fault proxy, then moto (only the one this pipeline started; always, even if the others fail)."""
        try:
            if self.sweep_schedule is not None:
                self.sweep_schedule.stop()
            if self.poller is not None:
                self.poller.stop()
            if self.api is not None:
                self.api.stop()
            if self.fault_proxy is not None:
                self.fault_proxy.stop()
        finally:
            if self.emulator is not None:
                self.emulator.stop()

    def __enter__(self) -> LocalPipeline:
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

    # ------------------------------------------------------------------ observation (local_pipeline.probes)
    def queue_depths(self) -> dict[str, int]:
        """Visible, in-flight and delayed message counts of the order queue and the DLQ."""
        return probes.queue_depths(self.client("sqs"), self.queue_url, self.dlq_url)

    def wait_until_idle(self, timeout: float = 30) -> None:
        """Block until the order queue is empty (visible, in flight, delayed) and no batch is running.

        Raises ``TimeoutError`` with the last counts when that does not happen within ``timeout`` s.
        Failed messages count as in flight until their visibility timeout ends, so this waits for retries.
        """
        probes.wait_until_idle(self.queue_depths, lambda: bool(self.poller and self.poller.busy), timeout)

    def receive_events(self, *, wait_seconds: int = 1, max_messages: int = 100) -> list[dict[str, Any]]:
        """Read (and delete) published events from the tap queue: ``{"body": parsed JSON or str, "attributes": {...}}``."""
        return probes.receive_events(self.client("sqs"), self.events_queue_url, wait_seconds=wait_seconds, max_messages=max_messages)

    # ------------------------------------------------------------------ outputs (local_pipeline.outputs)
    def outputs(self) -> dict[str, Any]:
        """The stack's Terraform outputs, with local values (plus ``AwsEndpointUrl`` and ``EventsQueueUrl``)."""
        return local_outputs(self._need(), self.names, api_url=self.api_url, stage_name=self.options.stage_name, region=self.region, endpoint_url=self.endpoint_url)

    def write_outputs(self, path: str | os.PathLike[str]) -> Path:
        """Write ``{"<stack>": outputs()}`` as JSON, the shape of ``cdktf output --outputs-file``."""
        return write_outputs_file(path, self.names.stack, self.outputs())
