"""Move messages from the DLQ back to the order queue, safely: a message is deleted from the
DLQ only after its copy was accepted by the order queue.

The logic talks to a ``QueuePort`` (``ordersctl.aws.SqsQueuePort`` in real use, a fake in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# SQS batch APIs take at most 10 entries.
BATCH_SIZE = 10
# Long enough for a receive -> send -> delete round trip; a message that could not be
# sent is made visible again at the end, so nothing waits this long on success paths.
RECEIVE_VISIBILITY_SECONDS = 60
PEEK_BODY_CHARS = 200


class MoveTaskUnsupported(Exception):
    """The endpoint has no StartMessageMoveTask (e.g. moto, some emulators, or no permission)."""


@dataclass(frozen=True)
class Message:
    """One received SQS message (what redrive needs of it)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """Message attributes, as SQS returns them (``{"name": {"DataType": ..., "StringValue": ...}}``)."""
    receive_count: int = 0


@dataclass(frozen=True)
class MoveTask:
    """State of an SQS message move task."""

    status: str
    moved: int
    to_move: int | None = None
    failure_reason: str | None = None


class QueuePort(Protocol):
    """The SQS operations redrive uses."""

    def depth(self, queue_url: str) -> int: ...
    def receive(self, queue_url: str, max_messages: int, visibility_timeout: int) -> list[Message]: ...
    def send_batch(self, queue_url: str, messages: Sequence[Message]) -> tuple[set[str], dict[str, str]]:
        """Send copies; return (ids sent, {id: error}) keyed by ``Message.message_id``."""
        ...

    def delete_batch(self, queue_url: str, messages: Sequence[Message]) -> dict[str, str]:
        """Delete; return {message_id: error} of those that failed."""
        ...

    def release(self, queue_url: str, messages: Sequence[Message]) -> None:
        """Make messages visible again at once (visibility timeout 0)."""
        ...

    def start_move_task(self, source_arn: str, destination_arn: str) -> str:
        """Start a native move task; raise ``MoveTaskUnsupported`` when the endpoint lacks it."""
        ...

    def move_task(self, source_arn: str, task_handle: str) -> MoveTask: ...


@dataclass(frozen=True, kw_only=True)
class RedriveReport:
    """What a redrive did: counts, the method used and (for dry runs) peeked messages."""

    method: str
    """``move-task`` (SQS native), ``copy`` (receive/send/delete) or ``dry-run``."""
    moved: int = 0
    failed: int = 0
    remaining: int = 0
    """DLQ depth (visible messages) after the run."""
    peeked: tuple[dict[str, Any], ...] = ()
    errors: tuple[str, ...] = ()
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "moved": self.moved,
            "failed": self.failed,
            "remaining": self.remaining,
            "peeked": list(self.peeked),
            "errors": list(self.errors),
            "note": self.note,
        }


def _peek(message: Message) -> dict[str, Any]:
    body = message.body if len(message.body) <= PEEK_BODY_CHARS else message.body[:PEEK_BODY_CHARS] + "..."
    return {"messageId": message.message_id, "receiveCount": message.receive_count, "attributes": sorted(message.attributes), "body": body}


def dry_run(port: QueuePort, *, dlq_url: str, max_messages: int | None) -> RedriveReport:
    """Count the DLQ and peek at up to ``max_messages`` (default 10); every peeked message is made visible again."""
    depth = port.depth(dlq_url)
    want = BATCH_SIZE if max_messages is None else max_messages
    seen: dict[str, Message] = {}
    held: list[Message] = []
    try:
        while len(seen) < want:
            got = port.receive(dlq_url, min(BATCH_SIZE, want - len(seen)), RECEIVE_VISIBILITY_SECONDS)
            fresh = [m for m in got if m.message_id not in seen]
            held.extend(got)
            if not fresh:
                break
            for message in fresh:
                seen[message.message_id] = message
    finally:
        # A dry run changes nothing: hand every peeked message straight back.
        if held:
            port.release(dlq_url, held)
    return RedriveReport(method="dry-run", remaining=depth, peeked=tuple(_peek(m) for m in list(seen.values())[:want]), note=f"{depth} message(s) in the DLQ; nothing moved")


def copy_messages(
    port: QueuePort,
    *,
    dlq_url: str,
    queue_url: str,
    max_messages: int | None,
    progress: Callable[[int], None] = lambda n: None,
) -> RedriveReport:
    """Receive from the DLQ, send copies to the queue, delete only the copies that were sent."""
    moved = 0
    failed: dict[str, Message] = {}
    errors: list[str] = []
    empty_receives = 0
    while max_messages is None or moved + len(failed) < max_messages:
        room = BATCH_SIZE if max_messages is None else min(BATCH_SIZE, max_messages - moved - len(failed))
        got = [m for m in port.receive(dlq_url, room, RECEIVE_VISIBILITY_SECONDS) if m.message_id not in failed]
        if not got:
            # An empty receive does not prove an empty queue (SQS samples servers): try once more.
            empty_receives += 1
            if empty_receives >= 2:
                break
            continue
        empty_receives = 0
        sent, send_errors = port.send_batch(queue_url, got)
        for message in got:
            if message.message_id not in sent:
                failed[message.message_id] = message
                errors.append(f"send {message.message_id}: {send_errors.get(message.message_id, 'not sent')}")
        to_delete = [m for m in got if m.message_id in sent]
        delete_errors = port.delete_batch(dlq_url, to_delete) if to_delete else {}
        for message_id, error in delete_errors.items():
            # The copy is in the queue already; the original reappears in the DLQ later.
            # Counted as failed so the operator knows a duplicate may be processed.
            errors.append(f"delete {message_id} (copy already sent; the order may be processed twice, which is idempotent): {error}")
        done = len(to_delete) - len(delete_errors)
        moved += done
        progress(len(got))
        failed_deletes = [m for m in to_delete if m.message_id in delete_errors]
        for message in failed_deletes:
            failed[message.message_id] = message
    if failed:
        port.release(dlq_url, list(failed.values()))
    return RedriveReport(method="copy", moved=moved, failed=len(failed), remaining=port.depth(dlq_url), errors=tuple(errors))


#: Move-task states that end it (SQS ListMessageMoveTasks ``Status``), besides COMPLETED.
_STOPPED = {"FAILED": "failed", "CANCELLED": "was cancelled", "CANCELLING": "is being cancelled"}


def native_move(port: QueuePort, *, dlq_url: str, dlq_arn: str, queue_arn: str, wait: Callable[[], bool]) -> RedriveReport:
    """Start an SQS message move task and poll it while it runs and ``wait()`` says to keep waiting."""
    handle = port.start_move_task(dlq_arn, queue_arn)
    task = port.move_task(dlq_arn, handle)
    while task.status == "RUNNING" and wait():
        task = port.move_task(dlq_arn, handle)
    failed = 0
    errors: tuple[str, ...] = ()
    note = None
    if task.status in _STOPPED:
        failed = max(0, (task.to_move or 0) - task.moved)
        reason = f": {task.failure_reason}" if task.failure_reason else ""
        errors = (f"move task {_STOPPED[task.status]} after moving {task.moved} of {task.to_move if task.to_move is not None else '?'}{reason}",)
    elif task.status == "RUNNING":
        note = f"the move task is still running ({task.moved} of {task.to_move if task.to_move is not None else '?'} moved so far); check again with `ordersctl status`"
    elif task.status != "COMPLETED":
        errors = ((f"the move task ({handle}) is not among the DLQ's last 10 move tasks (state {task.status}): its outcome is unknown; `ordersctl status` shows what is left in the DLQ"),)
    return RedriveReport(method="move-task", moved=task.moved, failed=failed, remaining=port.depth(dlq_url), errors=errors, note=note)


def redrive(
    port: QueuePort,
    *,
    dlq_url: str,
    queue_url: str,
    dlq_arn: str | None = None,
    queue_arn: str | None = None,
    max_messages: int | None = None,
    dry: bool = False,
    mode: str = "auto",
    wait: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] = lambda n: None,
) -> RedriveReport:
    """Dry run, native move task, or copy; ``auto`` tries the move task and falls back to copying."""
    if max_messages is not None and max_messages < 1:
        raise ValueError(f"max_messages must be at least 1 (given {max_messages})")
    if mode not in ("auto", "move-task", "copy"):
        raise ValueError(f"mode must be auto, move-task or copy (given {mode!r})")
    if dry:
        return dry_run(port, dlq_url=dlq_url, max_messages=max_messages)
    # A move task moves everything and cannot stop after N messages.
    move_arns = (dlq_arn, queue_arn) if max_messages is None and dlq_arn is not None and queue_arn is not None else None
    if mode == "move-task" and move_arns is None:
        raise ValueError("the SQS move task needs both queue ARNs and moves every message: drop --max-messages or use --mode copy")
    fallback_note = None
    if mode in ("auto", "move-task") and move_arns is not None:
        try:
            return native_move(port, dlq_url=dlq_url, dlq_arn=move_arns[0], queue_arn=move_arns[1], wait=wait)
        except MoveTaskUnsupported as unsupported:
            if mode == "move-task":
                raise
            fallback_note = f"StartMessageMoveTask unavailable ({unsupported}); copied message by message instead"
    report = copy_messages(port, dlq_url=dlq_url, queue_url=queue_url, max_messages=max_messages, progress=progress)
    if fallback_note:
        report = RedriveReport(method=report.method, moved=report.moved, failed=report.failed, remaining=report.remaining, errors=report.errors, note=fallback_note)
    return report
