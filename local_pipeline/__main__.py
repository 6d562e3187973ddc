"""``python -m local_pipeline`` (``make local``): run the order pipeline on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path

from local_pipeline.api_events import ROUTES
from pipeline_config import ConfigError
from pipeline_config.commands import make_usage
from pipeline_config.errors import ConfigProblem

#: Signals that stop the pipeline in order (SIGHUP: the terminal was closed).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The banner line the example commands follow, and the last line printed (tests look for both).
TRY_HEADING = "Try"
STOPPED_LINE = "local pipeline stopped"
EXAMPLE_ORDER = {"orderId": "order-0001", "customerId": "customer-42", "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="make local",
        description="Run the order pipeline locally: moto server + local API Gateway + SQS poller, configured from pipeline_config like the stack. Runs until Ctrl-C. See docs/local_pipeline.md.",
    )
    parser.add_argument("--port", type=int, default=8080, help="port of the local API (default 8080; 0 picks a free one)")
    parser.add_argument("--moto-port", type=int, default=0, help="port of the moto server (default: a free one)")
    parser.add_argument(
        "--moto-in-process",
        action="store_true",
        help="run moto in a thread of this process instead of a child process (starts faster; slower under load)",
    )
    parser.add_argument("--suffix", default="local", help="environment suffix; names and settings come from config_for(suffix) (default 'local', dev-like)")
    parser.add_argument("--outputs-file", metavar="PATH", help="write the stack-shaped outputs JSON here (like `cdktf output --outputs-file`), e.g. for ordersctl")
    parser.add_argument(
        "--visibility-timeout-seconds",
        type=int,
        default=None,
        help="LOCAL-ONLY override of the order queue's visibility timeout (default: the config's, 180 s), so failed messages retry sooner",
    )
    parser.add_argument(
        "--attach-outputs",
        metavar="PATH",
        help="run the local API and poller on resources that ALREADY exist in a running emulator, named by this "
        "outputs file (`terraform output -json`, or `cdktf output --outputs-file`); needs --endpoint-url. "
        "Nothing is provisioned, reset, started or stopped in the emulator",
    )
    parser.add_argument("--endpoint-url", metavar="URL", help="with --attach-outputs: the running emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--verbose", action="store_true", help="log the plumbing (poller, API) at DEBUG")
    parser.usage = make_usage(parser, "local")
    args = parser.parse_args(argv)
    if bool(args.attach_outputs) != bool(args.endpoint_url):
        parser.error("--attach-outputs and --endpoint-url go together: pass both to attach to existing resources, or neither")
    return args


def _existing(args: argparse.Namespace):
    """The ``AttachedResources`` named by ``--attach-outputs``, or None to provision."""
    if not args.attach_outputs:
        return None
    from local_pipeline import AttachedResources

    try:
        document = json.loads(Path(args.attach_outputs).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([ConfigProblem("--attach-outputs", args.attach_outputs, f"cannot be read ({error.strerror})", "pass the path of an outputs JSON file")]) from None
    except ValueError as error:
        raise ConfigError([ConfigProblem("--attach-outputs", args.attach_outputs, f"is not JSON ({error})", "write it with `terraform output -json > FILE`")]) from None
    return AttachedResources.from_outputs(document, args.endpoint_url)


def try_commands(api_url: str) -> list[str]:
    """Example commands that work pasted at once: POST an order, then GET it, retrying while the queue delivers it."""
    body = json.dumps(EXAMPLE_ORDER)
    order_url = f"{api_url}/orders/{EXAMPLE_ORDER['orderId']}"
    return [
        f"curl -fsS -X POST {api_url}/orders -H 'Content-Type: application/json' -d '{body}'; echo",
        # -f turns the 404 into a failure and --retry-all-errors retries it: bounded (20 s), and
        # a pasted script still fails if the order never arrives.
        f"curl -fsS --retry 20 --retry-delay 1 --retry-all-errors {order_url}; echo",
        f"curl -fsS '{api_url}/customers/{EXAMPLE_ORDER['customerId']}/orders?limit=10'; echo",
    ]


def banner(pipeline) -> str:
    """What to print once the pipeline is up: endpoints, resources and example requests."""
    api = pipeline.api_url
    served = ", ".join(f"{route.http_method} {route.path}" for route in ROUTES)
    emulator = "attached: existing resources" if pipeline.attached else "moto" + (f", pid {pipeline.emulator.pid}" if pipeline.emulator.pid else "")
    return "\n".join(
        [
            f"Local order pipeline '{pipeline.names.stack}' is running (Ctrl-C to stop).",
            f"  API            {api}   ({served})",
            f"  AWS emulator   {pipeline.endpoint_url}   ({emulator}; export AWS_ENDPOINT_URL={pipeline.endpoint_url} for the aws CLI/boto3)",
            f"  order queue    {pipeline.queue_url}",
            f"  DLQ            {pipeline.dlq_url}",
            f"  table          {pipeline.table_name}",
            f"  events topic   {pipeline.topic_arn}",
            *([] if pipeline.attached else [f"  events tap     {pipeline.events_queue_url}   (raw copies of published events)"]),
            f"  visibility     {pipeline.visibility_timeout_seconds} s, batch {pipeline.config.batch_size}, window {pipeline.config.batching_window_seconds} s",
            "",
            f"{TRY_HEADING} (orders are processed asynchronously: the GET answers 404 until the poller has stored the order, so it retries):",
            *(f"  {command}" for command in try_commands(api)),
        ]
    )


class StopRequest:
    """A stop asked for by a signal handler: a plain flag, set without a lock.

    Not a ``threading.Event``: its ``set()`` takes a lock, and a second signal arriving while the
    handler is inside ``set()`` runs the handler again on the same thread, which then waits for that
    lock forever (Ctrl-C pressed twice hung ``make local``). Assigning a bool is atomic.
    """

    def __init__(self) -> None:
        self._requested = False

    def set(self) -> None:
        """Ask for the stop (safe in a signal handler, however often it runs)."""
        self._requested = True

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self._requested

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early once a stop is asked for; whether it was."""
        deadline = time.monotonic() + timeout
        while not self._requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        return self._requested


def wait_for_stop(pipeline, stop: StopRequest, poll_seconds: float = 0.2) -> str | None:
    """Block until ``stop`` is set (None), or until the emulator this pipeline started ends (why, as a sentence)."""
    emulator = pipeline.emulator
    while not stop.wait(poll_seconds):
        ended = emulator.exit_description() if emulator is not None else None
        if ended:
            last = emulator.output().strip()[-1500:]
            return (
                f"the moto server (pid {emulator.pid}, {pipeline.endpoint_url}) {ended} while the pipeline was running; "
                "nothing works without it, so the pipeline stopped. Fix: run make local again" + (f". Its last output:\n{last}" if last else "")
            )
    return None


def _install_stop_signals(stop: StopRequest) -> None:
    """SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed) start an orderly stop.

    Set explicitly: a shell that starts us in the background ignores SIGINT, and Python then never
    raises KeyboardInterrupt. The moto child runs in its own process group (MotoEmulator), so a
    terminal's Ctrl-C reaches only this process, which stops the poller and the API before moto.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())


def main(argv: list[str] | None = None) -> int:
    """Start, print the banner, wait for Ctrl-C, SIGTERM or the emulator's end, stop cleanly.

    Exit status: 0 stopped by a signal, 1 could not start or the emulator ended on its own, 2 bad options.
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = StopRequest()
    _install_stop_signals(stop)
    from local_pipeline import LocalPipeline  # after argparse, so --help is instant

    try:
        pipeline = LocalPipeline(
            suffix=args.suffix,
            api_port=args.port,
            moto_port=args.moto_port,
            moto_separate_process=not args.moto_in_process,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            existing=_existing(args),
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        pipeline.start()
    except OSError as error:
        print(f"error: could not start the local pipeline: {error}. Fix: pick another --port / --moto-port.", file=sys.stderr)
        return 1
    except RuntimeError as error:  # attached resources that do not answer, or moto that did not start
        print(f"error: {error}", file=sys.stderr)
        return 1
    failure = None
    try:
        if args.outputs_file:
            _say(f"outputs written to {pipeline.write_outputs(args.outputs_file)}")
        if not stop.is_set():
            _say(banner(pipeline))
        failure = wait_for_stop(pipeline, stop)
    finally:
        _say("stopping...", sys.stderr)
        pipeline.stop()
    if failure:
        _say(f"error: {failure}", sys.stderr)
    processed = pipeline.poller.processed if pipeline.poller is not None else 0
    _say(f"{STOPPED_LINE} ({processed} orders processed)")
    return 1 if failure else 0


def _say(text: str, stream=None) -> None:
    """Print and flush, unless the output is gone (a closed terminal or pipe): stopping must not depend on it."""
    with contextlib.suppress(OSError):
        print(text, file=stream or sys.stdout, flush=True)


if __name__ == "__main__":
    sys.exit(main())
