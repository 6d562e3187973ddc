"""How a policy change widens access: the actions, principals and resources an IAM-style policy gains.

A policy document (IAM, key, queue, topic or API policy) is read as a set of grants: one per
(effect, principal, action, resource, conditions) of each statement. A change widens access when
the new document allows a grant the old one did not: a new action, principal or resource, or a
known one under other (or no) conditions; or when it drops a Deny. Only widening is reported:
removing a grant is routine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple


class Grant(NamedTuple):
    """One (principal, action, resource) a statement allows or denies, under its conditions."""

    effect: str
    principal: str
    action: str
    resource: str
    conditions: str


def parse_policy(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string or an object; None when absent or not a policy."""
    if value is None or value == "":
        return {"Statement": []}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def grants(document: dict[str, Any]) -> set[Grant]:
    """Every grant of the document's statements (``NotAction``/``NotResource``/``NotPrincipal`` kept as one wide value)."""
    statements = document.get("Statement", [])
    found: set[Grant] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            continue
        effect = str(statement.get("Effect", "Allow"))
        conditions = json.dumps(statement.get("Condition", {}), sort_keys=True)
        for principal in _principals(statement):
            for action in _values(statement, "Action", lower=True):
                for resource in _values(statement, "Resource"):
                    found.add(Grant(effect, principal, action, resource, conditions))
    return found


def widening(before: Any, after: Any) -> list[str]:
    """Why ``after`` allows more than ``before`` (empty when it does not), one short reason each."""
    old, new = parse_policy(before), parse_policy(after)
    if new is None:
        return ["the new policy is not a JSON policy document: review it in the plan"]
    old_grants = grants(old) if old is not None else set()
    new_grants = grants(new)
    old_allow = {g for g in old_grants if g.effect == "Allow"}
    gained = {g for g in new_grants if g.effect == "Allow"} - old_allow
    reasons = []
    for label, field in (("actions", "action"), ("principals", "principal"), ("resources", "resource")):
        known = {getattr(g, field) for g in old_allow}
        added = sorted({getattr(g, field) for g in gained} - known)
        if added:
            reasons.append(f"gains {label} {_listing(added)}")
    if not reasons:
        reconditioned = sorted({g.action for g in gained if any((o.principal, o.action, o.resource) == (g.principal, g.action, g.resource) for o in old_allow)})
        if reconditioned:
            reasons.append(f"changes the conditions on {_listing(reconditioned)}")
        elif gained:
            reasons.append(f"allows {_listing(sorted({g.action for g in gained}))} for principals or resources they were not allowed for")
    dropped = {g for g in old_grants if g.effect == "Deny"} - {g for g in new_grants if g.effect == "Deny"}
    if dropped:
        reasons.append(f"drops a deny of {_listing(sorted({g.action for g in dropped}))}")
    return reasons


def _principals(statement: dict[str, Any]) -> list[str]:
    if "NotPrincipal" in statement:
        return ["NOT " + json.dumps(statement["NotPrincipal"], sort_keys=True)]
    principal = statement.get("Principal")
    if principal is None:
        return ["(the policy's owner)"]  # identity policies: the role or user they are attached to
    if isinstance(principal, str):
        return [principal]
    found = []
    for kind, values in sorted(principal.items()) if isinstance(principal, dict) else []:
        found += [f"{kind}:{value}" for value in (values if isinstance(values, list) else [values])]
    return found or [json.dumps(principal, sort_keys=True)]


def _values(statement: dict[str, Any], key: str, lower: bool = False) -> list[str]:
    if f"Not{key}" in statement:
        values = statement[f"Not{key}"]
        return ["NOT " + ",".join(sorted(_as_list(values)))]
    values = _as_list(statement.get(key, "*" if key == "Resource" else []))
    # IAM compares action names without regard to case.
    return [v.lower() if lower else v for v in values] or ["(none)"]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _listing(items: Iterable[str], limit: int = 6) -> str:
    items = list(items)
    shown = ", ".join(f"`{item}`" for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
