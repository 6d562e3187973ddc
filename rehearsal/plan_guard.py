"""Review a Terraform plan for a running deployment, and guard it against data loss.

Every change of a plan (read by ``rehearsal.plan_review``) gets one or more classes
(``rehearsal.plan_classes``): **data loss** (deleting or replacing what holds data or identity),
**security** (a policy that widens access, a changed trust policy, a route whose authorization
changes, a protection turned off), **availability** (replacing what serves requests) or
**routine**. ``review`` returns them with the guard's verdict; ``render_markdown`` writes the
summary a pull request shows above its plan.

The guard fails on a data-loss change unless that exact resource address is allowed for this
change: ``--allow-data-loss ADDRESS`` on the command line, or a line ``allow-data-loss: ADDRESS``
in a text file such as the pull request's description (``--allow-data-loss-from FILE``). An
address may be qualified by a stack, ``orders-dev/ADDRESS``, to allow it in that stack only.
Security changes are flagged at the top of the summary, never blocked.

Standalone: ``python3 -m rehearsal.plan_guard plan.json [--allow-data-loss A] [--markdown OUT]``
(``terraform show -json plan.tfplan > plan.json``); exit 0 passed, 1 blocked, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal import plan_classes as pc
from rehearsal.plan_review import ResourceChange, action_counts, read_changes, value_at
from rehearsal.policy_diff import widening

#: A line of a pull request description (or any text file) that allows one data-loss change.
ALLOW_LINE = re.compile(r"^\s*(?:[-*]\s+)?allow-data-loss:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
ALLOW_FLAG = "--allow-data-loss"


@dataclass(frozen=True)
class AllowEntry:
    """One data-loss change allowed on purpose: an address, optionally in one stack only, and where it was given."""

    address: str
    stack: str = ""
    source: str = "command line"

    @classmethod
    def parse(cls, text: str, source: str = "command line") -> AllowEntry:
        """``ADDRESS`` or ``STACK/ADDRESS`` (a stack name has no dot; every address has one before any slash)."""
        head, slash, tail = text.strip().partition("/")
        if slash and head and "." not in head and "[" not in head:
            return cls(address=tail, stack=head, source=source)
        return cls(address=text.strip(), source=source)

    def applies_to(self, stack: str) -> bool:
        """True when the entry names no stack or this one."""
        return not self.stack or self.stack == stack

    def describe(self) -> str:
        """``address`` (in stack X) (from source)."""
        return f"`{self.address}`" + (f" in {self.stack}" if self.stack else "") + f" (from {self.source})"


def allow_entries_from_text(text: str, source: str) -> list[AllowEntry]:
    """Every ``allow-data-loss: ADDRESS`` line of a text (e.g. a pull request description)."""
    return [AllowEntry.parse(match, source) for match in ALLOW_LINE.findall(text)]


@dataclass(frozen=True)
class ClassifiedChange:
    """A change with its classes (most severe first, never empty) and a reason for each."""

    change: ResourceChange
    reasons: Mapping[str, tuple[str, ...]]

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes of this change, in ``plan_classes.CLASSES`` order (``routine`` alone when nothing else)."""
        found = tuple(c for c in pc.CLASSES if self.reasons.get(c))
        return found or (pc.ROUTINE,)

    def headline(self) -> str:
        """``address`` action, forced by paths."""
        forced = f", forced by {', '.join(f'`{p}`' for p in self.change.replace_paths)}" if self.change.replace_paths else ""
        moved = f" (moved from `{self.change.previous_address}`)" if self.change.previous_address else ""
        return f"`{self.change.address}` {self.change.action}{forced}{moved}"


@dataclass(frozen=True)
class Review:
    """A classified plan and the guard's verdict on it."""

    stack: str
    changes: tuple[ClassifiedChange, ...]
    allowed: tuple[tuple[ClassifiedChange, AllowEntry], ...] = ()
    blocked: tuple[ClassifiedChange, ...] = ()
    unused_allows: tuple[AllowEntry, ...] = ()

    @property
    def ok(self) -> bool:
        """The guard passes: no data-loss change left that was not allowed."""
        return not self.blocked

    def of_class(self, change_class: str) -> list[ClassifiedChange]:
        """The changes that carry ``change_class`` (routine: those with no other class)."""
        return [c for c in self.changes if change_class in c.classes]

    def counts(self) -> dict[str, int]:
        """Changes per class."""
        return {c: len(self.of_class(c)) for c in pc.CLASSES}

    def action_summary(self) -> str:
        """``2 updated in place, 0 replaced, 0 destroyed, 1 added`` (+ forgotten when there are any)."""
        counts = action_counts([c.change for c in self.changes])
        text = f"{counts['update']} updated in place, {counts['replace']} replaced, {counts['delete']} destroyed, {counts['create']} added"
        return text + (f", {counts['forget']} removed from state (kept)" if counts["forget"] else "")

    def verdict(self) -> str:
        """One line: passed or blocked, and why."""
        if self.blocked:
            return f"BLOCKED: {len(self.blocked)} data-loss change(s) not allowed: " + ", ".join(c.change.address for c in self.blocked)
        extra = f"; {len(self.allowed)} data-loss change(s) allowed on purpose" if self.allowed else ""
        return f"passed: no data-loss change{' left' if self.allowed else ''}{extra}"


def classify(change: ResourceChange) -> ClassifiedChange:
    """The classes of one change and the reason for each (``plan_classes`` holds the per-type facts)."""
    reasons: dict[str, list[str]] = {}
    if change.removes_the_resource:
        kind = pc.RESOURCE_CLASSES.get(change.type, pc.UNCLASSIFIED)
        if kind.kind != pc.ROUTINE:
            reasons.setdefault(kind.kind, []).append(f"{'replacing' if change.action == 'replace' else 'destroying'} it loses {kind.loses}")
    security = _security_reasons(change)
    if security:
        reasons[pc.SECURITY] = security
    return ClassifiedChange(change, {k: tuple(v) for k, v in reasons.items()})


def review(plan: Mapping[str, Any], *, stack: str = "", allows: Iterable[AllowEntry] = ()) -> Review:
    """Classify every change of a ``terraform show -json`` plan and apply the guard with ``allows``."""
    changes = tuple(classify(change) for change in read_changes(plan))
    entries = [entry for entry in allows if entry.applies_to(stack)]
    allowed, blocked, used = [], [], set()
    for change in changes:
        if pc.DATA_LOSS not in change.classes:
            continue
        entry = next((e for e in entries if e.address == change.change.address), None)
        if entry is None:
            blocked.append(change)
        else:
            allowed.append((change, entry))
            used.add(entry)
    unused = tuple(dict.fromkeys(e for e in entries if e not in used))
    return Review(stack=stack, changes=changes, allowed=tuple(allowed), blocked=tuple(blocked), unused_allows=unused)


# ------------------------------------------------------------------ security
def _security_reasons(change: ResourceChange) -> list[str]:
    reasons: list[str] = []
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else None
    if after is None:
        return reasons  # a delete grants nothing (what it costs is data loss or availability)
    for path in pc.POLICY_ATTRIBUTES.get(change.type, ()):
        if change.unknown_at(path):
            if (change.type, path) not in pc.MIRRORED_POLICY_ATTRIBUTES:
                reasons.append(f"`{path}` becomes a value known only after apply: review the new policy in the plan")
        elif value_at(before, path) != value_at(after, path):
            reasons += [f"`{path}` {reason}" for reason in widening(value_at(before, path), value_at(after, path))]
    for path in pc.TRUST_ATTRIBUTES.get(change.type, ()):
        if change.action != "create" and (change.unknown_at(path) or value_at(before, path) != value_at(after, path)):
            reasons.append(f"`{path}` (the trust policy: who may assume the role) changes")
    for path in pc.AUTHORIZATION_ATTRIBUTES.get(change.type, ()):
        new = value_at(after, path)
        if change.action == "create" and path == "authorization" and str(new).upper() == "NONE":
            reasons.append("a new route that anyone may call (`authorization` NONE)")
        elif change.action != "create" and value_at(before, path) != new:
            reasons.append(f"`{path}` changes from {_show(value_at(before, path))} to {_show(new)}: who may call the route changes")
    grant_paths = pc.GRANT_ATTRIBUTES.get(change.type, ())
    if grant_paths and change.action == "create":
        reasons.append("a new grant: " + ", ".join(f"{p} {_show(value_at(after, p))}" for p in grant_paths if value_at(after, p) is not None))
    elif grant_paths:
        changed = [p for p in grant_paths if change.unknown_at(p) or value_at(before, p) != value_at(after, p)]
        if changed:
            reasons.append("the grant changes: " + ", ".join(f"{p} {_show(value_at(before, p))} -> {_show(value_at(after, p))}" for p in changed))
    if change.action != "create":
        reasons += _protections_off(change, before, after)
    return reasons


def _protections_off(change: ResourceChange, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    reasons = []
    for path, rule, what in pc.PROTECTIONS.get(change.type, ()):
        old, new = value_at(before, path), value_at(after, path)
        if change.unknown_at(path):
            continue  # a new key ARN, say: set, just not known yet
        turned_off = (
            (rule == "on" and old is True and new is not True)
            or (rule == "set" and bool(old) and not new)
            or (rule == "no-shorter" and isinstance(old, (int, float)) and isinstance(new, (int, float)) and new < old)
            or (rule == "off" and old is False and new is True)
        )
        if turned_off:
            reasons.append(f"turns off {what} (`{path}` {_show(old)} -> {_show(new)})")
    return reasons


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text if len(text) <= 80 else text[:77] + '...'}`"


# ------------------------------------------------------------------ markdown
def render_markdown(result: Review, *, title: str = "Plan review") -> str:
    """The summary a pull request shows above its plan: verdict and counts, then security, data loss, availability, routine."""
    icon = "✅" if result.ok else "⛔"
    counts = result.counts()
    lines = [f"#### {icon} {title}" + (f": `{result.stack}`" if result.stack else "") + f" · {result.verdict()}", ""]
    lines += [f"{result.action_summary()}.", "", "| " + " | ".join(pc.CLASSES) + " |", "|" + "---|" * len(pc.CLASSES)]
    lines += ["| " + " | ".join(str(counts[c]) + (f" ({len(result.blocked)} blocked)" if c == pc.DATA_LOSS and result.blocked else "") for c in pc.CLASSES) + " |", ""]
    allowed = {id(c): entry for c, entry in result.allowed}
    sections = (
        (pc.SECURITY, "⚠️", "Security: review these first (flagged, not blocked)"),
        (pc.DATA_LOSS, "", "Data loss"),
        (pc.AVAILABILITY, "⏸️", "Availability (flagged, not blocked)"),
    )
    for change_class, mark, heading in sections:
        members = result.of_class(change_class)
        if not members:
            continue
        lines += [f"**{heading}**", ""]
        for member in members:
            icon_for = mark or ("✅ allowed" if id(member) in allowed else "⛔ blocked")
            note = f" — allowed by {allowed[id(member)].describe()}" if change_class == pc.DATA_LOSS and id(member) in allowed else ""
            lines.append(f"- {icon_for} {member.headline()}: {'; '.join(member.reasons[change_class])}{note}")
        lines.append("")
        if change_class == pc.DATA_LOSS and result.blocked:
            lines += [
                (
                    f"The guard stops this plan. To make a blocked change on purpose, add its line to the pull request description "
                    f"(or pass `{ALLOW_FLAG} ADDRESS` to `make rehearse`), then push or edit the description:"
                ),
                "",
                "```",
                *[f"allow-data-loss: {c.change.address}" for c in result.blocked],
                "```",
                "",
            ]
    if result.unused_allows:
        lines += ["**Allowed but not in this plan** (remove these lines once the change has been deployed): " + ", ".join(e.describe() for e in result.unused_allows), ""]
    routine = result.of_class(pc.ROUTINE)
    if routine:
        lines += [f"<details><summary>Routine ({len(routine)})</summary>", "", *[f"- {c.headline()}" for c in routine], "", "</details>", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``python3 -m rehearsal.plan_guard`` (standard library only: any Python 3.11+, no .venv/ needed)."""
    parser = argparse.ArgumentParser(
        prog="python3 -m rehearsal.plan_guard",
        description="Classify a Terraform plan's changes (data loss, security, availability, routine) and fail on data loss that was not allowed.",
        epilog="exit codes: 0 the guard passed; 1 a data-loss change is not allowed; 2 bad arguments or not a plan.\nThe plan JSON comes from `terraform show -json plan.tfplan`.",
    )
    parser.add_argument("plan", type=Path, help="the plan as JSON (`terraform show -json <planfile>`), or - for stdin")
    add_allow_arguments(parser)
    parser.add_argument("--stack", default="", help="the stack the plan is for (for STACK/ADDRESS allow entries and the title)")
    parser.add_argument("--markdown", type=Path, help="also write the summary to this file")
    return parser.parse_args(argv)


def add_allow_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allow-data-loss`` and ``--allow-data-loss-from``, shared with ``python -m rehearsal``."""
    parser.add_argument(
        ALLOW_FLAG, dest="allow_data_loss", action="append", default=[], metavar="ADDRESS", help="allow deleting or replacing this resource address (or STACK/ADDRESS); repeat for more"
    )
    parser.add_argument(
        "--allow-data-loss-from",
        dest="allow_data_loss_from",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a text file (e.g. the pull request description): every line 'allow-data-loss: ADDRESS' allows that address",
    )


def allow_entries(addresses: Iterable[str], files: Iterable[Path]) -> list[AllowEntry]:
    """The allow entries of the command line and of every file (a missing file is an error that names it)."""
    entries = [AllowEntry.parse(address) for address in addresses]
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"--allow-data-loss-from: cannot read {path} ({error.strerror}). Fix: give an existing text file") from None
        entries += allow_entries_from_text(text, source=Path(path).name)
    return entries


def main(argv: list[str] | None = None) -> int:
    """Review one plan file; print the summary; 0 passed, 1 blocked, 2 unusable input."""
    args = parse_args(argv)
    try:
        text = sys.stdin.read() if str(args.plan) == "-" else args.plan.read_text(encoding="utf-8")
        plan = json.loads(text)
        entries = allow_entries(args.allow_data_loss, args.allow_data_loss_from)
        result = review(plan, stack=args.stack, allows=entries)
    except (OSError, ValueError) as error:
        print(f"error: {args.plan}: {error}. Fix: pass the output of `terraform show -json <planfile>`", file=sys.stderr)
        return 2
    summary = render_markdown(result)
    print(summary)
    if args.markdown:
        args.markdown.write_text(summary + "\n", encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
