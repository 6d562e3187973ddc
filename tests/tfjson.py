"""Small helpers to query synthesized Terraform JSON in tests."""

from __future__ import annotations

import json
import re
from typing import Any


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    """All resources of one Terraform type, by logical name."""
    return doc.get("resource", {}).get(rtype, {})


def only(doc: dict, rtype: str) -> tuple[str, dict]:
    """The single resource of a type; fails when there are zero or several."""
    found = resources(doc, rtype)
    assert len(found) == 1, f"expected exactly one {rtype}, found {sorted(found)}"
    return next(iter(found.items()))


def find(doc: dict, rtype: str, **match: Any) -> tuple[str, dict]:
    """The single resource of a type whose attributes equal ``match``."""
    hits = [(n, r) for n, r in resources(doc, rtype).items() if all(r.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, f"expected one {rtype} with {match}, found {[n for n, _ in hits]}"
    return hits[0]


def ref(rtype: str, name: str, attr: str) -> str:
    """The interpolation string Terraform uses for a resource attribute."""
    return "${" + f"{rtype}.{name}.{attr}" + "}"


def data_sources(doc: dict, dtype: str) -> dict[str, dict]:
    """All data sources of one type, by logical name."""
    return doc.get("data", {}).get(dtype, {})


def policy(value: str) -> dict:
    """Parse a JSON policy document attribute (tokens stay as ${...} strings)."""
    return json.loads(value)


def refs_in(value: Any) -> set[str]:
    """Every ``type.name`` a value refers to through ${...} interpolations."""
    text = json.dumps(value)
    return set(re.findall(r"\$\{(?:data\.)?([a-z0-9_]+\.[A-Za-z0-9_-]+)", text))
