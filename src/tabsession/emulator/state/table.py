"""`ItemTable`: the items of one kind on one site, in listing order, seeded lazily.

A seeded site of 100,000 workbooks does not hold 100,000 dicts: a seeded item is a pure function
of its position (`make(position)`), so the table keeps only its id and builds the dict when it is
needed. The dict is kept (it becomes *live*) as soon as someone may change it: `table[id]`,
`table.get(id)` and `table.values()` hand out live items that the caller may change in place.
Reads that change nothing use `peek`, `snapshot`, `page` and `scan`, which never keep what
they build.

Order is insertion order (seeded items first), as a dict's. Listing a page costs the page, not
the table: `page(start, stop)` slices the id list. Deleting is O(n) (a list removal), which is
fine for the rare deletes of an emulator.

`version` grows on every change and on every hand-out of a live item, so a cache of query
results keyed by it is never stale (see `SiteContent.list_page`).

`on_change(old, new)`, when given, hears of every item stored, replaced or removed through the
mapping (`table[id] = item`, `del table[id]`, `pop`, `delete_many`): `SiteContent` keeps its
counters and indexes with it, whoever writes. Changes made in place to a live item are not
heard (the caller handles what they move, such as an item's project).

Not thread-safe on its own: `SiteContent` holds its site lock around every use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

__all__ = ["Item", "ItemTable", "clone"]

Item = dict[str, Any]
_SCALARS = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A copy of plain dict/list data (much cheaper than `copy.deepcopy` for item-sized data)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else clone(v) for v in value]
    return value


class ItemTable(MutableMapping[str, Item]):
    """id → item, where the first `len(seed_ids)` items are built on demand by `make(position)`.

    `make` must return a new dict each time (the table may hand it out as a snapshot)."""

    __slots__ = ("_ids", "_live", "_make", "_seeded", "on_change", "version")

    def __init__(
        self,
        seed_ids: Sequence[str] = (),
        make: Callable[[int], Item] | None = None,
        on_change: Callable[[Item | None, Item | None], None] | None = None,
    ) -> None:
        if seed_ids and make is None:
            raise ValueError("seeded ids need a `make` function")
        self._ids: list[str] = list(seed_ids)
        self._seeded: dict[str, int] = {sid: pos for pos, sid in enumerate(self._ids)}
        self._make = make
        self._live: dict[str, Item] = {}
        self.on_change = on_change
        self.version = 0

    # -- reads that keep nothing -----------------------------------------------------------------

    def peek(self, item_id: str) -> Item | None:
        """The item, read-only: a live item itself, or a freshly built seeded one (not kept)."""
        item = self._live.get(item_id)
        if item is not None:
            return item
        pos = self._seeded.get(item_id)
        if pos is None or self._make is None:
            return None
        return self._make(pos)

    def snapshot(self, item_id: str) -> Item | None:
        """A copy the caller owns (one copy: a seeded item is built, a live one cloned)."""
        item = self._live.get(item_id)
        if item is not None:
            return clone(item)  # type: ignore[no-any-return]
        pos = self._seeded.get(item_id)
        if pos is None or self._make is None:
            return None
        return self._make(pos)

    def page(self, start: int, stop: int) -> list[Item]:
        """Snapshots of the items at positions start..stop-1 (cost: the page, not the table)."""
        out = []
        for item_id in self._ids[start:stop]:
            item = self.snapshot(item_id)
            if item is not None:
                out.append(item)
        return out

    def scan(self) -> Iterator[Item]:
        """Every item, read-only, in order (seeded ones built one at a time and not kept).

        The order is copied when `scan()` is called, so the iteration may go on without the
        lock held during the call: it reads only, and an item removed meanwhile is skipped."""
        return self._built(list(self._ids))

    def _built(self, ids: list[str]) -> Iterator[Item]:
        for item_id in ids:
            item = self.peek(item_id)
            if item is not None:
                yield item

    def ids(self) -> list[str]:
        """The ids in order (a copy)."""
        return list(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._live or item_id in self._seeded

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._ids))

    # -- live items (the caller may change them in place) ----------------------------------------

    def __getitem__(self, item_id: str) -> Item:
        item = self._live.get(item_id)
        if item is None:
            pos = self._seeded.get(item_id)
            if pos is None or self._make is None:
                raise KeyError(item_id)
            item = self._make(pos)
            self._live[item_id] = item
        self.version += 1
        return item

    def __setitem__(self, item_id: str, item: Item) -> None:
        old = self.peek(item_id)
        if old is None:
            self._ids.append(item_id)
        self._live[item_id] = item
        self.version += 1
        if self.on_change is not None:
            self.on_change(old, item)

    def __delitem__(self, item_id: str) -> None:
        old = self.peek(item_id)
        if old is None:
            raise KeyError(item_id)
        self._live.pop(item_id, None)
        self._seeded.pop(item_id, None)
        self._ids.remove(item_id)
        self.version += 1
        if self.on_change is not None:
            self.on_change(old, None)

    def delete_many(self, doomed: set[str]) -> int:
        """Remove all of `doomed` in one pass over the order (O(n) once, not per item)."""
        present = {d for d in doomed if d in self}
        if not present:
            return 0
        gone = [self.peek(item_id) for item_id in present]
        for item_id in present:
            self._live.pop(item_id, None)
            self._seeded.pop(item_id, None)
        self._ids = [i for i in self._ids if i not in present]
        self.version += 1
        if self.on_change is not None:
            for old in gone:
                self.on_change(old, None)
        return len(present)

    @property
    def live_count(self) -> int:
        """How many items are held as dicts (the rest are built on demand)."""
        return len(self._live)
