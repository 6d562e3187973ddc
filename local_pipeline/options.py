"""``LocalPipelineOptions``: how to run the pipeline locally, and the one check of options + config together."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_pipeline.attached import AttachedResources
from local_pipeline.fault_proxy import FaultProxy
from local_pipeline.handler_loading import Handler
from pipeline_config import ConfigError, PipelineConfig
from pipeline_config.environments import config_for
from pipeline_config.errors import ConfigProblem


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
    moto_server_module: str | None = None
    """A module to run as the emulator instead of moto's own server, in a child process
    (``python -m <module> -H host -p port``): a moto with harness-only patches, e.g. the soak's
    ``local_pipeline.soak_moto``. None: stock moto."""
    moto_separate_process: bool = True
    """Run moto in a child process (its own interpreter and GIL, so it keeps up under load);
    False runs it in a thread of this process (faster start, one core for everything)."""
    stage_name: str = "local"
    """Stage in the events' requestContext; routes are also served under ``/<stage>/``."""
    api_handler: Handler | None = None
    """Replaces the real API handler (plumbing tests). None: ``api_handler.app.ApiFunction`` on this pipeline's resources."""
    processor_handler: Handler | None = None
    """Replaces the real processor. None: ``order_processor.app.ProcessorFunction`` on this pipeline's resources."""
    handlers_dir: Path | None = None
    """Where the real handlers are loaded from: None, this checkout's ``handlers/``; or another copy of
    the Lambda package (the upgrade rehearsal runs an older revision's unpacked zip). One per process."""
    processor_concurrency: int = 1
    """Pollers running side by side, each invoking the processor with its own batches, as the event
    source mapping does up to its maximum concurrency. Default 1."""
    event_sweep_interval_seconds: float | None = None
    """LOCAL-ONLY: seconds between two runs of the event sweeper. None: the config's
    ``event_sweep_interval_minutes``; 0: it runs only when asked (``LocalPipeline.sweep_now()``)."""
    poller_crash_after_batch: Callable[[], bool] | None = None
    """Fault injection (soaks): asked after each processor invocation; True crashes that poller before
    it deletes anything, so the whole batch comes back after its visibility timeout. None: never."""
    fault_proxy: FaultProxy | None = None
    """A ``FaultProxy`` the handlers' AWS calls go through (started with the pipeline, its upstream the
    emulator); the poller's, the tests' and the tools' own calls go straight to the emulator.
    None: the handlers call the emulator directly."""

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
        if self.handlers_dir is not None and not (Path(self.handlers_dir) / "api_handler").is_dir():
            p.append(
                ConfigProblem(
                    "handlers_dir",
                    str(self.handlers_dir),
                    "must be the root of a Lambda package (holding api_handler/ and order_processor/)",
                    "pass the unpacked zip or a handlers/ directory, or None",
                )
            )
        if self.api_port and self.api_port == self.moto_port:
            p.append(ConfigProblem("api_port", self.api_port, "must differ from moto_port", "choose two ports, or 0 for either"))
        pc = self.processor_concurrency
        if isinstance(pc, bool) or not isinstance(pc, int) or not 1 <= pc <= 1000:
            p.append(ConfigProblem("processor_concurrency", pc, "must be a whole number of pollers in [1, 1000]", "use e.g. 1, or 4 to process batches as a scaled-out event source mapping does"))
        interval = self.event_sweep_interval_seconds
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0):
            p.append(ConfigProblem("event_sweep_interval_seconds", interval, "must be seconds >= 0 or None", "use None for the config's interval, 0 to sweep only on sweep_now(), or e.g. 5 in tests"))
        if self.fault_proxy is not None and not isinstance(self.fault_proxy, FaultProxy):
            p.append(ConfigProblem("fault_proxy", type(self.fault_proxy).__name__, "must be a FaultProxy", "pass FaultProxy(plan) from local_pipeline.fault_proxy, or None"))
        if not self.stage_name or "/" in self.stage_name:
            p.append(ConfigProblem("stage_name", self.stage_name, "must be a non-empty path segment", "use e.g. 'local'"))
        if self.existing is not None:
            if not isinstance(self.existing, AttachedResources):
                p.append(ConfigProblem("existing", type(self.existing).__name__, "must be an AttachedResources", "build it with AttachedResources.from_outputs(outputs, endpoint_url)"))
            else:
                p.extend(self.existing.problems())
            if vt is not None:
                p.append(
                    ConfigProblem(
                        "visibility_timeout_seconds",
                        vt,
                        "cannot be set when attaching to existing resources (the queue already exists)",
                        "leave it None, or set the visibility timeout where the queue is defined",
                    )
                )
            if self.moto_port:
                p.append(
                    ConfigProblem("moto_port", self.moto_port, "cannot be set when attaching to existing resources (no moto server is started)", "leave it 0; the emulator is existing.endpoint_url")
                )
        return p

    def resolve_config(self) -> PipelineConfig:
        """The PipelineConfig to run: ``config``, else ``config_for(suffix, **config_overrides)``."""
        return self.config if self.config is not None else config_for(self.suffix, **dict(self.config_overrides))


def resolve(options: LocalPipelineOptions) -> PipelineConfig:
    """The config ``options`` run, after checking both; ``ConfigError`` names every problem at once."""
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
                    f"must be longer than batching_window_seconds ({config.batching_window_seconds}), or messages reappear (and are delivered twice) while a batch is still being gathered",
                    f"raise it above {config.batching_window_seconds} or shorten batching_window_seconds",
                )
            )
    if problems:
        raise ConfigError(problems, context="local pipeline options")
    assert config is not None
    return config
