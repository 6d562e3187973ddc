"""What the rehearsal does to an applied stack in the emulator around running the handlers, and undoes afterwards.

Shared by the pipeline check and the upgrade's seed and verify steps. Each temporary change is a
context manager that restores what it changed, whatever happens inside; the re-plan after them
proves they were undone (a leftover would be a real change).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

#: Longest the harness waits for one effect (an order stored, an event delivered) before it reports the step that failed.
WAIT_SECONDS = 60
#: How often a wait looks again.
POLL_SECONDS = 0.2


def client(existing: Any, service: str) -> Any:
    """A boto3 client for the emulator the stack was applied to."""
    from local_pipeline.emulator import emulator_client

    return emulator_client(existing.endpoint_url, service, existing.region)


def wait_for(probe: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    """The first truthy value of ``probe()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() >= deadline:
            return found or None
        time.sleep(POLL_SECONDS)


@contextmanager
def paused_event_source_mappings(existing: Any) -> Iterator[None]:
    """Disable the queue's event source mappings for the duration (the local poller stands in for them), then enable them again.

    moto's own mapping acts on every message sent while it is enabled: it receives a batch and tries
    to run the function in Docker, which is not here, so the messages would be received for nothing.
    """
    lambda_client = client(existing, "lambda")
    mappings = lambda_client.list_event_source_mappings(EventSourceArn=existing.order_queue_arn).get("EventSourceMappings", [])
    enabled = [m["UUID"] for m in mappings if m.get("State", "Enabled") in ("Enabled", "Enabling", "Creating", "Updating")]
    for mapping in enabled:
        lambda_client.update_event_source_mapping(UUID=mapping, Enabled=False)
    try:
        yield
    finally:
        for mapping in enabled:
            lambda_client.update_event_source_mapping(UUID=mapping, Enabled=True)


@contextmanager
def shortened_visibility(existing: Any, seconds: int) -> Iterator[None]:
    """The order queue's visibility timeout set to ``seconds`` for the duration (retries in seconds, not minutes), then restored."""
    sqs = client(existing, "sqs")
    queue = existing.order_queue_url
    original = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": str(seconds)})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": original})


def create_tap(existing: Any) -> dict[str, str]:
    """A queue subscribed to the events topic with raw delivery: ``{"queue_url", "subscription_arn"}`` (``remove_tap`` undoes it)."""
    sqs, sns = client(existing, "sqs"), client(existing, "sns")
    queue_url = sqs.create_queue(QueueName=f"rehearsal-tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=existing.order_topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    return {"queue_url": queue_url, "subscription_arn": subscription}


def remove_tap(existing: Any, tap: dict[str, str]) -> None:
    """Unsubscribe and delete a tap made by ``create_tap`` (a subscription already gone with its topic is fine)."""
    from botocore.exceptions import ClientError

    with suppress(ClientError):
        client(existing, "sns").unsubscribe(SubscriptionArn=tap["subscription_arn"])
    client(existing, "sqs").delete_queue(QueueUrl=tap["queue_url"])


@contextmanager
def event_tap(existing: Any) -> Iterator[str]:
    """``create_tap`` for the duration; yields the tap queue's URL."""
    tap = create_tap(existing)
    try:
        yield tap["queue_url"]
    finally:
        remove_tap(existing, tap)


def tap_order_ids(existing: Any, tap_url: str) -> set[str]:
    """Order ids of the events waiting in a tap queue (received and deleted)."""
    from local_pipeline.probes import receive_events

    found = set()
    for event in receive_events(client(existing, "sqs"), tap_url, wait_seconds=1):
        body = event["body"]
        order_id = body.get("orderId") if isinstance(body, dict) else None
        found.add(order_id if isinstance(order_id, str) else json.dumps(body))
    return found


def http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    """One request to the local API: (status, headers, parsed JSON body or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, headers, json.loads(raw or b"null")
    except ValueError:
        return status, headers, raw.decode(errors="replace")


def read_outputs(path: Path) -> dict[str, Any]:
    """``terraform output -json`` (or a flat mapping) from a file, as ``{name: value}``."""
    return {name: entry.get("value") if isinstance(entry, dict) else entry for name, entry in json.loads(Path(path).read_text(encoding="utf-8")).items()}


def print_verdict(prefix: str, work: Callable[[], str]) -> int:
    """Run ``work`` in a child process of the runner: its summary, or its failure, as the LAST line, starting with ``prefix``.

    The handlers log (and flush metrics) to stdout; the runner sends all of it to a log file and
    reads only that line. Exit 0 when ``work`` returned, 1 when it raised.
    """
    try:
        summary = work()
    except Exception as error:  # noqa: BLE001 -- reported on the last line, whatever it is
        sys.stdout.flush()
        print(f"{prefix}FAILED {type(error).__name__}: {' '.join(str(error).split())}", flush=True)
        return 1
    sys.stdout.flush()
    print(f"{prefix}{summary}", flush=True)
    return 0
