"""The soak's moto server: stock moto, but a DynamoDB transaction costs what it touches, not the whole table.

Run as its own process: ``python -m local_pipeline.soak_moto -H 127.0.0.1 -p <port>`` (the soak's
``LocalPipelineOptions(moto_server_module=...)``). The patch changes moto, never the stack or the
handlers: ``tests/local_pipeline/test_soak_moto.py`` shows on stock moto that the gap is real (so a
moto upgrade that fixes it fails that test and the patch can go) and that the patched transaction
still rolls back what it touched.

The gap: moto 5.2.5's ``transact_write_items`` snapshots a table by deep-copying ALL of it, once
per item of the transaction, to roll back on a cancelled transaction. The processor marks every
batch's events published with one TransactWriteItems of up to ten Updates, so with ten thousand
stored orders each mark copied the table ten times: seconds per call, the processor ran out of its
deadline, and the soak measured moto's copying instead of the pipeline (a 10,000-order run stored
fewer than 3,000 in 34 minutes, the rest failing to the DLQ). A rollback that also overwrote writes
other requests made meanwhile is gone too: only the items the transaction touches are restored.
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
from typing import Any

#: Every patch applied, as (moto behaviour, what the patch does).
PATCHES: tuple[tuple[str, str], ...] = (
    (
        "DynamoDB TransactWriteItems deep-copies every table it names, once per item, to roll back (moto 5.2.5)",
        "snapshot only the items the transaction touches, and restore only those on a cancelled transaction",
    ),
)

_inside = threading.local()


class _CopyWithoutTableSnapshots:
    """moto's ``copy`` module as ``transact_write_items`` sees it: a Table "deep copy" is the table itself
    while a patched transaction runs (its own item snapshots do the rollback)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_inside, "transaction", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """(table, hash key, deep copy of what it holds now or None) for every item the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    out = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue
        key = operation.get("Item") if "Item" in operation else operation.get("Key", {})
        if table.hash_key_attr not in (key or {}):
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        held = table.items.get(hash_value)
        out.append((table, hash_value, copy.deepcopy(held) if held is not None else None))
    return out


def apply_patches() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_soak_patched", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _touched(self, transact_items)
        _inside.transaction = True
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, held in snapshots:
                if held is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = held
            raise
        finally:
            _inside.transaction = False

    # moto internals, patched in the soak's own server only (docs/faults.md): mypy rightly sees
    # a module attribute and a method being replaced.
    dynamodb_models.copy = _CopyWithoutTableSnapshots()  # type: ignore[assignment]  # moto internals: see above
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]  # moto internals: see above
    DynamoDBBackend._soak_patched = True  # type: ignore[attr-defined]  # marks the patch as applied (idempotent)


def main(argv: list[str] | None = None) -> int:
    """Start moto's server with the patches (arguments as ``moto_server``)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    apply_patches()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
