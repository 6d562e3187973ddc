"""Child process of the handlers-init benchmark: one cold start of one target; prints one JSON line.

``python -I -S -B bench/handler_probe.py '<spec>'`` with ``spec`` a JSON object:

* ``target``: ``noop`` (nothing: the probe's own start-up), ``bare`` (``import boto3`` + the handlers' three clients: SQS, DynamoDB, SNS, with the
  same botocore ``Config``), ``api_handler`` or ``order_processor`` (``import <target>.app`` then
  the module's ``clients()``, what the handler builds before its first request);
* ``path``: folders put in front of the interpreter's own ``sys.path`` (``-I -S``: no site-packages,
  no PYTHONPATH, no script directory), so the output proves what was importable;
* ``events``: optional JSON file with a list of events; each is passed to ``lambda_handler`` in
  turn (the first request of the container, then a warm one), with a Lambda-like context;
* ``profile``: ``true`` to run init under cProfile and return its top functions.

Init is timed from before the first import to after the clients exist, as wall time
(``perf_counter``) and CPU time (``process_time``: what Lambda's CPU share scales).
"""

from __future__ import annotations

import sys
import time

T_WALL = time.perf_counter()
T_CPU = time.process_time()

import json  # noqa: E402 -- after the clock starts: the probe times what comes next
import os  # noqa: E402 -- after the clock starts: the probe times what comes next
import resource  # noqa: E402 -- after the clock starts: the probe times what comes next
from collections.abc import Callable  # noqa: E402 -- after the clock starts: the probe times what comes next
from typing import Any  # noqa: E402 -- after the clock starts: the probe times what comes next

SERVICES = ("sqs", "dynamodb", "sns")
#: The same botocore Config options as orders_core.aws.build_clients gives each client's main rung
#: (orders_core.budget.API_TIMEOUTS: 0.5 s connect, 2.0 s read; the processor's values differ, not its options).
BARE_CONFIG: dict[str, Any] = {"connect_timeout": 0.5, "read_timeout": 2.0, "retries": {"mode": "standard", "total_max_attempts": 1}, "tcp_keepalive": True}

spec = json.loads(sys.argv[1])
interpreter_path = list(sys.path)
sys.path[:0] = spec["path"]
fs_events = {"open": 0, "os.listdir": 0, "os.scandir": 0, "compile": 0}


def _audit(event: str, args: tuple) -> None:
    # importlib's stat() calls raise no audit event; the bench counts them with strace separately.
    if event in fs_events:
        fs_events[event] += 1


sys.addaudithook(_audit)


class Context:
    """What the runtime's LambdaContext offers the handler and Powertools (name, ARN, request id, time left)."""

    def __init__(self, request_id: str, timeout_seconds: float = 30.0) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
        self.invoked_function_arn = f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:123456789012:function:{self.function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]bench"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def init(target: str):
    """Import the target and build its clients; return the handler module (None for bare and noop)."""
    if target == "noop":  # start-up alone, subtracted from instruction counts
        return None
    if target == "bare":
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        # Typed loosely: boto3-stubs' overloads take only literal service names, SERVICES is a tuple of them.
        make_client: Callable[..., Any] = session.client
        for service in SERVICES:
            make_client(service, config=Config(**BARE_CONFIG))
        return None
    module = __import__(f"{target}.app", fromlist=["lambda_handler"])
    t_import[0] = time.perf_counter(), time.process_time()
    module.clients()
    return module


def invoke(module, event: dict, index: int) -> dict:
    """One invocation as the runtime makes it: a fresh trace id, a context, the configured handler."""
    os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-5759e988-bd862e3fe1be46a99427{index:04d};Parent=53995c3f42cd8ad8;Sampled=1"
    wall, cpu = time.perf_counter(), time.process_time()
    response = module.lambda_handler(event, Context(f"bench-request-{index}"))
    took = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    if "statusCode" in response:
        took["status"] = response["statusCode"]
    else:
        took["failed_records"] = len(response.get("batchItemFailures", []))
    return took


t_import: list = [None]
before = set(sys.modules)
profiler = None
if spec.get("profile"):
    import cProfile

    profiler = cProfile.Profile()
w0, c0 = time.perf_counter(), time.process_time()
if profiler:
    profiler.enable()
handler_module = init(spec["target"])
if profiler:
    profiler.disable()
w1, c1 = time.perf_counter(), time.process_time()
fs_at_init = dict(fs_events)
imported = set(sys.modules) - before
loaded_at_init = {m: m in sys.modules for m in ("boto3", "aws_xray_sdk.core", "fastjsonschema", "asyncio", "sqlite3", "requests")}
requests = []
if spec.get("events") and handler_module is not None:
    with open(spec["events"], encoding="utf-8") as handle:
        events = json.load(handle)
    requests = [invoke(handler_module, event, i) for i, event in enumerate(events)]

top_profile = []
if profiler:
    import pstats

    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [(f"{os.path.basename(k[0])}:{k[1]}({k[2]})", v[1], v[2], v[3]) for k, v in stats.items()]
    top_profile = [list(r) for r in sorted(rows, key=lambda r: -r[2])[:15]]  # [function, calls, own s, cumulative s]

packages: dict[str, int] = {}
for name in imported:
    packages[name.split(".")[0]] = packages.get(name.split(".")[0], 0) + 1
print(
    json.dumps(
        {
            "startup_wall_s": w0 - T_WALL,
            "init_wall_s": w1 - w0,
            "init_cpu_s": c1 - c0,
            "import_wall_s": (t_import[0][0] - w0) if t_import[0] else None,
            "clients_wall_s": (w1 - t_import[0][0]) if t_import[0] else None,
            "requests": requests,
            "modules_imported": len(imported),
            "packages": sorted(packages.items(), key=lambda kv: -kv[1])[:10],
            "loaded_at_init": loaded_at_init,
            "fs_events_at_init": fs_at_init,
            "sys_path": sys.path,
            "interpreter_path": interpreter_path,
            "python": sys.version.split()[0],
            "profile_top_own_time": top_profile,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
