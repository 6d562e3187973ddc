"""The one reader of Terraform plans (``terraform show -json``): changes, the attributes they touch, and drift.

Everything that looks at a plan reads it here: the rehearsal's re-plan (real changes versus emulator
noise), the guard that classifies a pull request's plan (``rehearsal.plan_guard``), and a drift
check (``read_drift`` on a ``-refresh-only`` plan). Nothing else parses ``resource_changes``.

After an apply, a second plan must show no changes: anything else is a perpetual diff that users
would see in every pull request's plan. One kind of diff is not the stack's fault: moto formats JSON
strings (policies, redrive policies) differently from AWS, so the provider sees a string that
differs only in whitespace or key order. Such a diff is reported as emulator noise; every other
difference, and every create, delete or replace, is a real change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Actions that are not changes: data sources read at plan time, resources left as they are.
_NOT_A_CHANGE = (["no-op"], ["read"])
#: Shown instead of a value the plan marks sensitive (the summary is posted to pull requests).
SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
#: How a drift names a resource that no longer exists: its path and deployed value.
DELETED_PATH = "(resource)"
DELETED = "(deleted outside Terraform)"


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
    """A planned change of one managed resource, as the plan states it."""

    address: str
    actions: tuple[str, ...]
    diffs: tuple[AttributeDiff, ...] = ()
    type: str = ""
    """Resource type, e.g. ``aws_dynamodb_table``."""
    action_reason: str = ""
    """Terraform's reason, e.g. ``replace_because_cannot_update`` or ``delete_because_no_resource_config``."""
    replace_paths: tuple[str, ...] = ()
    """Attributes that force the replacement, as ``a.b[0]`` paths (replacements only)."""
    before: Any = None
    after: Any = None
    after_unknown: Any = None
    """Terraform's map of values known only after apply (``True`` leaves)."""
    previous_address: str = ""
    """Set when a ``moved`` block renamed the resource."""

    @property
    def action(self) -> str:
        """One word: ``create``, ``update``, ``replace``, ``delete``, ``forget`` (removed, resource kept) or the actions joined."""
        if set(self.actions) == {"delete", "create"}:
            return "replace"
        return "/".join(self.actions)

    @property
    def removes_the_resource(self) -> bool:
        """True for a delete or a replace: what exists now is destroyed (``forget`` keeps it)."""
        return "delete" in self.actions

    @property
    def is_noise(self) -> bool:
        """True for an in-place update whose every difference is JSON formatting."""
        return self.actions == ("update",) and bool(self.diffs) and all(d.noise for d in self.diffs)

    def unknown_at(self, path: str) -> bool:
        """True when the plan knows the attribute at ``path`` (``a.b[0]``) only after apply."""
        node: Any = self.after_unknown
        for key in split_path(path):
            if node is True:
                return True
            if isinstance(key, int):
                node = node[key] if isinstance(node, list) and key < len(node) else None
            else:
                node = node.get(key) if isinstance(node, dict) else None
        return node is True

    def describe(self) -> str:
        """One or more lines: the address, the actions and each differing attribute."""
        lines = [f"{self.address}: {'/'.join(self.actions)}"]
        if self.actions == ("update",) and not self.diffs:
            lines.append("    (no attribute differs in the plan JSON; run `terraform show` on the plan for the provider's reason)")
        lines += [f"    {d.describe()}{'  (JSON formatting only)' if d.noise else ''}" for d in self.diffs]
        return "\n".join(lines)


@dataclass(frozen=True)
class Drift:
    """One attribute whose deployed value differs from the value Terraform last applied from the code."""

    address: str
    path: str
    coded: Any
    """The value in state before the refresh: what the code last applied."""
    deployed: Any
    """The value read from the cloud by the refresh."""
    type: str = ""
    """Resource type, e.g. ``aws_sqs_queue``."""

    def describe(self) -> str:
        """``address path: deployed <value> (code: <value>)``."""
        return f"{self.address} {self.path}: deployed {_short(self.deployed)} (code: {_short(self.coded)})"


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


def read_changes(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Every planned change of a managed resource (no-ops and data-source reads left out), in plan order."""
    if not isinstance(plan, Mapping) or not isinstance(plan.get("resource_changes", []), list):
        raise ValueError("not a plan: expected the JSON object `terraform show -json <planfile>` prints, with a resource_changes list")
    changes = []
    for entry in plan.get("resource_changes", []):
        change = _resource_change(entry)
        if change is not None:
            changes.append(change)
    return changes


def read_drift(plan: Mapping[str, Any]) -> list[Drift]:
    """Every drifted attribute in ``resource_drift`` (a ``-refresh-only`` plan): resource, attribute, deployed and coded value.

    Left out: an attribute that goes from null to empty (``{}``, ``[]``, ``""``), which is the
    provider filling in its defaults on the first read, and a JSON string whose formatting alone
    differs. Neither is a change anyone made.
    """
    drifts = []
    for entry in plan.get("resource_drift", []):
        change = _resource_change(entry)
        if change is None:
            continue
        if change.actions == ("delete",):
            drifts.append(Drift(change.address, DELETED_PATH, coded="exists", deployed=DELETED, type=change.type))
        drifts += [Drift(change.address, d.path, coded=d.before, deployed=d.after, type=change.type) for d in change.diffs if not d.noise and not (_empty(d.before) and _empty(d.after))]
    return drifts


def prior_state_resources(plan: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Every managed resource of the plan's ``prior_state`` (the state as the plan's refresh read it): ``address -> (type, values)``."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    modules = [(plan.get("prior_state") or {}).get("values", {}).get("root_module") or {}]
    while modules:
        module = modules.pop()
        for resource in module.get("resources", []):
            if resource.get("mode", "managed") == "managed" and isinstance(resource.get("values"), Mapping):
                found[resource.get("address", "?")] = (resource.get("type", ""), resource["values"])
        modules += module.get("child_modules", [])
    return found


def action_counts(changes: list[ResourceChange]) -> Counter[str]:
    """How many changes of each ``ResourceChange.action`` (create, update, replace, delete, forget)."""
    return Counter(change.action for change in changes)


def review_plan(plan: Mapping[str, Any]) -> PlanReview:
    """Split the changes of a plan into real changes and emulator noise (``ResourceChange.is_noise``)."""
    changes = read_changes(plan)
    drifted = tuple(d.get("address", "?") for d in plan.get("resource_drift", []))
    return PlanReview(real=tuple(c for c in changes if not c.is_noise), noise=tuple(c for c in changes if c.is_noise), drifted=drifted)


def same_json_text(before: Any, after: Any) -> bool:
    """True when two different strings hold the same JSON value (whitespace and key order aside)."""
    if not (isinstance(before, str) and isinstance(after, str)) or before == after:
        return False
    try:
        return json.loads(before) == json.loads(after)
    except ValueError:
        return False


def path_text(path: list[Any]) -> str:
    """Terraform's path list (``["a", 0, "b"]``) as ``a[0].b``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "(resource)"


def value_at(value: Any, path: str) -> Any:
    """The value at ``a.b[0]`` inside a resource's before/after (None when absent)."""
    for key in split_path(path):
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and key < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def _resource_change(entry: Mapping[str, Any]) -> ResourceChange | None:
    change = entry.get("change", {})
    actions = list(change.get("actions", []))
    if actions in _NOT_A_CHANGE or entry.get("mode", "managed") != "managed":
        return None
    before, after = change.get("before"), change.get("after")
    unknown = change.get("after_unknown") or {}
    diffs: tuple[AttributeDiff, ...] = ()
    if isinstance(before, dict) and isinstance(after, dict):
        sensitive = _merge_masks(change.get("before_sensitive"), change.get("after_sensitive"))
        diffs = tuple(_diffs(before, after, unknown, sensitive, ""))
    return ResourceChange(
        address=entry.get("address", "?"),
        actions=tuple(actions),
        diffs=diffs,
        type=entry.get("type", ""),
        action_reason=entry.get("action_reason", ""),
        replace_paths=tuple(path_text(p) for p in change.get("replace_paths", []) or []),
        before=before,
        after=after,
        after_unknown=unknown,
        previous_address=entry.get("previous_address", ""),
    )


def _merge_masks(first: Any, second: Any) -> Any:
    """One sensitivity mask from before's and after's (``True`` wherever either marks a value)."""
    if first is True or second is True:
        return True
    if isinstance(first, dict) or isinstance(second, dict):
        a, b = (first if isinstance(first, dict) else {}), (second if isinstance(second, dict) else {})
        return {key: _merge_masks(a.get(key), b.get(key)) for key in set(a) | set(b)}
    if isinstance(first, list) or isinstance(second, list):
        x, y = (first if isinstance(first, list) else []), (second if isinstance(second, list) else [])
        return [_merge_masks(x[i] if i < len(x) else None, y[i] if i < len(y) else None) for i in range(max(len(x), len(y)))]
    return None


def _diffs(before: Any, after: Any, unknown: Any, sensitive: Any, path: str) -> Iterator[AttributeDiff]:
    where = path or "(resource)"
    if unknown is True:
        # Known only after apply: the provider would change it, whatever it becomes.
        yield AttributeDiff(where, SENSITIVE if sensitive is True else before, UNKNOWN, noise=False)
        return
    if isinstance(before, dict) and isinstance(after, dict):
        unknown = unknown if isinstance(unknown, dict) else {}
        sensitive = sensitive if isinstance(sensitive, dict) else {}
        for key in sorted(set(before) | set(after) | set(unknown)):
            yield from _diffs(before.get(key), after.get(key), unknown.get(key), sensitive.get(key), f"{path}.{key}" if path else key)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        unknown = unknown if isinstance(unknown, list) else []
        sensitive = sensitive if isinstance(sensitive, list) else []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _diffs(b, a, unknown[index] if index < len(unknown) else None, sensitive[index] if index < len(sensitive) else None, f"{path}[{index}]")
        return
    if before != after:
        if sensitive is True or _has_true(sensitive):
            yield AttributeDiff(where, SENSITIVE, SENSITIVE, noise=False)
        else:
            yield AttributeDiff(where, before, after, noise=same_json_text(before, after))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _has_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_has_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_true(v) for v in mask)
    return False


def split_path(path: str) -> list[str | int]:
    """``a.b[0].c`` as ``["a", "b", 0, "c"]`` (the inverse of ``path_text``)."""
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            keys.append(name)
        for index in filter(None, rest.replace("]", "").split("[")):
            keys.append(int(index))
    return keys


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
