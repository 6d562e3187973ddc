"""Section 2, handler cold-start init, measured the way Lambda loads the code (``bench/lambda_env.py``).

Fresh processes, interleaved round by round, each one cold start of one target:

* ``lambda``: the Lambda-faithful environment (deployment zip + layer packages + runtime boto3,
  nothing else on ``sys.path``, python3.12 when found, Lambda's variables such as
  ``LAMBDA_TASK_ROOT``): ``bare`` (``import boto3`` + the same three clients), both handlers, and
  each handler's first and second request against a moto server (child process);
* ``lambda-source`` (what-if): both handlers from a copy of the zip without ``__pycache__``
  (what a synth without a Python 3.12, or with ``lambda_bytecode`` ``"off"``, ships: this says
  what the shipped bytecode saves);
* ``lambda-layer-source`` (what-if): both handlers with a layer copy without ``__pycache__`` (what
  a layer built without bytecode would cost: its build script as stored deletes it);
* ``dev``: how the bench measured before issue 14 (the project's .venv on ``sys.path``, no
  ``LAMBDA_TASK_ROOT``), for the old-vs-new comparison.

Then, once per target, outside the timed runs: ``-X importtime`` (top import costs), cProfile,
file-system syscalls (``strace -c``) and, when valgrind is installed, instructions executed
(``callgrind``: the same on a busy and on an idle machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.lambda_env import LambdaEnv, build_lambda_env, source_only_copy
from bench.measure import PYTHON, ROOT, BenchError, child_env, run, summary
from pipeline_config.lambda_contract import ENV_VARS, METRICS_NAMESPACE

HANDLERS = ("api_handler", "order_processor")
TARGETS = ("bare", *HANDLERS)
PROBE = ROOT / "bench" / "handler_probe.py"
TARGET_RATIO = 1.25
#: Lambda's CPU share: 1,769 MB = one vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
FULL_VCPU_MB = 1769
MEMORY_SIZES_MB = (128, 256, 512, 1024, 1769)
#: x86, first tier, us-east-1 (https://aws.amazon.com/lambda/pricing/); INIT is billed like INVOKE
#: since 2025-08-01 (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
PRICE_PER_GB_SECOND = 0.0000166667
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
REGION = "us-east-1"
#: The variables the old bench gave its children (kept as they were, for the old-vs-new comparison).
DEV_ENV = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    **FAKE_CREDENTIALS,
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "LOG_LEVEL": "INFO",
}


def lambda_variables(env: LambdaEnv, target: str, resources: dict[str, str], endpoint_url: str) -> dict[str, str]:
    """What the python3.12 runtime sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)
    plus what the stack sets on the function, and the emulator's endpoint. Nothing inherited."""
    function = target if target in HANDLERS else "bare"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": env.task_dir,
        "LAMBDA_RUNTIME_DIR": env.runtime_dir,
        "_HANDLER": f"{function}.app.lambda_handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": f"{function}-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}-bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **FAKE_CREDENTIALS,
        # Active tracing: Lambda points the X-Ray SDK at its daemon; here a closed local UDP port.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "AWS_ENDPOINT_URL": endpoint_url,
        **resources,
        "POWERTOOLS_SERVICE_NAME": env.powertools_names.get(function, "bench"),
        "POWERTOOLS_METRICS_NAMESPACE": env.powertools_names["namespace"],
        # INFO in every environment; the first request's log lines are part of what it costs.
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "LOG_LEVEL": "INFO",
    }


#: Rounds per ``--runs``: one cold start's wall time swings by about +-10 % between fresh processes
#: even on an idle machine (5 rounds once put the processor with bytecode 10 % above the same
#: code without it, against callgrind's 7 % fewer instructions), so the wall medians take 3x more.
ROUNDS_PER_RUN = 3


def bench_handlers(runs: int, quick: bool, log) -> dict:
    """Run the handlers-init section (``runs`` x ``ROUNDS_PER_RUN`` rounds); returns its JSON-ready result."""
    runs = runs if quick else runs * ROUNDS_PER_RUN
    env = build_lambda_env(log)
    source_task = source_only_copy(env.task_dir)
    source_layer = source_only_copy(env.layer_dir)
    workdir = Path(tempfile.mkdtemp(prefix="bench-handlers-"))
    try:
        with _emulator() as (endpoint_url, resources):
            variants = _variants(env, source_task, source_layer, endpoint_url, resources, workdir)
            samples = _timed_rounds(variants, runs, log)
            extras = _one_off_measurements(env, variants, quick, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _result(env, variants, samples, extras, runs)


class _emulator:
    """A moto server in a child process with the pipeline's resources (the handlers' first requests need them)."""

    def __enter__(self) -> tuple[str, dict[str, str]]:
        from bench.local_env import QUIET_JSII  # noqa: F401 -- imported for its effect: puts handlers/ and the root on sys.path
        from local_pipeline.emulator import MotoEmulator, provision
        from pipeline_config import PipelineConfig

        self._emulator = MotoEmulator(separate_process=True)
        self._emulator.start()
        provisioned = provision(self._emulator, PipelineConfig(environment_suffix="bench"))
        # The variable names the stack sets (the package's Settings contract, through pipeline_config: this
        # process also runs local pipelines, which load the package as Lambda does, never as handlers.orders_core).
        values = {"orders_table_name": provisioned.table_name, "order_queue_url": provisioned.order_queue_url, "order_topic_arn": provisioned.order_topic_arn}
        resources = {variable: values[field] for variable, field in ENV_VARS.items()}
        self.queue_arn = provisioned.order_queue_arn
        return self._emulator.endpoint_url, resources

    def __exit__(self, *exc) -> None:
        self._emulator.stop()


def _variants(env: LambdaEnv, source_task: str, source_layer: str, endpoint_url: str, resources: dict[str, str], workdir: Path) -> dict[str, dict]:
    """name -> how to start one probe: command, environment, spec (events are written per run)."""
    lambda_cmd = [env.python, "-I", "-S", "-B", str(PROBE)]
    out: dict[str, dict] = {}
    for target in TARGETS:
        out[f"lambda:{target}"] = {
            "cmd": lambda_cmd,
            "env": lambda_variables(env, target, resources, endpoint_url),
            "spec": {"target": target, "path": env.sys_path()},
            "requests": target in HANDLERS,
            "workdir": str(workdir),
        }
    for target in HANDLERS:
        out[f"lambda-source:{target}"] = {
            "cmd": lambda_cmd,
            "env": lambda_variables(env, target, resources, endpoint_url),
            "spec": {"target": target, "path": [source_task, env.layer_dir, env.runtime_dir]},
            "requests": False,
        }
        out[f"lambda-layer-source:{target}"] = {
            "cmd": lambda_cmd,
            "env": lambda_variables(env, target, resources, endpoint_url),
            "spec": {"target": target, "path": [env.task_dir, source_layer, env.runtime_dir]},
            "requests": False,
        }
    for target in TARGETS:
        # As before issue 14: the .venv's interpreter with its site-packages, handlers/ first.
        out[f"dev:{target}"] = {
            "cmd": [PYTHON, str(PROBE)],
            "env": child_env({**DEV_ENV, "AWS_LAMBDA_FUNCTION_NAME": f"{target}-bench"}),
            "spec": {"target": target, "path": [str(ROOT / "handlers")]},
            "requests": False,
        }
    return out


def _timed_rounds(variants: dict[str, dict], runs: int, log) -> dict[str, list[dict]]:
    names = list(variants)
    for name in names:  # warm-up, not counted: page cache, the layer's and runtime's bytecode
        _probe(variants[name], name, 0)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for i in range(runs):
        # Rotate who goes first each round, so drift in the machine's load hits every variant alike.
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            samples[name].append(_probe(variants[name], name, i + 1))
        log(f"handlers: round {i + 1}/{runs} done (1-minute load {os.getloadavg()[0]:.1f})")
    return samples


def _probe(variant: dict, name: str, index: int, extra_args: tuple[str, ...] = (), spec_extra: dict | None = None) -> dict:
    spec = dict(variant["spec"], **(spec_extra or {}))
    if variant.get("requests") and not spec_extra:
        spec["events"] = _write_events(variant, spec["target"], index)
    cmd = [*variant["cmd"][:1], *extra_args, *variant["cmd"][1:], json.dumps(spec)]
    result = run(cmd, env=variant["env"], timeout=300, check=False)
    if result.returncode != 0:
        raise BenchError(f"{name}: probe exited {result.returncode}:\n" + "\n".join(result.stderr.strip().splitlines()[-15:]))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process_wall_s"] = result.wall_s
    data["stderr"] = result.stderr
    for request in data.get("requests", []):
        if request.get("status", 202) != 202 or request.get("failed_records", 0):
            raise BenchError(f"{name}: a request failed ({request}); stderr:\n" + "\n".join(result.stderr.strip().splitlines()[-10:]))
    return data


def _write_events(variant: dict, target: str, index: int) -> str:
    """Two events with fresh order ids: the container's first request, then a warm one."""
    events = [_api_event() if target == "api_handler" else _sqs_event(variant) for _ in range(2)]
    path = Path(variant["workdir"]) / f"{target}-{index}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(events))
    return str(path)


def _order(order_id: str) -> dict:
    return {
        "orderId": order_id,
        "customerId": "customer-7",
        "currency": "USD",
        "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}, {"productId": "sku-2", "quantity": 1, "unitPrice": 24.5}],
    }


def _api_event() -> dict:
    """POST /orders as API Gateway sends it (the test fixture), with a new order."""
    event = json.loads((ROOT / "tests" / "handlers" / "events" / "api_post_order.json").read_text())
    event["body"] = json.dumps(_order(f"cold-{uuid.uuid4().hex[:12]}"))
    event["isBase64Encoded"] = False
    return event


def _sqs_event(variant: dict) -> dict:
    """A batch of 10 queued orders, shaped as the SQS event source sends it (the test fixture's record)."""
    template = json.loads((ROOT / "tests" / "handlers" / "events" / "sqs_order_batch.json").read_text())["Records"][0]
    records = []
    for _ in range(10):
        record = json.loads(json.dumps(template))
        record["messageId"] = str(uuid.uuid4())
        record["body"] = json.dumps({**_order(f"cold-{uuid.uuid4().hex[:12]}"), "timestamp": "2026-01-01T00:00:00.000000Z"})
        record["attributes"]["SentTimestamp"] = str(int(time.time() * 1000))
        records.append(record)
    return {"Records": records}


def _one_off_measurements(env: LambdaEnv, variants: dict[str, dict], quick: bool, log) -> dict:
    """Where the time goes, once per target outside the timed runs: import times, profile, syscalls, instructions."""
    extras: dict = {"importtime": {}, "profile": {}, "syscalls": {}, "instructions": {}}
    for target in TARGETS:
        variant = variants[f"lambda:{target}"]
        rows = [_importtime(_probe(variant, target, 0, extra_args=("-X", "importtime"), spec_extra={"profile": False})["stderr"]) for _ in range(1 if quick else 3)]
        extras["importtime"][target] = _median_importtime(rows)
    bare_modules = set(extras["importtime"]["bare"])
    extras["importtime_top5"] = {
        h: [{"module": m, "self_ms": v["self_ms"], "cumulative_ms": v["cumulative_ms"], "also_in_bare": m in bare_modules} for m, v in _top(extras["importtime"][h], "self_ms", 5)] for h in HANDLERS
    }
    extras["import_packages_ms"] = {t: _by_package(extras["importtime"][t]) for t in TARGETS}
    for target in HANDLERS:
        extras["profile"][target] = _probe(variants[f"lambda:{target}"], target, 0, spec_extra={"profile": True})["profile_top_own_time"]
    log("handlers: import times and profiles done")
    if shutil.which("strace"):
        for name in (*(f"lambda:{t}" for t in TARGETS), *(f"lambda-source:{h}" for h in HANDLERS)):
            extras["syscalls"][name] = _syscalls(variants[name], name)
        log("handlers: syscall counts done")
    else:
        extras["syscalls"] = {"skipped": "strace is not installed; the audit-hook counts (open, listdir, scandir) are in each variant"}
    if quick or not shutil.which("valgrind"):
        extras["instructions"] = {"skipped": "--quick" if quick else "valgrind is not installed"}
    else:
        extras["instructions"] = _instructions(variants, log)
    return extras


IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)\s*$")


def _importtime(stderr: str) -> dict[str, tuple[int, int]]:
    """``-X importtime`` lines -> {module: (self us, cumulative us)}."""
    out: dict[str, tuple[int, int]] = {}
    for line in stderr.splitlines():
        match = IMPORTTIME.match(line)
        if match:
            out[match.group(4)] = (int(match.group(1)), int(match.group(2)))
    return out


def _median_importtime(rows: list[dict[str, tuple[int, int]]]) -> dict[str, dict]:
    modules = set().union(*rows) if rows else set()
    return {
        m: {
            "self_ms": round(statistics.median(r[m][0] for r in rows if m in r) / 1000, 2),
            "cumulative_ms": round(statistics.median(r[m][1] for r in rows if m in r) / 1000, 2),
        }
        for m in modules
    }


def _top(table: dict[str, dict], key: str, n: int) -> list[tuple[str, dict]]:
    return sorted(table.items(), key=lambda kv: -kv[1][key])[:n]


def _by_package(table: dict[str, dict]) -> list[tuple[str, float]]:
    """Self time summed per top-level package, largest first (where an import's time really goes)."""
    totals: dict[str, float] = {}
    for module, row in table.items():
        totals[module.split(".")[0]] = totals.get(module.split(".")[0], 0.0) + row["self_ms"]
    return [(k, round(v, 1)) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:10]]


def _syscalls(variant: dict, name: str) -> dict:
    """File-system syscalls of one whole probe process (start-up, init, exit), from ``strace -f -c``."""
    with tempfile.NamedTemporaryFile(prefix="bench-strace-", suffix=".txt", delete=False) as handle:
        out_path = handle.name
    try:
        wrapped = dict(variant, cmd=["strace", "-f", "-c", "-o", out_path, *variant["cmd"]])
        _probe(wrapped, name, 0, spec_extra={"profile": False})
        counts: dict[str, int] = {}
        for line in Path(out_path).read_text().splitlines():
            parts = line.split()
            # "% time  seconds  usecs/call  calls  [errors]  syscall": calls is always the 4th column.
            if len(parts) >= 5 and parts[-1].isidentifier() and parts[-1] != "total" and parts[3].isdigit():
                counts[parts[-1]] = int(parts[3])
    finally:
        os.unlink(out_path)
    fs = ("newfstatat", "stat", "lstat", "fstat", "statx", "openat", "open", "getdents64", "readlink", "access", "read", "close")
    return {k: counts[k] for k in fs if k in counts} | {"all_syscalls": sum(counts.values())}


def _instructions(variants: dict[str, dict], log) -> dict:
    """Instructions executed by init (``callgrind``, minus a probe that imports nothing): load-independent."""
    names = ["noop", *(f"lambda:{t}" for t in TARGETS), *(f"{e}:{h}" for e in ("lambda-source", "lambda-layer-source") for h in HANDLERS)]
    procs: dict[str, subprocess.Popen[str]] = {}
    counts: dict[str, int] = {}
    pending = list(names)
    while pending or procs:
        while pending and len(procs) < 2:  # two at a time: this machine has 2 cores
            name = pending.pop(0)
            variant = variants["lambda:bare"] if name == "noop" else variants[name]
            spec = dict(variant["spec"], target="noop") if name == "noop" else dict(variant["spec"])
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *variant["cmd"], json.dumps(spec)]
            procs[name] = subprocess.Popen(cmd, env=variant["env"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name, proc in list(procs.items()):
            if proc.poll() is not None:
                assert proc.stderr is not None  # Popen(stderr=PIPE)
                match = re.search(r"Collected : (\d+)", proc.stderr.read())
                if proc.returncode != 0 or not match:
                    raise BenchError(f"valgrind run of {name} failed (exit {proc.returncode})")
                counts[name] = int(match.group(1))
                del procs[name]
                log(f"handlers: instructions of {name}: {counts[name] / 1e6:.0f} M")
        time.sleep(0.5)
    start = counts.pop("noop")
    return {"startup_minstr": round(start / 1e6, 1), **{name: round((n - start) / 1e6, 1) for name, n in counts.items()}}


def lambda_seconds(cpu_seconds: float, memory_mb: int) -> float:
    """Expected wall time in Lambda of ``cpu_seconds`` of single-threaded CPU work at ``memory_mb``.

    Assumes one core of this machine does what one Lambda vCPU does, and that the work is
    CPU-bound and single-threaded: Lambda gives ``memory_mb / 1769`` of a vCPU, and more than one
    vCPU does not speed up one thread.
    """
    return cpu_seconds * FULL_VCPU_MB / min(memory_mb, FULL_VCPU_MB)


def memory_table(init_cpu_s: float, first_request_cpu_s: float, warm_request_cpu_s: float) -> list[dict]:
    """Per memory size: expected init, first and warm request (CPU part), and the cost of a cold start's CPU work."""
    rows = []
    for memory in MEMORY_SIZES_MB:
        init = lambda_seconds(init_cpu_s, memory)
        first = lambda_seconds(first_request_cpu_s, memory)
        rows.append(
            {
                "memory_mb": memory,
                "vcpu_share": round(min(memory, FULL_VCPU_MB) / FULL_VCPU_MB, 3),
                "init_ms": round(init * 1000),
                "first_request_cpu_ms": round(first * 1000),
                "warm_request_cpu_ms": round(lambda_seconds(warm_request_cpu_s, memory) * 1000, 1),
                "cold_start_usd_per_million": round((init + first) * memory / 1024 * PRICE_PER_GB_SECOND * 1e6, 2),
            }
        )
    return rows


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _request_medians(rows: list[dict]) -> dict:
    if not rows or not rows[0]["requests"]:
        return {}
    first = [r["requests"][0] for r in rows]
    warm = [r["requests"][1] for r in rows]
    return {
        "first_request_wall_s": summary([r["wall_s"] for r in first]),
        "first_request_cpu_s": summary([r["cpu_s"] for r in first]),
        "warm_request_wall_s": summary([r["wall_s"] for r in warm]),
        "warm_request_cpu_s": summary([r["cpu_s"] for r in warm]),
    }


def _variant_result(rows: list[dict]) -> dict:
    last = rows[-1]
    return {
        "init_wall_s": summary([r["init_wall_s"] for r in rows]),
        "init_cpu_s": summary([r["init_cpu_s"] for r in rows]),
        "process_wall_s": summary([r["process_wall_s"] for r in rows]),
        **_request_medians(rows),
        "modules_imported": last["modules_imported"],
        "packages": last["packages"],
        "loaded_at_init": last["loaded_at_init"],
        "fs_events_at_init": last["fs_events_at_init"],
        "python": last["python"],
        "max_rss_mib": round(max(r["max_rss_mib"] for r in rows), 1),
    }


def _ratios(samples: dict[str, list[dict]], env_name: str, handler: str) -> dict:
    """Handler / bare in one environment: ratio of the medians, and the median of each round's own ratio."""
    bare, mine = samples[f"{env_name.split('-')[0]}:bare"], samples[f"{env_name}:{handler}"]
    out = {}
    for key in ("init_wall_s", "init_cpu_s"):
        paired = [m[key] / b[key] for m, b in zip(mine, bare, strict=True)]
        out[key.removeprefix("init_").removesuffix("_s")] = {"ratio_of_medians": round(_median(mine, key) / _median(bare, key), 3), "median_of_round_ratios": round(statistics.median(paired), 3)}
    return out


def verdict(ratios: dict, instructions: dict) -> dict:
    """Target check per handler: the wall ratio of medians AND, when callgrind ran, the
    instruction ratio must be within ``TARGET_RATIO``. On a loaded machine wall and CPU medians
    swing by tens of percent between runs; instructions do not, so a wall ratio alone can pass
    by luck (or fail by bad luck)."""
    checks = {}
    for h in HANDLERS:
        wall = ratios[f"lambda:{h}"]["wall"]["ratio_of_medians"]
        bare, mine = instructions.get("lambda:bare"), instructions.get(f"lambda:{h}")
        instr = round(mine / bare, 3) if isinstance(bare, (int, float)) and isinstance(mine, (int, float)) else None
        checks[h] = {"wall_ratio": wall, "instructions_ratio": instr}
    met = {h: c["wall_ratio"] <= TARGET_RATIO and (c["instructions_ratio"] is None or c["instructions_ratio"] <= TARGET_RATIO) for h, c in checks.items()}
    return {"meets_target": met, "target_checks": checks}


def _result(env: LambdaEnv, variants: dict[str, dict], samples: dict[str, list[dict]], extras: dict, runs: int) -> dict:
    proof = samples["lambda:api_handler"][-1]
    ratios = {name.split(":")[0] + ":" + name.split(":")[1]: _ratios(samples, name.split(":")[0], name.split(":")[1]) for name in variants if not name.endswith(":bare")}
    lam = {h: _variant_result(samples[f"lambda:{h}"]) for h in HANDLERS}
    estimates = {t: {"init_ms_at_256mb": round(lambda_seconds(_median(samples[f"lambda:{t}"], "init_cpu_s"), 256) * 1000)} for t in TARGETS}
    memory = {
        h: memory_table(
            _median(samples[f"lambda:{h}"], "init_cpu_s"),
            lam[h]["first_request_cpu_s"]["median"],
            lam[h]["warm_request_cpu_s"]["median"],
        )
        for h in HANDLERS
    }
    return {
        "runs": runs,
        "target_ratio": TARGET_RATIO,
        **verdict(ratios, extras.get("instructions", {})),
        "environment": {
            **env.describe(),
            "sys_path_of_a_probe": proof["sys_path"],
            "interpreter_own_path": proof["interpreter_path"],
            "flags": "python -I -S -B (isolated: no site-packages, no PYTHONPATH, no script dir; no bytecode written, as /var/task is read-only)",
            "variables": sorted(variants["lambda:api_handler"]["env"]),
        },
        "variants": {name: _variant_result(rows) for name, rows in samples.items()},
        "ratios": ratios,
        "estimates": estimates,
        "memory_sizes": memory,
        "estimate_assumption": (
            "Lambda wall = CPU time measured here x 1769 / memory MB (AWS: 1,769 MB = one vCPU; "
            "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html): one core of this machine "
            "assumed equal to one Lambda vCPU, init CPU-bound and single-threaded. Not included: the runtime's "
            "own start (interpreter, awslambdaric), code download; requests: the time AWS takes to answer"
        ),
        **extras,
    }
