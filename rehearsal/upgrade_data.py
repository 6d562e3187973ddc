"""Orders in a running deployment, across an upgrade: put in through the base revision's handlers, checked through the new ones.

``seed`` (before the upgrade, with the base revision's Lambda package):

- **stored**: orders POSTed through the local API, processed by the base processor, stored, their
  events published (to a tap queue subscribed to the topic, kept across the upgrade); each one's
  ``GET /orders/{id}`` body is recorded;
- **in the DLQ**: two different orders under one orderId, accepted together while the poller is
  paused; the processor stores one and fails the other (a conflict), which SQS moves to the DLQ
  after maxReceiveCount receives (the queue's visibility timeout is shortened meanwhile);
- **queued**: orders POSTed while the poller is paused, left waiting in the queue.

``verify`` (after the upgrade, with the new package): every stored order's GET body is identical;
the queued orders are processed by the new handlers (stored, readable, their events reach the same
subscription); the DLQ message is still there and ``ordersctl redrive`` moves it back to the queue.

Each runs in its own process (``python -m rehearsal.upgrade_data seed|verify ...``): one process
holds one Lambda package. The last line of output starts with RESULT_PREFIX; the record and the
result are JSON files the runner reads.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from rehearsal.harness import WAIT_SECONDS, client, create_tap, http, paused_event_source_mappings, print_verdict, read_outputs, remove_tap, shortened_visibility, tap_order_ids, wait_for

RESULT_PREFIX = "upgrade-data: "
#: The queue's visibility timeout while the DLQ message is made (three receives in seconds).
SEED_VISIBILITY_TIMEOUT_SECONDS = 2
ROOT = Path(__file__).resolve().parent.parent
#: The data kinds, in the order the summary names them.
KINDS = ("stored", "queued", "dlq")


class DataCheckFailed(RuntimeError):
    """A step of seeding or verifying could not be done; the message names it."""


def _order(order_id: str, customer: str, index: int) -> dict[str, Any]:
    return {"orderId": order_id, "customerId": customer, "items": [{"productId": f"sku-{index % 7}", "quantity": 1 + index % 3, "unitPrice": 4.5 + index}]}


def _post(pipeline: Any, order: dict[str, Any]) -> None:
    status, _, body = http("POST", f"{pipeline.api_url}/orders", order)
    if status != 202:
        raise DataCheckFailed(f"POST /orders of {order['orderId']} answered {status}, expected 202: {body}")


def _stored(existing: Any, order_id: str) -> bool:
    table = client(existing, "dynamodb")
    return "Item" in table.get_item(TableName=existing.orders_table_name, Key={"orderId": {"S": order_id}}, ConsistentRead=True)


def _wait_stored(existing: Any, order_ids: list[str], what: str, wait_seconds: float) -> None:
    missing = set(order_ids)

    def all_stored() -> bool:
        missing.difference_update([order_id for order_id in list(missing) if _stored(existing, order_id)])
        return not missing

    if not wait_for(all_stored, wait_seconds + len(order_ids) / 5):
        raise DataCheckFailed(f"{len(missing)} of {len(order_ids)} {what} were not stored in {existing.orders_table_name} within the wait: {sorted(missing)[:5]}")


def _wait_events(existing: Any, tap_url: str, order_ids: list[str], seen: set[str], wait_seconds: float) -> list[str]:
    """Order ids whose event has not reached the tap within the wait (none when all did)."""

    def all_seen() -> bool:
        seen.update(tap_order_ids(existing, tap_url))
        return set(order_ids) <= seen

    wait_for(all_seen, wait_seconds)
    return sorted(set(order_ids) - seen)


def _depth(existing: Any, url: str) -> int:
    attributes = client(existing, "sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))


def _peek(existing: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a queue, left visible (VisibilityTimeout 0)."""
    sqs, found = client(existing, "sqs"), {}
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0).get("Messages", [])
        found.update({m["MessageId"]: m for m in got})
        if len(found) >= _depth(existing, url):
            break
    return list(found.values())


def _pipeline(existing: Any, suffix: str, package: Path) -> Any:
    from local_pipeline import LocalPipeline, LocalPipelineOptions

    return LocalPipeline(LocalPipelineOptions(suffix=suffix, existing=existing, config_overrides={"batching_window_seconds": 1}, handlers_dir=package))


# ------------------------------------------------------------------ seed
def seed(existing: Any, *, suffix: str, package: Path, stored: int, queued: int, wait_seconds: float = WAIT_SECONDS) -> dict[str, Any]:
    """Put the data in through the handlers in ``package``; the record ``verify`` checks against.

    ``wait_seconds``: the longest wait for one effect (orders stored, events delivered, the DLQ move).
    """
    run = uuid.uuid4().hex[:6]
    record: dict[str, Any] = {"tap": create_tap(existing), "stored": {}, "queued": [], "dlq": []}
    with paused_event_source_mappings(existing), shortened_visibility(existing, SEED_VISIBILITY_TIMEOUT_SECONDS), _pipeline(existing, suffix, package) as pipeline:
        plain = [_order(f"seed-{run}-stored-{i:03d}", f"seed-{run}-cust-{i % 4}", i) for i in range(stored - 1)]
        for order in plain:
            _post(pipeline, order)
        # Two different orders under one id, both accepted while nothing is stored yet: one is
        # stored, the other fails on the conditional write and is dead-lettered.
        pipeline.pause_processing()
        twin_id = f"seed-{run}-twin"
        for index in (1, 2):
            _post(pipeline, _order(twin_id, f"seed-{run}-cust-twin", index))
        pipeline.resume_processing()
        stored_ids = [order["orderId"] for order in plain] + [twin_id]
        _wait_stored(existing, stored_ids, "stored orders", wait_seconds)
        if not wait_for(lambda: _depth(existing, existing.dlq_url) >= 1, wait_seconds + 4 * SEED_VISIBILITY_TIMEOUT_SECONDS):
            raise DataCheckFailed(f"the conflicting order {twin_id} did not reach the DLQ {existing.dlq_url} within the wait")
        missing = _wait_events(existing, record["tap"]["queue_url"], stored_ids, set(), wait_seconds)
        if missing:
            raise DataCheckFailed(f"no event reached the topic for {len(missing)} stored orders: {missing[:5]}")
        for order_id in stored_ids:
            status, _, body = http("GET", f"{pipeline.api_url}/orders/{order_id}")
            if status != 200:
                raise DataCheckFailed(f"GET /orders/{order_id} answered {status} right after it was stored: {body}")
            record["stored"][order_id] = body
        pipeline.pause_processing()
        for i in range(queued):
            order = _order(f"seed-{run}-queued-{i:03d}", f"seed-{run}-cust-{i % 4}", 100 + i)
            _post(pipeline, order)
            record["queued"].append(order)
    record["dlq"] = [{"body": m["Body"]} for m in _peek(existing, existing.dlq_url)]
    waiting = _depth(existing, existing.order_queue_url)
    if waiting != queued:
        raise DataCheckFailed(f"{waiting} messages wait in the queue after seeding, expected the {queued} queued orders")
    return record


# ------------------------------------------------------------------ verify
def verify(existing: Any, *, suffix: str, package: Path, record: dict[str, Any], outputs_file: Path, wait_seconds: float = WAIT_SECONDS) -> dict[str, Any]:
    """Check the record against the upgraded stack through the handlers in ``package``.

    Returns ``found`` and ``expected`` per kind and ``problems`` as ``[kind, text]`` pairs (kind: one of
    KINDS or ``events``), so the runner can tell a loss the guard allowed from one it did not.
    ``wait_seconds``: the longest wait for the queued orders to be stored and their events delivered.
    """
    problems: list[list[str]] = []
    found = dict.fromkeys(KINDS, 0)
    queued_ids = [order["orderId"] for order in record["queued"]]
    dlq_before = {m["Body"] for m in _peek(existing, existing.dlq_url)}
    found["dlq"] = sum(1 for m in record["dlq"] if m["body"] in dlq_before)
    if found["dlq"] < len(record["dlq"]):
        problems.append(["dlq", f"{len(record['dlq']) - found['dlq']} of {len(record['dlq'])} DLQ messages are gone from {existing.dlq_url}"])
    with paused_event_source_mappings(existing), _pipeline(existing, suffix, package) as pipeline:
        # The poller runs from the start: the waiting orders meet the new processor.
        for order_id, recorded in record["stored"].items():
            status, _, body = http("GET", f"{pipeline.api_url}/orders/{order_id}")
            if status == 200 and body == recorded:
                found["stored"] += 1
            elif sum(1 for kind, _ in problems if kind == "stored") < 5:
                problems.append(["stored", f"GET /orders/{order_id} answered {status} {_differences(recorded, body)}"])
        try:
            _wait_stored(existing, queued_ids, "queued orders", wait_seconds)
        except DataCheckFailed as error:
            problems.append(["queued", str(error)])
        for order in record["queued"]:
            status, _, body = http("GET", f"{pipeline.api_url}/orders/{order['orderId']}")
            if status == 200 and all(body.get(key) == order[key] for key in ("customerId", "items")):
                found["queued"] += 1
            elif sum(1 for kind, _ in problems if kind == "queued") < 5:
                problems.append(["queued", f"queued order {order['orderId']}: GET answered {status} {body!r:.300}"])
        missing = _wait_events(existing, record["tap"]["queue_url"], queued_ids, set(), wait_seconds)
        if missing:
            problems.append(["events", f"no event reached the topic's existing subscription for {len(missing)} processed orders (was the topic replaced?): {missing[:5]}"])
        pipeline.pause_processing()
        if record["dlq"] and found["dlq"]:
            problems += [["dlq", text] for text in _redrive(existing, record, outputs_file)]
    remove_tap(existing, record["tap"])
    return {"found": found, "expected": {"stored": len(record["stored"]), "queued": len(record["queued"]), "dlq": len(record["dlq"])}, "problems": problems}


def _redrive(existing: Any, record: dict[str, Any], outputs_file: Path) -> list[str]:
    """``ordersctl redrive`` as an operator runs it; the DLQ messages must be back in the queue."""
    command = [sys.executable, "-m", "ordersctl", "redrive", "--outputs", str(outputs_file), "--endpoint-url", existing.endpoint_url, "--json", "--no-progress"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return [f"ordersctl redrive failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}"]
    report = json.loads(done.stdout)
    back = {m["Body"] for m in _peek(existing, existing.order_queue_url)}
    problems = []
    if report.get("moved") != len(record["dlq"]) or report.get("remaining") != 0:
        problems.append(f"ordersctl redrive moved {report.get('moved')} and left {report.get('remaining')} in the DLQ; expected {len(record['dlq'])} moved, 0 left: {report}")
    lost = [m for m in record["dlq"] if m["body"] not in back]
    if lost:
        problems.append(f"{len(lost)} redriven DLQ messages are not in the order queue afterwards")
    return problems


def _differences(recorded: Any, body: Any) -> str:
    if not isinstance(recorded, dict) or not isinstance(body, dict):
        return f"{body!r:.200}"
    changed = sorted(key for key in set(recorded) | set(body) if recorded.get(key) != body.get(key))
    return "with different " + ", ".join(f"{key} ({recorded.get(key)!r:.60} -> {body.get(key)!r:.60})" for key in changed[:5])


# ------------------------------------------------------------------ command line
def _seed_step(args: argparse.Namespace, existing: Any, suffix: str) -> str:
    record = seed(existing, suffix=suffix, package=args.package, stored=args.stored, queued=args.queued)
    args.record.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return f"{len(record['stored'])} stored (events published), {len(record['queued'])} queued, {len(record['dlq'])} in the DLQ"


def _verify_step(args: argparse.Namespace, existing: Any, suffix: str, outputs: dict[str, Any]) -> str:
    # ordersctl reads what `cdktf output --outputs-file` writes: {"<stack>": {...}}.
    ordersctl_outputs = args.record.with_name("ordersctl-outputs.json")
    ordersctl_outputs.write_text(json.dumps({args.stack: outputs}), encoding="utf-8")
    result = verify(existing, suffix=suffix, package=args.package, record=json.loads(args.record.read_text()), outputs_file=ordersctl_outputs)
    if args.result:
        args.result.write_text(json.dumps(result, indent=1), encoding="utf-8")
    summary = ", ".join(f"{result['found'][k]}/{result['expected'][k]} {k}" for k in KINDS) + "".join(f"; {text}" for _, text in result["problems"])
    if result["problems"]:
        raise DataCheckFailed(summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m rehearsal.upgrade_data seed|verify --outputs F --endpoint-url U --stack S --package DIR --record R [...]``."""
    parser = argparse.ArgumentParser(prog="python -m rehearsal.upgrade_data", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("seed", "verify"))
    parser.add_argument("--outputs", required=True, type=Path, help="terraform output -json of the applied stack")
    parser.add_argument("--endpoint-url", required=True, help="the emulator the stack was applied to")
    parser.add_argument("--stack", required=True, help="stack name, e.g. orders-dev")
    parser.add_argument("--package", required=True, type=Path, help="the unpacked Lambda package whose handlers run")
    parser.add_argument("--record", required=True, type=Path, help="seed writes it, verify reads it")
    parser.add_argument("--result", type=Path, help="verify: where the kept/total counts go (JSON)")
    parser.add_argument("--stored", type=int, default=40)
    parser.add_argument("--queued", type=int, default=10)
    args = parser.parse_args(argv)

    def work() -> str:
        from local_pipeline import AttachedResources

        outputs = read_outputs(args.outputs)
        existing = AttachedResources.from_outputs(outputs, args.endpoint_url)
        suffix = args.stack.split("-", 1)[1] if "-" in args.stack else args.stack
        return _seed_step(args, existing, suffix) if args.step == "seed" else _verify_step(args, existing, suffix, outputs)

    return print_verdict(RESULT_PREFIX, work)


if __name__ == "__main__":
    raise SystemExit(main())
