"""Command line of ordersctl: argument parsing and printing only; the work is in the other modules."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from ordersctl import aws
from ordersctl.outputs import OutputsError, StackOutputs, load_outputs
from ordersctl.traffic import MAX_CONCURRENCY
from pipeline_config import output_keys
from pipeline_config.naming import ALARM_NAME_PREFIX, CUSTOMER_INDEX_NAME

DEFAULT_OUTPUTS_FILE = "outputs.json"


class UsageError(Exception):
    """A problem with the arguments or environment; printed without a traceback (exit 2)."""


# ----------------------------------------------------------------------------- helpers
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (given {value})")
    return value


def _concurrency(text: str) -> int:
    value = _positive(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CONCURRENCY} (given {value}); each sender is a thread with its own connection")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be in (0, 3600] seconds (given {value:g})")
    return value


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text, file=args.stdout or sys.stdout)


@contextmanager
def _progress(args: argparse.Namespace, total: int | None, desc: str) -> Iterator[Any]:
    """A tqdm bar on stderr, off when stderr is not a terminal or with --no-progress."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr, unit="msg", disable=args.no_progress or not sys.stderr.isatty(), leave=False)
    try:
        yield bar
    finally:
        bar.close()


def require_answer(endpoint_url: str, source: str) -> None:
    """Fail at once (UsageError) when a local endpoint does not accept connections, instead of retrying for half a minute."""
    problem = aws.probe(endpoint_url)
    if problem is not None:
        raise UsageError(
            f"{source}: {endpoint_url} does not answer ({problem}). Fix: start the local pipeline again with "
            f'`make local ARGS="--outputs-file {source}"` and keep it running (every start picks new ports and rewrites the file), '
            "or point --endpoint-url at a running emulator"
        )


class Context:
    """What every subcommand needs: the stack outputs and where AWS is."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.outputs: StackOutputs = load_outputs(args.outputs, stack=args.stack)
        self.region: str | None = args.region or self.outputs.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        # Precedence: flag, AWS_ENDPOINT_URL, then the local pipeline's own output.
        self.endpoint_url: str | None = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or self.outputs.get(output_keys.AWS_ENDPOINT_URL)
        # The local pipeline (its outputs carry AwsEndpointUrl) or another emulator on this
        # machine accepts any credentials: a shell without AWS setup must work against it.
        self.emulated: bool = aws.is_emulator(self.endpoint_url) or (self.endpoint_url is not None and self.endpoint_url == self.outputs.get(output_keys.AWS_ENDPOINT_URL))
        if self.emulated and self.region is None:
            self.region = "us-east-1"
        if self.emulated:
            require_answer(self.endpoint_url, self.outputs.source)

    def client(self, service: str, retries: int | None = None) -> Any:
        """A boto3 client for this stack's region and endpoint."""
        return aws.client(service, region=self.region, endpoint_url=self.endpoint_url, retries=retries, emulator_credentials=self.emulated)

    def api(self) -> Any:
        """An ``OrdersApi`` for the stack's endpoint and authorization mode."""
        from ordersctl.api import OrdersApi

        self.outputs.require([output_keys.API_ENDPOINT], command=self.args.command)
        if aws.is_emulator(self.outputs.get(output_keys.API_ENDPOINT)):
            require_answer(self.outputs.get(output_keys.API_ENDPOINT), self.outputs.source)
        mode = str(self.outputs.get(output_keys.API_AUTHORIZATION, "AWS_IAM")).upper()
        creds = aws.credentials(self.region) if mode == "AWS_IAM" else None
        try:
            return OrdersApi(self.outputs.get(output_keys.API_ENDPOINT), authorization=mode, region=self.region, api_key=self.args.api_key, credentials=creds, timeout_seconds=self.args.http_timeout)
        except ValueError as error:
            raise UsageError(str(error)) from None


# ----------------------------------------------------------------------------- commands
def cmd_status(ctx: Context) -> int:
    """Queue and DLQ depths, alarm states and the newest orders."""
    from ordersctl.status import exit_code, newest, render

    out, args = ctx.outputs, ctx.args
    out.require([output_keys.ORDER_QUEUE_URL, output_keys.DLQ_URL, output_keys.ORDERS_TABLE_NAME], command="status")
    sqs, dynamodb = ctx.client("sqs"), ctx.client("dynamodb")
    if args.customer:
        orders = aws.customer_orders(dynamodb, out.get(output_keys.ORDERS_TABLE_NAME), args.customer, index_name=CUSTOMER_INDEX_NAME, limit=args.orders)
    else:
        orders = newest(aws.scan_orders(dynamodb, out.get(output_keys.ORDERS_TABLE_NAME), max_items=args.scan_limit), args.orders)
    report = {
        "stack": out.stack,
        "suffix": out.suffix,
        "region": ctx.region,
        "queue": aws.queue_depths(sqs, out.get(output_keys.ORDER_QUEUE_URL)),
        "dlq": aws.queue_depths(sqs, out.get(output_keys.DLQ_URL)),
        "alarm_prefix": ALARM_NAME_PREFIX,
        "alarms": aws.alarms(ctx.client("cloudwatch"), prefix=ALARM_NAME_PREFIX, suffix=out.suffix),
        "orders": newest(orders, args.orders),
    }
    _emit(args, report, render(report))
    return exit_code(report) if args.check else 0


def cmd_redrive(ctx: Context) -> int:
    """Move DLQ messages back to the order queue (or only look at them with --dry-run)."""
    from ordersctl.redrive import MoveTaskUnsupported, redrive

    out, args = ctx.outputs, ctx.args
    out.require([output_keys.ORDER_QUEUE_URL, output_keys.DLQ_URL], command="redrive")
    sqs = ctx.client("sqs")
    port = aws.SqsQueuePort(sqs, move_task_sqs=ctx.client("sqs", retries=1))
    dlq_arn = out.get(output_keys.DLQ_ARN) or aws.queue_arn(sqs, out.get(output_keys.DLQ_URL))
    queue_arn = out.get(output_keys.ORDER_QUEUE_ARN) or aws.queue_arn(sqs, out.get(output_keys.ORDER_QUEUE_URL))
    deadline = time.monotonic() + args.wait_seconds

    def keep_waiting() -> bool:
        if time.monotonic() >= deadline:
            return False
        time.sleep(1)
        return True

    total = None if args.dry_run else (args.max_messages or port.depth(out.get(output_keys.DLQ_URL)))
    with _progress(args, total, "redrive") as bar:
        try:
            report = redrive(
                port,
                dlq_url=out.get(output_keys.DLQ_URL),
                queue_url=out.get(output_keys.ORDER_QUEUE_URL),
                dlq_arn=dlq_arn,
                queue_arn=queue_arn,
                max_messages=args.max_messages,
                dry=args.dry_run,
                mode=args.mode,
                wait=keep_waiting,
                progress=bar.update,
            )
        except (ValueError, MoveTaskUnsupported) as error:
            raise UsageError(f"redrive: {error}") from None
    lines = [f"method: {report.method}", f"moved: {report.moved}", f"failed: {report.failed}", f"remaining in DLQ: {report.remaining}"]
    if report.note:
        lines.append(f"note: {report.note}")
    for peek in report.peeked:
        lines.append(f"  {peek['messageId']} (received {peek['receiveCount']}x): {peek['body']}")
    lines += [f"error: {e}" for e in report.errors]
    _emit(args, report.as_dict(), "\n".join(lines))
    return 1 if report.failed or report.errors else 0


def cmd_smoke(ctx: Context) -> int:
    """Post one test order and wait until it can be read back."""
    from ordersctl.traffic import smoke

    result = smoke(ctx.api(), timeout_seconds=ctx.args.timeout)
    if result.ok:
        # smoke() sets both timings on every successful round trip.
        assert result.post_latency_seconds is not None and result.round_trip_seconds is not None
        text = f"OK: order {result.order_id} accepted ({result.post_status}, {result.post_latency_seconds * 1000:.0f} ms) and stored; round trip {result.round_trip_seconds:.2f} s"
    else:
        text = f"FAILED: order {result.order_id}: {result.error}"
    _emit(ctx.args, result.as_dict(), text)
    return 0 if result.ok else 1


def cmd_load(ctx: Context) -> int:
    """Post N orders at concurrency C; report throughput and latency; verify storage and the DLQ."""
    from ordersctl.traffic import load, verify

    args, out = ctx.args, ctx.outputs
    out.require([output_keys.DLQ_URL], command="load")
    api = ctx.api()
    try:
        with _progress(args, args.count, "load") as bar:
            result = load(api, count=args.count, concurrency=args.concurrency, progress=bar.update)
    except ValueError as error:
        raise UsageError(f"load: {error}") from None
    session = api.session()

    def is_stored(order_id: str) -> bool:
        got = api.get_order(session, order_id)
        return got.status == 200

    sqs = ctx.client("sqs")
    rejected = args.count - len(result.accepted_ids)
    check = verify(result.accepted_ids, is_stored=is_stored, dlq_ids=lambda: aws.dlq_order_ids(sqs, out.get(output_keys.DLQ_URL)), timeout_seconds=args.verify_timeout, rejected=rejected)
    lat = result.latency

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    data = {
        "sent": args.count,
        "accepted": len(result.accepted_ids),
        "statuses": result.statuses,
        "throughput_per_second": round(lat.throughput_per_second, 2),
        "latency_seconds": {"p50": lat.p50, "p95": lat.p95, "p99": lat.p99, "max": lat.max},
        "stored": check.stored,
        "missing": list(check.missing),
        "in_dlq": list(check.in_dlq),
        "errors": list(result.errors),
        "ok": check.ok,
    }
    text = "\n".join(
        [
            f"sent {args.count} at concurrency {args.concurrency} in {lat.elapsed_seconds:.2f} s: {lat.throughput_per_second:.1f} req/s",
            f"statuses: {', '.join(f'{k}: {v}' for k, v in sorted(result.statuses.items()))}",
            f"latency p50 {ms(lat.p50)}, p95 {ms(lat.p95)}, p99 {ms(lat.p99)}, max {ms(lat.max)}",
            f"stored {check.stored}/{len(result.accepted_ids)} accepted; missing {len(check.missing)}; in DLQ {len(check.in_dlq)}",
            *(f"error: {e}" for e in result.errors[:5]),
            "OK" if check.ok else "FAILED: not every order was accepted and stored (see above)",
        ]
    )
    _emit(args, data, text)
    return 0 if check.ok else 1


def cmd_preflight(args: argparse.Namespace) -> int:
    """Before a deploy: the Lambda concurrency quota against what the stacks reserve, the pinned Powertools
    layer, API Gateway's account role (set? by which stack?) and the Terraform state backend."""
    from botocore.exceptions import ClientError

    from ordersctl.hcp import HcpError
    from ordersctl.preflight import PreflightInputs, render, run_checks
    from pipeline_config import ConfigError
    from pipeline_config.context import read_context
    from pipeline_config.selection import select_stacks

    environ = dict(os.environ)
    if args.environment:
        environ["ENVIRONMENT_SUFFIX"] = args.environment
    try:
        selection = select_stacks(environ, read_context(environ))
    except ConfigError as error:
        raise UsageError(str(error)) from None
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint is None and args.outputs:
        endpoint = load_outputs(args.outputs).get(output_keys.AWS_ENDPOINT_URL)
    emulated = aws.is_emulator(endpoint)
    if emulated and endpoint is not None:
        require_answer(endpoint, args.outputs or "--endpoint-url")
    port = aws.AwsPreflightPort(endpoint_url=endpoint, emulated=emulated)
    inputs = PreflightInputs(selection=selection, backend=selection.backend, concurrency_quota=args.concurrency_quota)
    results = run_checks(port, inputs, errors=(ClientError, HcpError))
    target = f"the endpoint {endpoint}" if endpoint else "AWS (the default credential chain)"
    ok = all(result.ok for result in results)
    data = {"stacks": selection.stack_names, "target": target, "ok": ok, "checks": [r.as_dict() for r in results]}
    _emit(args, data, render(selection.stack_names, target, results))
    return 0 if ok else 1


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every subcommand has --help)."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("stack")
    where.add_argument(
        "--outputs",
        default=os.environ.get("ORDERSCTL_OUTPUTS", DEFAULT_OUTPUTS_FILE),
        metavar="FILE",
        help="JSON written by `cdktf output <stack> --outputs-file FILE` (default: $ORDERSCTL_OUTPUTS or %(default)s)",
    )
    where.add_argument("--stack", help="stack to use when FILE holds several, e.g. orders-dev")
    where.add_argument("--endpoint-url", help="AWS endpoint override for an emulator (default: $AWS_ENDPOINT_URL)")
    where.add_argument("--region", help="AWS region (default: the stack's Region output)")
    shown = common.add_argument_group("output")
    shown.add_argument("--json", action="store_true", help="print JSON instead of text")
    shown.add_argument("--no-progress", action="store_true", help="no progress bar (it is also off when stderr is not a terminal)")

    # bin/ordersctl: the entry point that works from a fresh clone and keeps the exit codes (`make ops` does not).
    parser = argparse.ArgumentParser(prog="bin/ordersctl", description="Operate the order pipeline of one stack, from its Terraform outputs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = sub.add_parser("status", parents=[common], help="queue/DLQ depth, alarm states, newest orders", description=cmd_status.__doc__)
    status.add_argument("--orders", type=_positive, default=5, metavar="N", help="how many newest orders to show (default %(default)s)")
    status.add_argument("--scan-limit", type=_positive, default=200, metavar="N", help="at most N items scanned to find them (default %(default)s)")
    status.add_argument("--customer", metavar="ID", help="show this customer's newest orders (customer index) instead of a scan")
    status.add_argument("--check", action="store_true", help="exit 3 when an alarm fires or the DLQ holds messages")
    status.set_defaults(func=cmd_status)

    redrive = sub.add_parser("redrive", parents=[common], help="move DLQ messages back to the order queue", description=cmd_redrive.__doc__)
    redrive.add_argument("--dry-run", action="store_true", help="count and peek only; peeked messages are made visible again")
    redrive.add_argument("--max-messages", type=_positive, metavar="N", help="move at most N (peek at most N with --dry-run); implies --mode copy")
    redrive.add_argument("--mode", choices=("auto", "move-task", "copy"), default="auto", help="auto: SQS StartMessageMoveTask, falling back to copy when the endpoint lacks it (default)")
    redrive.add_argument("--wait-seconds", type=float, default=60.0, metavar="S", help="how long to follow a move task (default %(default)s)")
    redrive.set_defaults(func=cmd_redrive)

    api_opts = argparse.ArgumentParser(add_help=False)
    api_opts.add_argument("--api-key", default=os.environ.get("ORDERS_API_KEY"), help="x-api-key value when ApiAuthorization is API_KEY (default: $ORDERS_API_KEY)")
    api_opts.add_argument("--http-timeout", type=_seconds, default=10.0, metavar="S", help="per-request timeout (default %(default)s)")

    smoke = sub.add_parser("smoke", parents=[common, api_opts], help="post one order and read it back", description=cmd_smoke.__doc__)
    smoke.add_argument("--timeout", type=_seconds, default=30.0, metavar="S", help="how long to wait for the order to be stored (default %(default)s)")
    smoke.set_defaults(func=cmd_smoke)

    load = sub.add_parser("load", parents=[common, api_opts], help="post N orders concurrently, report latency, verify storage", description=cmd_load.__doc__)
    load.add_argument("-n", "--count", type=_positive, default=100, metavar="N", help="orders to post (default %(default)s)")
    load.add_argument("-c", "--concurrency", type=_concurrency, default=8, metavar="C", help=f"parallel senders, at most {MAX_CONCURRENCY} (default %(default)s)")
    load.add_argument("--verify-timeout", type=_seconds, default=60.0, metavar="S", help="how long to wait for every accepted order to be stored (default %(default)s)")
    load.set_defaults(func=cmd_load)

    preflight = sub.add_parser(
        "preflight",
        help="before a deploy: concurrency quota, Powertools layer, API Gateway account role, state backend",
        description=cmd_preflight.__doc__,
    )
    preflight.add_argument(
        "--environment", metavar="SUFFIX", help="check what `ENVIRONMENT_SUFFIX=SUFFIX make synth` writes (an environment, or 'account'); default: $ENVIRONMENT_SUFFIX, else every stack"
    )
    preflight.add_argument("--endpoint-url", help="an emulator instead of AWS (default: $AWS_ENDPOINT_URL, or the AwsEndpointUrl of --outputs)")
    preflight.add_argument("--outputs", metavar="FILE", help="an outputs file of the local pipeline: check against its emulator")
    preflight.add_argument(
        "--concurrency-quota", type=_positive, metavar="N", help="check against this Lambda concurrency quota instead of the account's (needed where the endpoint cannot tell it, e.g. moto)"
    )
    preflight.add_argument("--json", action="store_true", help="print JSON instead of text")
    preflight.add_argument("--no-progress", action="store_true", help=argparse.SUPPRESS)
    preflight.set_defaults(func=cmd_preflight, uses_outputs=False)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ordersctl; returns the exit code (0 ok, 1 operation failed, 2 usage/config error, 3 unhealthy).

    ``stdout``/``stderr`` receive the report and the errors (default: the process's), so a
    caller running it in-process gets clean output even when other code prints.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.stdout = stdout
    errors = stderr or sys.stderr
    try:
        return args.func(Context(args) if getattr(args, "uses_outputs", True) else args)
    except (OutputsError, UsageError) as error:
        print(f"ordersctl: error: {error}", file=errors)
        return 2
    except Exception as error:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

        if isinstance(error, NoCredentialsError):
            print(
                "ordersctl: error: no AWS credentials found. Fix: configure them as for the AWS CLI "
                "(`aws configure`, `aws sso login` with AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); "
                "for an emulator, pass --endpoint-url http://127.0.0.1:<port>",
                file=errors,
            )
            return 2
        if isinstance(error, NoRegionError):
            print("ordersctl: error: no AWS region. Fix: pass --region, set AWS_REGION, or use an outputs file with a Region output", file=errors)
            return 2
        if isinstance(error, (BotoCoreError, ClientError)):
            print(f"ordersctl: AWS error: {error}", file=errors)
            return 1
        raise
