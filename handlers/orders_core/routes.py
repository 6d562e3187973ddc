"""The REST API's routes, read from THE route table (``schemas/routes.json``, next to the order schema).

One table, three readers: the ``OrdersRestApi`` construct builds API Gateway's resources, methods,
integrations and permissions from it; the API handler dispatches by it; the local API serves
exactly it. Standard library only: the stack and the local pipeline import this module as
``handlers.orders_core.routes`` without loading the handlers' dependencies (or jsii), and the
Lambda package carries the JSON file next to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The route table, shipped in the Lambda package (``schemas/`` beside ``order.schema.json``).
ROUTES_FILE = Path(__file__).resolve().parent.parent / "schemas" / "routes.json"

#: HTTP methods a route may use (API Gateway's, without its catch-all ``ANY``).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_OPERATION = re.compile(r"^[a-z_][a-z0-9_]*$")
_PARAMETER = re.compile(r"^\{([A-Za-z][A-Za-z0-9_]*)\}$")
#: A literal path segment: characters API Gateway accepts in a resource's path part.
_LITERAL = re.compile(r"^[A-Za-z0-9._~-]+$")
_FIELDS = {"id": str, "method": str, "path": str, "operation": str, "validateBody": bool}


class RouteTableError(ValueError):
    """The route table is invalid; the message names every problem, the value and the fix."""

    def __init__(self, problems: Sequence[str], source: str) -> None:
        self.problems = tuple(problems)
        super().__init__(f"invalid route table {source}:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Route:
    """One route: an HTTP method on a path, proxied to the API handler's ``operation``."""

    id: str
    """Stable construct-id fragment (``post-orders``): part of the stack's public contract."""
    http_method: str
    path: str
    """Resource path with ``{param}`` placeholders, e.g. ``/orders/{orderId}`` (API Gateway's ``resource``)."""
    operation: str
    """Name of the API handler's function that serves the route."""
    validate_body: bool = False
    """API Gateway validates the JSON body against the order model before invoking the handler."""

    @property
    def segments(self) -> tuple[str, ...]:
        """The path's segments, placeholders included (``("orders", "{orderId}")``)."""
        return tuple(self.path.strip("/").split("/"))

    @property
    def path_parameters(self) -> tuple[str, ...]:
        """Names of the ``{param}`` placeholders, in order."""
        return tuple(m.group(1) for m in map(_PARAMETER.match, self.segments) if m)

    @property
    def source_arn_path(self) -> str:
        """The path as it appears in an execute-api ARN (``{param}`` -> ``*``)."""
        return "/" + "/".join("*" if _PARAMETER.match(s) else s for s in self.segments)

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters when ``segments`` (a request path, split) fit this route's path, else None.

        Literal segments must be equal; a parameter takes one non-empty segment, as given (the
        caller decides about percent-decoding).
        """
        template = self.segments
        if len(segments) != len(template):
            return None
        found: dict[str, str] = {}
        for want, got in zip(template, segments, strict=True):
            parameter = _PARAMETER.match(want)
            if parameter is None:
                if want != got:
                    return None
            elif got == "":
                return None
            else:
                found[parameter.group(1)] = got
        return found


def _entry_problems(index: int, entry: Any) -> list[str]:
    where = f"routes[{index}]"
    if not isinstance(entry, dict):
        return [f'{where}: must be an object (given {entry!r}). Fix: write {{"id", "method", "path", "operation", "validateBody"}}']
    problems = [f"{where}.{key}: unknown field (given {entry[key]!r}). Fix: use only {', '.join(_FIELDS)}" for key in entry if key not in _FIELDS]
    for key, kind in _FIELDS.items():
        if not isinstance(entry.get(key), kind):
            problems.append(f"{where}.{key}: must be a {kind.__name__} (given {entry.get(key)!r}). Fix: set it")
    if problems:
        return problems
    if not _ID.match(entry["id"]):
        problems.append(f"{where}.id: must be lower-case letters, digits and hyphens (given {entry['id']!r}). Fix: e.g. 'get-order'")
    if entry["method"] not in HTTP_METHODS:
        problems.append(f"{where}.method: is not an HTTP method (given {entry['method']!r}). Fix: use one of {', '.join(HTTP_METHODS)}")
    if not _OPERATION.match(entry["operation"]):
        problems.append(f"{where}.operation: must be a Python function name (given {entry['operation']!r}). Fix: name the handler's function")
    path = entry["path"]
    segments = path[1:].split("/") if path.startswith("/") else []
    names = [m.group(1) for m in map(_PARAMETER.match, segments) if m]
    if not segments or any(not (_LITERAL.match(s) or _PARAMETER.match(s)) for s in segments) or len(names) != len(set(names)):
        problems.append(f"{where}.path: must be '/'-separated literal segments or distinct {{param}} placeholders (given {path!r}). Fix: e.g. '/orders/{{orderId}}'")
    return problems


def _table_problems(routes: Sequence[Route]) -> list[str]:
    problems = []
    for attribute in ("id", "operation"):
        values = [getattr(route, attribute) for route in routes]
        problems += [f"{attribute} {value!r}: used by two routes. Fix: give each route its own" for value in sorted({v for v in values if values.count(v) > 1})]
    pairs = [(route.http_method, route.path) for route in routes]
    problems += [f"{m} {p}: defined twice. Fix: keep one" for m, p in sorted({pair for pair in pairs if pairs.count(pair) > 1})]
    # API Gateway has one resource per path prefix: a placeholder's name is fixed at its level.
    placeholders: dict[str, str] = {}
    for route in routes:
        for depth, segment in enumerate(route.segments):
            parameter = _PARAMETER.match(segment)
            if parameter:
                prefix = "/".join(route.segments[:depth])
                seen = placeholders.setdefault(prefix, segment)
                if seen != segment:
                    problems.append(f"{route.path}: {segment} where another route has {seen} at /{prefix}. Fix: use one name per level")
    return problems


def parse_routes(document: Any, *, source: str = "routes.json") -> tuple[Route, ...]:
    """The routes of a route-table document (``{"routes": [...]}``); ``RouteTableError`` names every problem."""
    entries = document.get("routes") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise RouteTableError([f"routes: must be a non-empty list (given {entries!r}). Fix: list at least one route"], source)
    problems = [problem for index, entry in enumerate(entries) for problem in _entry_problems(index, entry)]
    if problems:
        raise RouteTableError(problems, source)
    routes = tuple(Route(id=e["id"], http_method=e["method"], path=e["path"], operation=e["operation"], validate_body=e["validateBody"]) for e in entries)
    problems = _table_problems(routes)
    if problems:
        raise RouteTableError(problems, source)
    return routes


def load_routes(path: Path = ROUTES_FILE) -> tuple[Route, ...]:
    """The routes of the table file at ``path`` (default: the shipped one), validated."""
    return parse_routes(json.loads(path.read_text(encoding="utf-8")), source=str(path))


#: The API's routes, in table order.
ROUTES: tuple[Route, ...] = load_routes()


def routes_at(path: str) -> tuple[Route, ...]:
    """Every route on one resource path (its methods), in table order; empty for an unknown path."""
    return tuple(route for route in ROUTES if route.path == path)
