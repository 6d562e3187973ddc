"""Read a plan (``terraform show -json``) and sort its changes into real changes and emulator noise.

After an apply, a second plan must show no changes: anything else is a perpetual diff that users
would see in every pull request's plan. One kind of diff is not the stack's fault: moto formats JSON
strings (policies, redrive policies) differently from AWS, so the provider sees a string that
differs only in whitespace or key order. Such a diff is reported as emulator noise; every other
difference, and every create, delete or replace, is a real change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

#: Actions that are not changes: data sources read at plan time, resources left as they are.
_NOT_A_CHANGE = (["no-op"], ["read"])


@dataclass(frozen=True)
class AttributeDiff:
    """One attribute that differs between state (before) and plan (after)."""

    path: str
    before: Any
    after: Any
    noise: bool

    def describe(self) -> str:
        """``path: before -> after``, shortened."""
        return f"{self.path}: {_short(self.before)} -> {_short(self.after)}"


@dataclass(frozen=True)
class ResourceChange:
    """A planned change of one resource."""

    address: str
    actions: tuple[str, ...]
    diffs: tuple[AttributeDiff, ...] = ()

    @property
    def is_noise(self) -> bool:
        """True for an in-place update whose every difference is JSON formatting."""
        return self.actions == ("update",) and bool(self.diffs) and all(d.noise for d in self.diffs)

    def describe(self) -> str:
        """One or more lines: the address, the actions and each differing attribute."""
        lines = [f"{self.address}: {'/'.join(self.actions)}"]
        if self.actions == ("update",) and not self.diffs:
            lines.append("    (no attribute differs in the plan JSON; run `terraform show` on the plan for the provider's reason)")
        lines += [f"    {d.describe()}{'  (JSON formatting only)' if d.noise else ''}" for d in self.diffs]
        return "\n".join(lines)


@dataclass(frozen=True)
class PlanReview:
    """Every change of a plan, split into real changes and emulator noise."""

    real: tuple[ResourceChange, ...] = ()
    noise: tuple[ResourceChange, ...] = ()
    drifted: tuple[str, ...] = field(default=())
    """Resources whose refreshed state differed from the last apply (informational)."""

    @property
    def clean(self) -> bool:
        """No real change."""
        return not self.real


def review_plan(plan: dict[str, Any]) -> PlanReview:
    """Classify the ``resource_changes`` of a ``terraform show -json`` plan document."""
    real: list[ResourceChange] = []
    noise: list[ResourceChange] = []
    for entry in plan.get("resource_changes", []):
        change = entry.get("change", {})
        actions = list(change.get("actions", []))
        if actions in _NOT_A_CHANGE:
            continue
        diffs: tuple[AttributeDiff, ...] = ()
        if actions == ["update"]:
            diffs = tuple(_diffs(change.get("before"), change.get("after"), change.get("after_unknown") or {}, ""))
        resource = ResourceChange(address=entry.get("address", "?"), actions=tuple(actions), diffs=diffs)
        (noise if resource.is_noise else real).append(resource)
    drifted = tuple(d.get("address", "?") for d in plan.get("resource_drift", []))
    return PlanReview(real=tuple(real), noise=tuple(noise), drifted=drifted)


def same_json_text(before: Any, after: Any) -> bool:
    """True when two different strings hold the same JSON value (whitespace and key order aside)."""
    if not (isinstance(before, str) and isinstance(after, str)) or before == after:
        return False
    try:
        return json.loads(before) == json.loads(after)
    except ValueError:
        return False


def _diffs(before: Any, after: Any, unknown: Any, path: str) -> Iterator[AttributeDiff]:
    if unknown is True:
        # Known only after apply: the provider would change it, whatever it becomes.
        yield AttributeDiff(path or "(resource)", before, "(known after apply)", noise=False)
        return
    if isinstance(before, dict) and isinstance(after, dict):
        unknown = unknown if isinstance(unknown, dict) else {}
        for key in sorted(set(before) | set(after) | set(unknown)):
            yield from _diffs(before.get(key), after.get(key), unknown.get(key), f"{path}.{key}" if path else key)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        unknown = unknown if isinstance(unknown, list) else []
        for index, (b, a) in enumerate(zip(before, after)):
            yield from _diffs(b, a, unknown[index] if index < len(unknown) else None, f"{path}[{index}]")
        return
    if before != after:
        yield AttributeDiff(path or "(resource)", before, after, noise=same_json_text(before, after))


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
