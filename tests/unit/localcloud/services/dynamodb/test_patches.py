"""moto's DynamoDB reads survive writes landing while they iterate (its server runs requests in parallel)."""

from __future__ import annotations

from typing import Any, ClassVar

from localcloud.services.dynamodb import patches as dynamodb_patches


class _Item:
    """An item whose attributes are read mid-iteration; reading the first one inserts another item,
    as a concurrent PutItem would."""

    def __init__(self, key: str, table: Any) -> None:
        self.hash_key, self.range_key, self._table = key, None, table

    @property
    def attrs(self) -> dict[str, Any]:
        if len(self._table.items) < 3:
            self._table.items[f"late-{len(self._table.items)}"] = _Item("late", self._table)
        return {"Id": self.hash_key, "IdempotencyKey": "k"}


class _Index:
    schema: ClassVar[list[dict[str, str]]] = [{"AttributeName": "IdempotencyKey", "KeyType": "HASH"}]


class _Table:
    range_key_attr = None
    has_range_key = False

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.items["a"] = _Item("a", self)

    def get_index(self, name: str) -> _Index:
        return _Index()


def test_an_index_read_iterates_a_snapshot_while_a_write_lands() -> None:
    # GIVEN a table that gains an item while its items are being read
    dynamodb_patches.apply()
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    table = _Table()
    # WHEN the index's items are read (the unpatched moto raises "dictionary changed size")
    found = Table.has_idx_items(table, "IdempotencyIndex")  # type: ignore[arg-type]
    # THEN the read answers what was there when it started; the late item is in the table for the next
    assert [item.hash_key for item in found] == ["a"]
    assert len(table.items) == 2
