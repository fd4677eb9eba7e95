"""Fix for moto 5.2.5's DynamoDB under concurrent requests (its threaded server runs them in parallel).

Query, Scan and index reads iterate a table's item dict while other requests insert into it, which raises
"dictionary changed size during iteration" and answers 500 (seen under the regional sync's host-log
writes). The readers here iterate a snapshot; taking it (`list(d.values())`) is atomic under the GIL.
"""

from __future__ import annotations

from typing import Any

_patched = False


def _snapshot(table: Any) -> list[Any]:
    """Every item of a moto Table, from snapshots of its (nested) item dicts."""
    items: list[Any] = []
    for hash_set in list(table.items.values()):
        if table.range_key_attr:
            items.extend(list(hash_set.values()))
        else:
            items.append(hash_set)
    return items


def _all_items(self: Any) -> list[Any]:
    return sorted(
        _snapshot(self), key=lambda item: (item.hash_key, item.range_key) if item.range_key else item.hash_key
    )


def _has_idx_items(self: Any, index_name: str) -> list[Any]:
    index_columns = {key["AttributeName"] for key in self.get_index(index_name).schema}
    return [item for item in _snapshot(self) if index_columns.issubset(set(item.attrs))]


def _len(self: Any) -> int:
    return sum(len(value) if self.has_range_key else 1 for value in list(self.items.values()))


def apply() -> None:
    """Idempotent: table reads iterate snapshots of the item dicts."""
    global _patched  # noqa: PLW0603 - patching is process-global by nature
    if _patched:
        return
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - moto is slow to import

    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.has_idx_items = _has_idx_items  # type: ignore[method-assign]
    Table.__len__ = _len  # type: ignore[method-assign]
    _patched = True
