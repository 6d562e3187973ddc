"""The fault-injection soak: orders through the real handlers while their AWS calls misbehave, then every order accounted for.

``run_soak(SoakOptions(...))`` starts a ``LocalPipeline`` whose handlers call the emulator through a
``FaultProxy`` that fails ``fault_rate`` of their calls with every shape it knows (errors before
and after the effect, throttles including the KMS codes, stalls, trickled and late answers, resets,
answers cut short), runs ``processors`` pollers side by side (as the event source mapping does),
crashes a poller after some batches (so whole batches come back), and sends traffic from
``clients`` threads: new orders, identical re-POSTs, conflicting re-uses of an orderId, and
clients that retry after a 503. When the queue and the unpublished index are drained, it checks:

- every 202 ends stored as sent, or in the DLQ with a logged reason (``unaccounted`` otherwise);
- every stored order has at least one event;
- nothing is stored that was never sent;
- no 5xx comes from the handler except the designed 503 (with ``Retry-After``).

``make bench ARGS="--only soak"`` runs 10,000 orders; ``tests/e2e/test_soak.py`` about 500.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_pipeline.fault_proxy import Fault, FaultProxy, RandomFaults
from pipeline_config.errors import ConfigError, ConfigProblem


@dataclass(frozen=True, kw_only=True)
class SoakOptions:
    """How big and how hostile a soak is. Every field has a default (about 500 orders, 8 % faults)."""

    orders: int = 500
    """Distinct new orders (re-POSTs and conflicting re-uses come on top)."""
    fault_rate: float = 0.1
    """Share of the handlers' AWS calls that misbehave (drawn per call: the share injected varies a little around it)."""
    fault_kinds: tuple[Fault, ...] = tuple(Fault)
    """The shapes drawn from, uniformly."""
    processors: int = 8
    """Pollers invoking the processor side by side."""
    clients: int = 24
    """Client threads sending the traffic."""
    duplicate_share: float = 0.1
    """Orders re-POSTed identically, later (a retry after a lost 202, a double click)."""
    conflict_share: float = 0.04
    """Orders whose orderId is re-used later by a different order."""
    retry_after_503_share: float = 0.8
    """Clients that retry after a 503 (with the same body), at most ``max_retries`` times; the others give up."""
    max_retries: int = 3
    """Retries of one request after 503s."""
    max_backlog: int = 300
    """The clients pause while the order queue holds more visible messages than this (0: never).
    A flood beyond what the processors handle only grows the backlog, and moto's ReceiveMessage
    reads the whole queue on every call: the soak would measure moto, not the pipeline."""
    retry_pause_seconds: float = 0.2
    """Pause before a retry (short, to keep the soak short; a real client honours Retry-After)."""
    poller_crash_rate: float = 0.05
    """Share of batches after which a poller crashes before deleting anything."""
    visibility_timeout_seconds: int = 12
    """The queue's (local) visibility timeout: how soon a failed or crashed batch comes back. Longer
    than a batch can take (the processor's timeout plus the batching window), so a batch never
    outlives its messages' visibility, as the 6x rule ensures in AWS."""
    processor_timeout_seconds: int = 8
    """The processor's function timeout (config field): its deadline bounds a batch under stalls."""
    sweep_interval_seconds: float = 2.0
    """Seconds between two event sweeps (local-only interval)."""
    sweep_min_age_seconds: int = 8
    """Age of an unconfirmed event before the sweep publishes it (config field); the processor's timeout,
    as documented, so the sweep does not race the processor's own publish."""
    drain_timeout_seconds: float = 300.0
    """How long the queue and the unpublished index may take to empty after the traffic."""
    seed: int = 21
    """Seeds the traffic, the faults and the crashes: a run can be repeated."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid option."""
        problems = []
        for name, low, high in (
            ("orders", 1, 1_000_000),
            ("processors", 1, 100),
            ("clients", 1, 512),
            ("max_retries", 0, 10),
            ("max_backlog", 0, 1_000_000),
            ("visibility_timeout_seconds", 1, 3600),
            ("processor_timeout_seconds", 5, 900),
            ("sweep_min_age_seconds", 0, 86_400),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(ConfigProblem(name, value, f"must be a whole number in [{low}, {high}]", f"set {name} to e.g. {low if low > 1 else 4}"))
        for name in ("fault_rate", "duplicate_share", "conflict_share", "retry_after_503_share", "poller_crash_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                problems.append(ConfigProblem(name, value, "must be a share between 0 and 1", f"set {name} to e.g. 0.08"))
        if not self.fault_kinds or not all(isinstance(kind, Fault) for kind in self.fault_kinds):
            problems.append(ConfigProblem("fault_kinds", self.fault_kinds, "must name at least one Fault", "use tuple(Fault) for every shape"))
        return problems


# ----------------------------------------------------------------------------- traffic
@dataclass(frozen=True)
class Request:
    """One POST the clients send: a new order, an identical re-POST, or a conflicting re-use."""

    kind: str
    body: dict[str, Any]
    retries: bool
    """Whether this client retries after a 503."""


def order_body(run: str, index: int, rng: random.Random, *, variant: int = 0) -> dict[str, Any]:
    """A valid order; ``variant`` > 0 makes a different order under the same orderId."""
    lines = 1 + (index + variant) % 3
    return {
        "orderId": f"soak-{run}-{index:06d}",
        "customerId": f"soak-customer-{(index + variant * 7) % 97}",
        "items": [{"productId": f"sku-{line}-{variant}", "quantity": 1 + rng.randrange(5), "unitPrice": round(1 + rng.random() * 50, 2)} for line in range(lines)],
    }


def traffic(options: SoakOptions, run: str) -> list[Request]:
    """The requests, in sending order: every new order, and each re-POST or re-use somewhere after its original."""
    rng = random.Random(options.seed)
    requests = [Request("new", order_body(run, i, rng), rng.random() < options.retry_after_503_share) for i in range(options.orders)]
    extras: list[tuple[int, Request]] = []
    for i, original in enumerate(list(requests)):
        if rng.random() < options.duplicate_share:
            extras.append((i, Request("duplicate", original.body, rng.random() < options.retry_after_503_share)))
        if rng.random() < options.conflict_share:
            extras.append((i, Request("conflict", order_body(run, i, rng, variant=1), rng.random() < options.retry_after_503_share)))
    for position, extra in sorted(extras, key=lambda e: e[0], reverse=True):
        requests.insert(rng.randint(position + 1, len(requests)), extra)
    return requests


@dataclass
class Exchange:
    """What one request got: every status (retries included), and how long each attempt took."""

    request: Request
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    bad_503s: list[str] = field(default_factory=list)
    """503 answers without the designed shape (ServiceUnavailable + Retry-After)."""


class BacklogGate:
    """Open while the order queue's visible messages are at most ``limit`` (read every second by a thread)."""

    def __init__(self, depths: Callable[[], dict[str, int]], limit: int) -> None:
        self._depths, self._limit = depths, limit
        self._open, self._stop = threading.Event(), threading.Event()
        self._open.set()
        self.paused_s = 0.0
        """Seconds the clients were held back, in all."""
        self._thread = threading.Thread(target=self._watch, name="soak-backlog-gate", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(1):
            with contextlib.suppress(Exception):  # a failed read keeps the last state
                if self._depths()["queue_visible"] > self._limit:
                    self._open.clear()
                    self.paused_s += 1
                else:
                    self._open.set()

    def wait(self) -> None:
        """Block while the backlog is too large (at most 60 s: a stuck gauge must not hang the soak)."""
        self._open.wait(60)

    def __enter__(self) -> BacklogGate:
        if self._limit:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._open.set()


class _Progress:
    """Logs every tenth of the requests answered (a 10,000-order soak is long)."""

    def __init__(self, total: int, log: Callable[[str], None]) -> None:
        self._total, self._log, self._count, self._lock = total, log, 0, threading.Lock()
        self._started = time.perf_counter()

    def done(self, exchange: Exchange) -> Exchange:
        with self._lock:
            self._count += 1
            count = self._count
        if count % max(1, self._total // 10) == 0:
            self._log(f"soak: {count}/{self._total} requests answered in {time.perf_counter() - self._started:.0f} s")
        return exchange


def send(api_url: str, request: Request, options: SoakOptions, gate: BacklogGate | None = None) -> Exchange:
    """POST the request (after ``gate`` opens); retry after a 503 when this client does. Status 0: no answer at all."""
    if gate is not None:
        gate.wait()
    parts = urlsplit(f"{api_url}/orders")
    if not parts.hostname:
        raise ValueError(f"soak: the API URL {api_url!r} is not an http://host:port URL")
    host = parts.hostname
    exchange = Exchange(request)
    payload = json.dumps(request.body).encode()
    for attempt in range(1 + (options.max_retries if request.retries else 0)):
        if attempt:
            time.sleep(options.retry_pause_seconds)
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, parts.port, timeout=60)
        try:
            connection.request("POST", parts.path, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            body, status, retry_after = response.read(), response.status, response.getheader("Retry-After")
        except (OSError, http.client.HTTPException):
            body, status, retry_after = b"", 0, None
        finally:
            connection.close()
        exchange.latencies.append(time.perf_counter() - started)
        exchange.statuses.append(status)
        if status == 503 and (not retry_after or b'"ServiceUnavailable"' not in body):
            exchange.bad_503s.append(body.decode("utf-8", "replace")[:200])
        if status != 503:
            break
    return exchange


# ----------------------------------------------------------------------------- what the processor said
class ReasonLog(logging.Handler):
    """The handlers' WARNING+ records, by SQS messageId: the reason each failed record was given (as CloudWatch Logs holds them)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.reasons: dict[str, list[str]] = collections.defaultdict(list)
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        message_id = getattr(record, "messageId", None)
        if message_id:
            self.reasons[str(message_id)].append(str(getattr(record, "reason", "") or record.getMessage()))


#: Powertools' switch for its EMF output (read at every flush): thousands of metric lines would flood the output.
METRICS_DISABLED_VAR = "POWERTOOLS_METRICS_DISABLED"


@contextlib.contextmanager
def handler_logs_captured(reason_log: ReasonLog) -> Iterator[None]:
    """Route the handlers' log records to ``reason_log`` only, and mute their metrics (thousands of fault tracebacks and EMF lines)."""
    from api_handler import app as api_app
    from event_sweeper import app as sweeper_app
    from order_processor import app as processor_app

    loggers = [logging.getLogger(module.logger.name) for module in (api_app, processor_app, sweeper_app)]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    metrics_disabled = os.environ.get(METRICS_DISABLED_VAR)
    os.environ[METRICS_DISABLED_VAR] = "true"
    for logger in loggers:
        logger.handlers = [reason_log]
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, handlers, level in saved:
            logger.handlers = handlers
            logger.setLevel(level)
        if metrics_disabled is None:
            os.environ.pop(METRICS_DISABLED_VAR, None)
        else:
            os.environ[METRICS_DISABLED_VAR] = metrics_disabled


class PublishedEvents:
    """Counts the events SNS accepted, per orderId, from the emulator's own answers to PublishBatch (a ``FaultProxy`` observer).

    What SNS accepted is what is published, whatever the client heard (an answer lost after the
    effect still published the event). Reading the same from a subscribed queue costs moto a full
    scan of that queue per ReceiveMessage: about a minute per thousand events.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: collections.Counter = collections.Counter()

    def __call__(self, call: Any, status: int, body: bytes) -> None:
        if call.service != "sns" or call.operation != "PublishBatch" or status != 200:
            return
        form = parse_qs(call.body.decode("utf-8", "replace"))
        entries = {form[key][0]: form.get(key.replace(".Id", ".Message"), ["{}"])[0] for key in form if key.endswith(".Id")}
        successful = re.findall(r"<Id>([^<]*)</Id>", body.decode("utf-8", "replace").split("<Failed>")[0])
        with self._lock:
            for entry_id in successful:
                try:
                    self.events[str(json.loads(entries.get(entry_id, "{}")).get("orderId"))] += 1
                except ValueError:
                    continue


# ----------------------------------------------------------------------------- the run
@dataclass
class Observed:
    """What the pipeline holds once drained."""

    stored: dict[str, str]
    """orderId -> stored fingerprint."""
    dlq: list[tuple[str, str]]
    """(messageId, fingerprint of its order) of every DLQ message."""
    events: collections.Counter
    """orderId -> events published."""
    deliveries: dict[str, list[str]] = field(default_factory=dict)
    """messageId -> how each of its deliveries ended (the poller's record of its invocations), for diagnosis."""


def fingerprint(body: Any) -> str:
    """The handlers' fingerprint of an order body or queue message (its timestamp is not part of it)."""
    from orders_core import jsonutil
    from orders_core.validation import parse_order

    payload = {k: v for k, v in jsonutil.loads(json.dumps(body) if not isinstance(body, str) else body).items() if k != "timestamp"}
    return parse_order(payload, timestamp="2000-01-01T00:00:00.000000Z").fingerprint


def pending_events(pipeline: Any) -> int:
    """Orders whose event is not confirmed: the size of the sparse UnpublishedIndex (a Scan of the index)."""
    from pipeline_config.naming import UNPUBLISHED_INDEX_NAME

    dynamodb, total, kwargs = pipeline.client("dynamodb"), 0, {"TableName": pipeline.table_name, "IndexName": UNPUBLISHED_INDEX_NAME, "Select": "COUNT"}
    while True:
        page = dynamodb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def drain(pipeline: Any, timeout: float, log: Callable[[str], None]) -> bool:
    """Wait until the queue is empty, no poller holds a batch and no event is pending, twice in a row; False at the timeout."""
    deadline, calm, last_log = time.monotonic() + timeout, 0, 0.0
    while time.monotonic() < deadline:
        depths, pending = pipeline.queue_depths(), pending_events(pipeline)
        idle = not pipeline.poller.busy and depths["queue_visible"] == depths["queue_in_flight"] == depths["queue_delayed"] == 0
        calm = calm + 1 if idle and pending == 0 else 0
        if calm >= 2:
            return True
        if time.monotonic() - last_log > 15:
            log(f"soak: draining: queue {depths['queue_visible']} visible / {depths['queue_in_flight']} in flight, {pending} events pending, DLQ {depths['dlq_visible']}")
            last_log = time.monotonic()
        time.sleep(1)
    return False


def observe(pipeline: Any, published: PublishedEvents) -> Observed:
    """Everything stored, every DLQ message and every published event."""
    dynamodb, stored, kwargs = pipeline.client("dynamodb"), {}, {"TableName": pipeline.table_name, "ProjectionExpression": "orderId, orderFingerprint"}
    while True:
        page = dynamodb.scan(**kwargs)
        stored.update({item["orderId"]["S"]: item["orderFingerprint"]["S"] for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    sqs = pipeline.client("sqs")
    dlq = [(message["MessageId"], fingerprint(message["Body"])) for message in _receive_all(sqs, pipeline.dlq_url)]
    events = collections.Counter(published.events)
    deliveries: dict[str, list[str]] = collections.defaultdict(list)
    for invocation in pipeline.poller.invocations:
        for message_id, count in invocation.receive_counts.items():
            ended = invocation.error or ("failed" if message_id in invocation.failed_ids else "succeeded")
            deliveries[message_id].append(f"receive {count}: {ended}")
    return Observed(stored, dlq, events, dict(deliveries))


def _receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message of a queue, each once (received with a long visibility timeout, deleted in batches of 10)."""
    messages: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:  # two empty receives in a row: SQS sampling may miss a message once
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1 if empty else 0, VisibilityTimeout=600).get("Messages", [])
        empty = 0 if got else empty + 1
        messages += got
        if got:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    return messages


def run_soak(options: SoakOptions | None = None, *, log: Callable[[str], None] = lambda message: None) -> SoakReport:
    """Run one soak (module docstring) and account for every order; the report says what held and what did not."""
    from local_pipeline.handler_loading import import_handlers_package
    from local_pipeline.pipeline import LocalPipeline, LocalPipelineOptions

    options = options or SoakOptions()
    problems = options.problems()
    if problems:
        raise ConfigError(problems, context="soak options")
    run = uuid.uuid4().hex[:8]
    requests = traffic(options, run)
    published = PublishedEvents()
    proxy = FaultProxy(RandomFaults(options.fault_rate, kinds=options.fault_kinds, seed=options.seed), observer=published)
    crash_rng, crash_lock = random.Random(options.seed + 1), threading.Lock()

    def crash() -> bool:
        with crash_lock:
            return crash_rng.random() < options.poller_crash_rate

    pipeline_options = LocalPipelineOptions(
        suffix="soak",
        config_overrides={
            "batching_window_seconds": 1,
            "processor_timeout_seconds": options.processor_timeout_seconds,
            "event_sweep_min_age_seconds": options.sweep_min_age_seconds,
            "log_level": "WARNING",
        },
        visibility_timeout_seconds=options.visibility_timeout_seconds,
        processor_concurrency=options.processors,
        event_sweep_interval_seconds=options.sweep_interval_seconds,
        poller_crash_after_batch=crash,
        fault_proxy=proxy,
        # moto deep-copies a whole table per item of a transaction: the soak's moto does not (soak_moto).
        moto_server_module="local_pipeline.soak_moto",
    )
    reasons = ReasonLog()
    import_handlers_package()
    # Powertools' EphemeralMetrics prints EMF to stdout even when muted (every 100 values): none of it here.
    with handler_logs_captured(reasons), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), LocalPipeline(pipeline_options) as pipeline:
        log(f"soak: {len(requests)} requests ({options.orders} orders) from {options.clients} clients, {options.processors} processors, {options.fault_rate:.0%} faults")
        started, cpu_before = time.perf_counter(), time.process_time()
        progress = _Progress(len(requests), log)
        with BacklogGate(pipeline.queue_depths, options.max_backlog) as gate, ThreadPoolExecutor(max_workers=options.clients) as pool:
            exchanges = list(pool.map(lambda request: progress.done(send(pipeline.api_url, request, options, gate)), requests))
        sent = time.perf_counter()
        log(f"soak: traffic sent in {sent - started:.0f} s; draining")
        drained = drain(pipeline, options.drain_timeout_seconds, log)
        finished = time.perf_counter()
        cpu_s = time.process_time() - cpu_before
        # Drained: stop the pollers and the sweeps, so reading the queues does not compete with them.
        pipeline.pause_processing()
        poller, schedule = pipeline.poller, pipeline.sweep_schedule
        if poller is None or schedule is None:  # the soak runs the real handlers, so both exist once started
            raise RuntimeError("soak: the pipeline has no poller or no sweep schedule; it must run the real handlers")
        schedule.stop()
        observed = observe(pipeline, published)
        log(f"soak: observed in {time.perf_counter() - finished:.0f} s: {len(observed.stored)} stored, {len(observed.dlq)} in the DLQ, {sum(observed.events.values())} events; stopping")
        extras = {"poller_crashes": poller.crashes, "sweeps": len(schedule.runs), "swept_events": sum(r.result["published"] for r in schedule.runs if r.result)}
    timing = {"traffic_s": sent - started, "clients_held_back_s": gate.paused_s, "total_s": finished - started, "cpu_s_this_process": cpu_s, "drained": drained}
    return account(options, exchanges, observed, reasons, proxy.stats, {**extras, **timing})


# ----------------------------------------------------------------------------- the accounting
def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class SoakReport:
    """What a soak sent, what the pipeline did with it, and every broken invariant (``violations``)."""

    requests: int
    orders: int
    statuses: dict[str, int]
    accepted: int
    stored_as_sent: int
    dlq_with_reason: int
    unaccounted: list[dict[str, Any]]
    """The bodies, each with ``_why``: what the DLQ and the logs hold for it."""
    stored_without_event: list[str]
    stored_never_sent: list[str]
    unexpected_5xx: list[str]
    no_answer: int
    bad_503s: list[str]
    faults: dict[str, int]
    aws_calls: int
    dlq_messages: int
    events: int
    extras: dict[str, Any]
    latency_ms: dict[str, float]

    @property
    def fault_share(self) -> float:
        """Faults injected / AWS calls the handlers made."""
        return sum(self.faults.values()) / self.aws_calls if self.aws_calls else 0.0

    @property
    def orders_per_second(self) -> float:
        """Orders stored (as sent) per second, first POST to drained."""
        return self.stored_as_sent / self.extras["total_s"] if self.extras.get("total_s") else 0.0

    def violations(self) -> list[str]:
        """Every broken invariant, one line each; empty when the soak held."""
        out = [f"202 but neither stored as sent nor in the DLQ with a reason: {body['orderId']} ({body.get('_why')})" for body in self.unaccounted]
        out += [f"stored without any event: {order_id}" for order_id in self.stored_without_event]
        out += [f"stored but never sent: {order_id}" for order_id in self.stored_never_sent]
        out += [f"a 5xx other than the designed 503: {answer}" for answer in self.unexpected_5xx]
        out += [f"a 503 without ServiceUnavailable + Retry-After: {body}" for body in self.bad_503s]
        out += [f"{self.no_answer} request(s) got no answer at all"] if self.no_answer else []
        out += ["the queue or the unpublished index did not drain in time"] if not self.extras.get("drained") else []
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the bench's result)."""
        return {
            "requests": self.requests,
            "orders": self.orders,
            "statuses": self.statuses,
            "accepted_202": self.accepted,
            "stored_as_sent": self.stored_as_sent,
            "dlq_with_reason": self.dlq_with_reason,
            "unaccounted": len(self.unaccounted),
            "violations": self.violations(),
            "aws_calls": self.aws_calls,
            "faults": self.faults,
            "fault_share": round(self.fault_share, 4),
            "dlq_messages": self.dlq_messages,
            "events": self.events,
            "orders_per_s": round(self.orders_per_second, 1),
            "post_latency_ms": self.latency_ms,
            **{key: round(value, 1) if isinstance(value, float) else value for key, value in self.extras.items()},
        }


def _why(fp: str, body: dict[str, Any], observed: Observed, reasons: ReasonLog) -> str:
    """What is known of an unaccounted order: what is stored under its orderId, its DLQ messages and their logged reasons."""
    stored = observed.stored.get(body["orderId"])
    dead = [message_id for message_id, dead_fp in observed.dlq if dead_fp == fp]
    return (
        f"stored: {'nothing' if stored is None else 'another order' if stored != fp else 'it'}; "
        f"DLQ messages: {dead or 'none'}; logged reasons: {[reasons.reasons.get(m, []) for m in dead]}; "
        f"deliveries: {[observed.deliveries.get(m, []) for m in dead]}"
    )


def account(options: SoakOptions, exchanges: list[Exchange], observed: Observed, reasons: ReasonLog, stats: Any, extras: dict[str, Any]) -> SoakReport:
    """Hold every request and every stored order against the invariants (module docstring)."""
    sent: dict[str, set[str]] = collections.defaultdict(set)
    accepted: dict[str, dict[str, Any]] = {}
    for exchange in exchanges:
        fp = fingerprint(exchange.request.body)
        sent[exchange.request.body["orderId"]].add(fp)
        if 202 in exchange.statuses:
            accepted[fp] = exchange.request.body
    dead_with_reason = {fp for message_id, fp in observed.dlq if reasons.reasons.get(message_id)}
    stored_as_sent = [fp for fp, body in accepted.items() if observed.stored.get(body["orderId"]) == fp]
    in_dlq = [fp for fp in accepted if fp not in stored_as_sent and fp in dead_with_reason]
    statuses = collections.Counter(status for exchange in exchanges for status in exchange.statuses)
    latencies = [seconds * 1000 for exchange in exchanges for seconds in exchange.latencies]
    return SoakReport(
        requests=len(exchanges),
        orders=options.orders,
        statuses={str(status): count for status, count in sorted(statuses.items())},
        accepted=len(accepted),
        stored_as_sent=len(stored_as_sent),
        dlq_with_reason=len(in_dlq),
        unaccounted=[{**body, "_why": _why(fp, body, observed, reasons)} for fp, body in accepted.items() if fp not in stored_as_sent and fp not in in_dlq],
        stored_without_event=sorted(order_id for order_id in observed.stored if observed.events[order_id] < 1),
        stored_never_sent=sorted(order_id for order_id, fp in observed.stored.items() if fp not in sent.get(order_id, set())),
        unexpected_5xx=[f"{status} for {exchange.request.body['orderId']}" for exchange in exchanges for status in exchange.statuses if status >= 500 and status != 503],
        no_answer=statuses.get(0, 0),
        bad_503s=[body for exchange in exchanges for body in exchange.bad_503s],
        faults=dict(stats.faults),
        aws_calls=stats.total_calls,
        dlq_messages=len(observed.dlq),
        events=sum(observed.events.values()),
        extras=extras,
        latency_ms={f"p{p}": round(percentile(latencies, p), 1) for p in (50, 95, 99)} | {"max": round(max(latencies, default=0.0), 1)},
    )
