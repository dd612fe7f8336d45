"""Reading paged answers and planning the pages still to fetch. Pure logic.

A Tableau list answer is `{"pagination": {"pageNumber", "pageSize", "totalAvailable"},
"workbooks": {"workbook": [...]}}` (numbers as strings; an empty collection may be `{}`).
Once page 1 has said how many items exist, every other page is known in advance, so the clients
fetch them concurrently (in a bounded window, yielding items in page order).

`totalAvailable` is a claim, not a promise: listing stops at the first empty or short page
whatever it says (`PagePlan`), so a bogus total costs at most one window of extra requests.
`Pages` / `AsyncPages` are what `paginate()` returns: iterators that also expose that total.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tabsession.errors import ConfigurationError, TableauError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "AsyncPages",
    "PageInfo",
    "PagePlan",
    "Pages",
    "check_page_size",
    "last_page",
    "later_pages_params",
    "read_page",
]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE
"""The API's maximum: fewest round trips (Tableau answers 1000 items about as fast as 100)."""

T = TypeVar("T")


@dataclass(frozen=True)
class PageInfo:
    number: int
    size: int
    total: int


OnFirstPage = Callable[[PageInfo | None], None]
"""Called by a listing once page 1 is read, with its pagination (None: not a paged answer)."""


def check_page_size(page_size: int) -> int:
    if not isinstance(page_size, int) or isinstance(page_size, bool):
        raise ConfigurationError("page_size must be an integer")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConfigurationError(
            f"page_size must be between 1 and {MAX_PAGE_SIZE} (Tableau's limit)"
        )
    return page_size


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value in (None, {}, "") else [value]


def _items(data: dict[str, Any], key: str | None) -> list[Any]:
    for outer, value in data.items():
        if outer == "pagination":
            continue
        if key is not None and outer == key:
            return _as_list(value) if not isinstance(value, dict) else _collection(value, None)
        if isinstance(value, dict):
            found = _collection(value, key)
            if found or key is None:
                return found
    if key is not None:
        raise TableauError(f"the answer has no collection named {key!r}")
    return []


def _collection(value: dict[str, Any], key: str | None) -> list[Any]:
    if not value:
        return []
    if key is not None:
        return _as_list(value.get(key)) if key in value else []
    if len(value) == 1:
        return _as_list(next(iter(value.values())))
    lists = [v for v in value.values() if isinstance(v, list)]
    return lists[0] if len(lists) == 1 else []


def read_page(data: Any, key: str | None = None) -> tuple[list[Any], PageInfo | None]:
    """The items of one page and its pagination (None when the endpoint does not page).

    `key` names the collection when the answer holds several (`"workbook"` or `"workbooks"`).
    """
    if not isinstance(data, dict):
        raise TableauError("a list endpoint answered with something other than a JSON object")
    items = _items(data, key)
    pagination = data.get("pagination")
    if not isinstance(pagination, dict):
        return items, None
    try:
        info = PageInfo(
            int(pagination["pageNumber"]),
            int(pagination["pageSize"]),
            int(pagination["totalAvailable"]),
        )
    except (KeyError, TypeError, ValueError):
        return items, None
    return items, info


def later_pages_params(base: Mapping[str, Any], info: PageInfo) -> dict[str, Any]:
    """Parameters for pages 2 and on: with the page size the server used for page 1 (it may cap
    what was asked), so that page numbers line up with the items page 1 announced."""
    if info.size > 0 and str(base.get("pageSize")) != str(info.size):
        return {**base, "pageSize": info.size}
    return dict(base)


def last_page(info: PageInfo) -> int:
    """The number of the last page (1 when there is nothing)."""
    if info.size <= 0:
        return info.number
    return max(1, -(-info.total // info.size))


class PagePlan:
    """Which page to fetch next, after page 1. Pages are handed to `record` in order; the plan
    ends at the last page `totalAvailable` implies, or earlier, at the first page that is empty
    or shorter than the page size, whatever the total claims. A page announcing a larger total
    (content grew meanwhile) extends the plan."""

    def __init__(self, first: PageInfo, first_count: int) -> None:
        self.size = first.size
        self.last = last_page(first)
        self.next = first.number + 1
        self.done = self._ends(first_count)

    def _ends(self, count: int) -> bool:
        return self.size <= 0 or count == 0 or count < self.size

    def take(self) -> int | None:
        """The number of the next page to request, or None when no more are needed."""
        if self.done or self.next > self.last:
            return None
        number, self.next = self.next, self.next + 1
        return number

    def record(self, info: PageInfo | None, count: int) -> None:
        """Page results, in page order. Pages requested after an ending one are not needed."""
        if self._ends(count):
            self.done = True
        elif info is not None:
            self.last = max(self.last, last_page(info))

    @property
    def finished(self) -> bool:
        return self.done or self.next > self.last


class Pages(Generic[T]):
    """What `Client.paginate()` returns: an iterator over every item, which also says how many
    items the server announced. `total` is None until page 1 has been read (and for endpoints
    that do not page); `fetch_total()` reads page 1 now, for a progress bar, without losing
    any item. `close()` stops fetching (also done when the iterator is garbage-collected)."""

    def __init__(self, items: Callable[[OnFirstPage], Iterator[T]]) -> None:
        self._items = items(self._first_page)
        self._peeked: list[T] = []
        self._exhausted = False
        self._first_read = False
        self.total: int | None = None

    def _first_page(self, info: PageInfo | None) -> None:
        self._first_read = True
        self.total = None if info is None else info.total

    def __iter__(self) -> Pages[T]:
        return self

    def __next__(self) -> T:
        if self._peeked:
            return self._peeked.pop()
        if self._exhausted:
            raise StopIteration
        try:
            return next(self._items)
        except StopIteration:
            self._exhausted = True
            raise

    def fetch_total(self) -> int | None:
        """Read page 1 if not done yet and return the announced total (None if not paged)."""
        if not (self._peeked or self._exhausted or self._first_read):
            try:
                self._peeked.append(next(self._items))
            except StopIteration:
                self._exhausted = True
        return self.total

    def close(self) -> None:
        close = getattr(self._items, "close", None)
        if callable(close):
            close()


class AsyncPages(Generic[T]):
    """The asyncio twin of `Pages`: `async for item in pages`, `pages.total`,
    `await pages.fetch_total()`, `await pages.aclose()` (stops the pages being fetched)."""

    def __init__(self, items: Callable[[OnFirstPage], AsyncIterator[T]]) -> None:
        self._items = items(self._first_page)
        self._peeked: list[T] = []
        self._exhausted = False
        self._first_read = False
        self.total: int | None = None

    def _first_page(self, info: PageInfo | None) -> None:
        self._first_read = True
        self.total = None if info is None else info.total

    def __aiter__(self) -> AsyncPages[T]:
        return self

    async def __anext__(self) -> T:
        if self._peeked:
            return self._peeked.pop()
        if self._exhausted:
            raise StopAsyncIteration
        try:
            return await self._items.__anext__()
        except StopAsyncIteration:
            self._exhausted = True
            raise

    async def fetch_total(self) -> int | None:
        """Read page 1 if not done yet and return the announced total (None if not paged)."""
        if not (self._peeked or self._exhausted or self._first_read):
            try:
                self._peeked.append(await self._items.__anext__())
            except StopAsyncIteration:
                self._exhausted = True
        return self.total

    async def aclose(self) -> None:
        aclose = getattr(self._items, "aclose", None)
        if callable(aclose):
            await aclose()
