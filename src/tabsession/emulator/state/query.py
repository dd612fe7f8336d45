"""Listing: filter, sort, page and pick fields, the same way for every kind of content.

Syntax (as TSC and the REST reference send it, already URL-decoded):
- `filter=name:eq:Sales,createdAt:gt:2024-01-01T00:00:00Z,tags:in:[a,b]` with operators
  eq, in, gt, gte, lt, lte, has, cieq;
- `sort=name:asc,updatedAt:desc`;
- `fields=_all_` | `_default_` | `_default_,extra` | `id,name` | `project.name`: `_all_`,
  `_default_` (alone or with extras) and no `fields` give every attribute the emulator has; a
  plain list keeps only the named attributes (and `id`), `child.attr` keeps one attribute of a
  child element (`workbook.name` names the item's own attribute), unknown names are ignored
  (TSC's QuerySet sends `_,a,d,e,f,l,t,u,...` by mistake);
- `pageSize` 1..1000 (default 100), `pageNumber` from 1 (default 1). `totalAvailable` counts the
  filtered items; asking for a page past the last one is 400006, except page 1 of nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tabsession.emulator.state.errors import ApiError

__all__ = [
    "Field",
    "Page",
    "Query",
    "Selection",
    "field_selection",
    "matches",
    "page_bounds",
    "parse_query",
    "run_query",
    "select_fields",
    "select_ids",
]

Selection = dict[str, set[str] | None]
"""What `fields=` keeps: top-level key → None (all of it) or the attributes of that child."""

FieldType = Literal["str", "int", "datetime", "bool", "list"]
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_OPERATORS = ("eq", "in", "gt", "gte", "lt", "lte", "has", "cieq")


@dataclass(frozen=True)
class Field:
    """A filterable, sortable field: how to read it from an item, and its type."""

    get: Callable[[Mapping[str, Any]], Any]
    type: FieldType = "str"


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str | tuple[str, ...]


@dataclass(frozen=True)
class Query:
    page_size: int = DEFAULT_PAGE_SIZE
    page_number: int = 1
    conditions: tuple[Condition, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    fields: tuple[str, ...] = ("_default_",)


@dataclass(frozen=True)
class Page:
    items: list[Mapping[str, Any]]
    page_number: int
    page_size: int
    total: int


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside [...]."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p != ""]


def _positive_int(raw: str | None, default: int, error: ApiError) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error from None
    if value < 1:
        raise error
    return value


def parse_query(params: Mapping[str, str], fields: Mapping[str, Field]) -> Query:
    """Validate query parameters against a kind's fields; errors are Tableau's 400/403s."""
    page_size = _positive_int(
        params.get("pageSize"), DEFAULT_PAGE_SIZE, ApiError.invalid_page_size()
    )
    if page_size > MAX_PAGE_SIZE:
        raise ApiError.page_size_limit()
    page_number = _positive_int(params.get("pageNumber"), 1, ApiError.invalid_page_number())
    conditions = []
    for expression in _split_top_level(params.get("filter", "")):
        name, sep, rest = expression.partition(":")
        op, sep2, value = rest.partition(":")
        if not sep or not sep2:
            raise ApiError.bad_query(f"Invalid filter expression '{expression}'.")
        if name not in fields:
            raise ApiError.bad_query(f"The filter field '{name}' is not supported.")
        if op not in _OPERATORS:
            raise ApiError.bad_query(f"The filter operator '{op}' is not supported.")
        if op == "in":
            if not (value.startswith("[") and value.endswith("]")):
                raise ApiError.bad_query("The 'in' operator takes a list: field:in:[a,b].")
            conditions.append(Condition(name, op, tuple(v for v in value[1:-1].split(",") if v)))
        else:
            conditions.append(Condition(name, op, value))
    sort = []
    for expression in _split_top_level(params.get("sort", "")):
        name, _, direction = expression.partition(":")
        direction = direction or "asc"
        if name not in fields:
            raise ApiError.bad_query(f"The sort field '{name}' is not supported.")
        if direction not in ("asc", "desc"):
            raise ApiError.bad_query(f"The sort direction '{direction}' is not supported.")
        sort.append((name, direction == "desc"))
    wanted = tuple(_split_top_level(params.get("fields", ""))) or ("_default_",)
    return Query(page_size, page_number, tuple(conditions), tuple(sort), wanted)


def _coerce(value: Any, kind: FieldType) -> Any:
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if kind == "bool":
        return str(value).lower() == "true"
    return "" if value is None else str(value)


def _test(condition: Condition, actual: Any, kind: FieldType) -> bool:
    op, expected = condition.op, condition.value
    if kind == "list":
        values = [str(v) for v in (actual or [])]
        if op == "in":
            return any(v in values for v in expected)
        if op == "cieq":
            return any(v.lower() == str(expected).lower() for v in values)
        return str(expected) in values  # eq and has both mean "contains this tag"
    if op == "in":
        return any(_coerce(actual, kind) == _coerce(v, kind) for v in expected)
    if op == "cieq":
        return str(actual).lower() == str(expected).lower()
    if op == "has":
        return str(expected).lower() in str(actual).lower()
    left, right = _coerce(actual, kind), _coerce(expected, kind)
    if left is None or right is None:
        return False
    if op == "eq":
        return bool(left == right)
    comparisons = {
        "gt": lambda: left > right,
        "gte": lambda: left >= right,
        "lt": lambda: left < right,
        "lte": lambda: left <= right,
    }
    return bool(comparisons[op]())


def matches(item: Mapping[str, Any], query: Query, fields: Mapping[str, Field]) -> bool:
    """Whether `item` passes every filter condition of `query`."""
    return all(_test(c, fields[c.field].get(item), fields[c.field].type) for c in query.conditions)


def _sort_keys(
    item: Mapping[str, Any], query: Query, fields: Mapping[str, Field]
) -> tuple[Any, ...]:
    keys = []
    for name, _ in query.sort:
        f = fields[name]
        keys.append((_coerce(f.get(item), f.type) is None, _sort_key(f, item)))
    return tuple(keys)


def _ordered(rows: list[tuple[Any, tuple[Any, ...]]], query: Query) -> list[Any]:
    """Stable sort of (value, keys) rows by each sort field, last field first."""
    for index in reversed(range(len(query.sort))):

        def key(row: tuple[Any, tuple[Any, ...]], i: int = index) -> Any:
            return row[1][i]

        rows.sort(key=key, reverse=query.sort[index][1])
    return [value for value, _ in rows]


def select_ids(
    items: Iterable[Mapping[str, Any]], query: Query, fields: Mapping[str, Field]
) -> list[str]:
    """The ids of the items that pass `query`'s filters, in its sort order (pagination aside).

    Keeps only ids and sort keys, never the items: `items` may build each one on the fly."""
    if not query.sort:
        return [str(i["id"]) for i in items if matches(i, query, fields)]
    rows = [
        (str(i["id"]), _sort_keys(i, query, fields)) for i in items if matches(i, query, fields)
    ]
    return _ordered(rows, query)


def page_bounds(total: int, query: Query) -> tuple[int, int]:
    """(start, stop) of the asked page among `total` items; past the last page is 400006 (page 1
    of nothing is an empty page)."""
    last_page = max(1, -(-total // query.page_size))
    if query.page_number > last_page:
        raise ApiError.invalid_page_number()
    start = (query.page_number - 1) * query.page_size
    return start, min(total, start + query.page_size)


def run_query(
    items: Sequence[Mapping[str, Any]], query: Query, fields: Mapping[str, Field]
) -> Page:
    """Filter, sort and cut one page out of `items` (which are not modified)."""
    selected: list[Mapping[str, Any]]
    if query.conditions:
        selected = [item for item in items if matches(item, query, fields)]
    elif query.sort:
        selected = list(items)
    else:  # no filter, no sort: only the page is touched
        start, stop = page_bounds(len(items), query)
        return Page(list(items[start:stop]), query.page_number, query.page_size, len(items))
    if query.sort:
        selected = _ordered([(i, _sort_keys(i, query, fields)) for i in selected], query)
    start, stop = page_bounds(len(selected), query)
    return Page(selected[start:stop], query.page_number, query.page_size, len(selected))


def _sort_key(field: Field, item: Mapping[str, Any]) -> Any:
    value = _coerce(field.get(item), field.type)
    if field.type == "list":
        return ",".join(sorted(str(v) for v in (field.get(item) or [])))
    if value is None:
        return 0
    return value.lower() if isinstance(value, str) else value


def field_selection(wanted: Sequence[str], singular: str) -> Selection | None:
    """`Query.fields` → what to keep of each item; None keeps everything (see the module doc)."""
    if not wanted or any(f in ("_all_", "_default_") for f in wanted):
        return None
    selection: Selection = {"id": None}
    for entry in wanted:
        head, dot, tail = entry.partition(".")
        if not dot or head == singular:
            selection[tail if dot else head] = None
        elif head not in selection or selection[head] is not None:
            kept = selection.get(head)
            selection[head] = (kept or set()) | {tail}
    return selection


def select_fields(item: Mapping[str, Any], selection: Selection | None) -> dict[str, Any]:
    """A copy of `item` cut down to `selection` (internal `_` keys are kept for the renderer)."""
    if selection is None:
        return dict(item)
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key.startswith("_"):
            out[key] = value
            continue
        if key not in selection:
            continue
        sub = selection[key]
        if sub is not None and isinstance(value, Mapping):
            out[key] = {k: v for k, v in value.items() if k in sub}
        elif sub is None:
            out[key] = value
    return out
