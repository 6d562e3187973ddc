"""Which attributes of a resource the code can set, from the provider's own schema (``terraform providers schema -json``).

The drift check needs it to tell a setting that changed from a value the provider computes: an
event source mapping's ``state`` follows its ``enabled``, a function's ``last_modified`` follows any
update. The schema says which is which for every resource type, the ones a stack gains later too,
so nothing here lists attributes by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rehearsal.plan_review import split_path

#: The provider whose resource schemas are read.
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"


class SchemaError(ValueError):
    """The document is not what ``terraform providers schema -json`` prints, or lacks the provider."""


@dataclass(frozen=True)
class ProviderSchema:
    """The resource schemas of one provider: ``type -> block`` (attributes and nested block types)."""

    blocks: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_json(cls, document: Any, types: Iterable[str] | None = None) -> ProviderSchema:
        """Read ``terraform providers schema -json`` output (or a trimmed copy of it); ``types`` keeps only those."""
        try:
            schemas = document["provider_schemas"][PROVIDER_ADDRESS]["resource_schemas"]
        except (KeyError, TypeError):
            raise SchemaError(f"no resource schemas of {PROVIDER_ADDRESS}: expected the output of `terraform providers schema -json` in the stack's folder") from None
        wanted = None if types is None else set(types)
        return cls({rtype: entry.get("block", {}) for rtype, entry in schemas.items() if wanted is None or rtype in wanted})

    def knows(self, rtype: str) -> bool:
        """True when the schema holds this resource type."""
        return rtype in self.blocks

    def settable(self, rtype: str, path: str) -> bool | None:
        """True when the configuration can set the attribute at ``path`` (``a.b[0].c``), False when only the provider computes it, None when unknown."""
        node: Mapping[str, Any] | None = self.blocks.get(rtype)
        if node is None:
            return None
        for key in split_path(path):
            if isinstance(key, int):
                continue
            attributes = node.get("attributes") or {}
            if key in attributes:
                attribute = attributes[key]
                nested = attribute.get("nested_type")
                if nested and not (attribute.get("required") or attribute.get("optional")):
                    return False
                if nested:
                    node = nested
                    continue
                return bool(attribute.get("required") or attribute.get("optional"))
            block_types = node.get("block_types") or {}
            if key not in block_types:
                return None
            node = block_types[key].get("block") or {}
        return True  # the path ends at a block (or a nested object), which only configuration creates

    def as_json(self) -> dict[str, Any]:
        """The same document shape ``from_json`` reads, holding only these types (for recorded test fixtures)."""
        return {"format_version": "1.0", "provider_schemas": {PROVIDER_ADDRESS: {"resource_schemas": {t: {"block": b} for t, b in sorted(self.blocks.items())}}}}


def trimmed_json(schema: ProviderSchema) -> str:
    """``as_json`` without descriptions, compact: what a fixture keeps."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("description", "description_kind", "deprecated")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(schema.as_json()), sort_keys=True, separators=(",", ":")) + "\n"
