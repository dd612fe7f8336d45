"""Reading paged answers and planning the pages still to fetch. Pure logic.

A Tableau list answer is `{"pagination": {"pageNumber", "pageSize", "totalAvailable"},
"workbooks": {"workbook": [...]}}` (numbers as strings; an empty collection may be `{}`).
Once page 1 has said how many items exist, every other page is known in advance, so the clients
fetch them concurrently (in a bounded window, yielding items in page order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tabsession.errors import ConfigurationError, TableauError

__all__ = [
    "MAX_PAGE_SIZE",
    "PageInfo",
    "check_page_size",
    "last_page",
    "later_pages_params",
    "read_page",
]

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageInfo:
    number: int
    size: int
    total: int


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
