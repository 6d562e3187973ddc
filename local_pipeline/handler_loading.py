"""The real Lambda handlers, loaded for one local pipeline: settings and clients injected, nothing via the environment.

The Lambda package's modules import each other as top-level packages (``orders_core``,
``api_handler``), as they do in Lambda, so ``handlers/`` goes on ``sys.path`` once. Another copy
of the package (an older revision's, unpacked from its zip, for the upgrade rehearsal) can be
named instead; one process holds one package, as one Lambda container does. Each
pipeline then builds its own ``ApiFunction`` / ``ProcessorFunction`` with ``bound_to(settings,
clients)``: the handlers' service builders get this pipeline's table, queue and topic, and
clients bound to its emulator, so several pipelines run side by side in one process.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_pipeline.emulator import FAKE_CREDENTIALS, ProvisionedResources

ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = ROOT / "handlers"

Handler = Callable[[dict, Any], Any]


_imported_from: list[Path] = []

#: The package as Lambda imports it (the only name a local pipeline uses), and as a subpackage of
#: this checkout (what nothing outside the tests may import: infrastructure reads the package's
#: JSON contracts through ``pipeline_config.lambda_contract`` instead).
LAMBDA_NAME = "orders_core"
CHECKOUT_NAME = "handlers.orders_core"
#: Why this process may hold both copies (empty: it may not). Only the test session sets it.
_both_copies_allowed: list[str] = []


def allow_both_copies(reason: str) -> None:
    """Let this process hold ``handlers.orders_core`` and ``orders_core`` side by side (the test session only: say why)."""
    _both_copies_allowed.append(reason)


def two_copies_error(loaded: str, loading: str) -> RuntimeError:
    """The error of a process about to hold the Lambda package twice: under ``loaded`` and ``loading``."""
    return RuntimeError(
        f"this process already holds the Lambda package as {loaded!r} and is loading it again as {loading!r}: two copies "
        "(two Settings classes, two sets of module globals and clients; isinstance and patches see only one). "
        f"Fix: outside the tests, import the handler code only as Lambda does ({LAMBDA_NAME!r}, after "
        "local_pipeline.handler_loading.import_handlers_package()), and read what the infrastructure needs from the "
        "JSON contracts (pipeline_config.lambda_contract), never from handlers.orders_core"
    )


def _loaded(name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in sys.modules)


class _RefuseCheckoutCopy(importlib.abc.MetaPathFinder):
    """Installed once the package is set up as ``orders_core``: an import of ``handlers.orders_core`` then fails with the fix."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        """Refuse ``handlers.orders_core`` (and its modules); leave every other import to the other finders."""
        if (fullname == CHECKOUT_NAME or fullname.startswith(CHECKOUT_NAME + ".")) and not _both_copies_allowed:
            raise two_copies_error(LAMBDA_NAME, fullname)
        return None


def import_handlers_package(handlers_dir: Path | None = None) -> None:
    """Put the Lambda package's root (``handlers/``, or ``handlers_dir``) on ``sys.path``, once, so its modules import as in Lambda.

    RuntimeError when this process already imports another copy: another package directory (modules
    are cached per process), or this one as ``handlers.orders_core``; from then on, importing
    ``handlers.orders_core`` raises (``two_copies_error``), unless ``allow_both_copies`` was called.
    """
    directory = Path(handlers_dir or HANDLERS_DIR).resolve()
    if _imported_from and _imported_from[0] != directory:
        raise RuntimeError(
            f"handlers_dir: this process already runs the Lambda package from {_imported_from[0]}, so it cannot also load {directory} "
            "(Python caches modules per process). Fix: run each package in its own process"
        )
    if not _both_copies_allowed and _loaded(CHECKOUT_NAME):
        raise two_copies_error(CHECKOUT_NAME, LAMBDA_NAME)
    if not _imported_from:
        _imported_from.append(directory)
        sys.meta_path.insert(0, _RefuseCheckoutCopy())
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))


def handler_settings(resources: ProvisionedResources, handlers_dir: Path | None = None) -> Any:
    """The ``orders_core.settings.Settings`` both handlers get: these resources' table, queue and topic."""
    import_handlers_package(handlers_dir)
    from orders_core.settings import Settings

    return Settings(
        orders_table_name=resources.table_name,
        order_queue_url=resources.order_queue_url,
        order_topic_arn=resources.order_topic_arn,
    )


def handler_clients(endpoint_url: str, region: str, policy: Any, handlers_dir: Path | None = None) -> Any:
    """One function's ``AwsClients``: bound to the emulator with fake keys (whatever AWS_* the process has), with its timeout policy."""
    import_handlers_package(handlers_dir)
    from orders_core.aws import ClientTarget, build_clients

    return build_clients(
        ClientTarget(
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
            session_token=FAKE_CREDENTIALS["aws_session_token"],
        ),
        policy,
    )


def set_log_level(module: Any, level: str) -> None:
    """Set a handler module's logger level: a module global, so per process (as per container in Lambda); the last pipeline's level wins."""
    module.logger.setLevel(level.upper())


@dataclass(frozen=True, kw_only=True)
class LoadedHandlers:
    """The two functions a pipeline invokes, and the clients the real ones call AWS with."""

    api: Handler
    processor: Handler
    api_clients: Any = None
    """The API handler's ``AwsClients`` (register botocore hooks here); None with a stand-in handler."""
    processor_clients: Any = None
    """The processor's ``AwsClients``; None with a stand-in handler."""
    sweeper: Handler | None = None
    """The event sweeper (``event_sweeper.app.EventSweepFunction``); None when both other handlers are stand-ins."""
    sweeper_clients: Any = None
    """The event sweeper's ``AwsClients``."""


def load_handlers(
    *,
    resources: ProvisionedResources,
    endpoint_url: str,
    region: str,
    log_level: str,
    sweep_min_age_seconds: int,
    api: Handler | None = None,
    processor: Handler | None = None,
    handlers_dir: Path | None = None,
) -> LoadedHandlers:
    """The real ``ApiFunction``, ``ProcessorFunction`` and ``EventSweepFunction`` on ``resources`` (each one's own clients), except where a stand-in is given.

    ``handlers_dir``: the Lambda package to load them from (None: this checkout's ``handlers/``). A
    package from before the event sweeper (an upgrade rehearsal's base revision) has none: then
    ``sweeper`` is None, as that revision's deployment has no sweep.
    """
    if api is not None and processor is not None:
        return LoadedHandlers(api=api, processor=processor)
    settings = handler_settings(resources, handlers_dir)
    sweeper = sweeper_clients = None
    if importlib.util.find_spec("event_sweeper") is not None:
        from event_sweeper import app as sweeper_app

        set_log_level(sweeper_app, log_level)
        sweeper_clients = handler_clients(endpoint_url, region, sweeper_app.SWEEP_TIMEOUTS, handlers_dir)
        sweeper = sweeper_app.EventSweepFunction.bound_to(settings, sweeper_clients, min_age_seconds=sweep_min_age_seconds)
    api_clients = processor_clients = None
    if api is None:
        from api_handler import app as api_app

        set_log_level(api_app, log_level)
        api_clients = handler_clients(endpoint_url, region, api_app.API_TIMEOUTS, handlers_dir)
        api = api_app.ApiFunction.bound_to(settings, api_clients)
    if processor is None:
        from order_processor import app as processor_app

        set_log_level(processor_app, log_level)
        processor_clients = handler_clients(endpoint_url, region, processor_app.PROCESSOR_TIMEOUTS, handlers_dir)
        processor = processor_app.ProcessorFunction.bound_to(settings, processor_clients)
    return LoadedHandlers(api=api, processor=processor, api_clients=api_clients, processor_clients=processor_clients, sweeper=sweeper, sweeper_clients=sweeper_clients)
