"""Writing answers: JSON, JSON lines, a table or CSV (XML is the server's own, in `api`).

Tableau's list answers (`{"pagination": ..., "workbooks": {"workbook": [...]}}`) are shown as
their items in jsonl, table and csv; nested objects become dotted columns (`project.name`).
Tables never cut a header or wrap a cell when piped: the width is then the content's.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from tabsession.errors import TableauError
from tabsession.pagination import read_page

__all__ = ["FORMATS", "Format", "flatten", "rows_of", "write_stream", "write_value"]

Format = Literal["json", "jsonl", "table", "csv", "xml"]
FORMATS: tuple[str, ...] = ("json", "jsonl", "table", "csv", "xml")


def _items(value: Any) -> list[Any]:
    """A list as is; a Tableau collection answer as its items; anything else as one item."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        try:
            items, info = read_page(value)
        except TableauError:
            return [value]
        if info is not None:  # a page of a list endpoint: its items
            return items
    return [value]


def flatten(item: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(item, dict):
        return {prefix or "value": item}
    flat: dict[str, Any] = {}
    for key, value in item.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def rows_of(items: Iterable[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    rows = [flatten(item) for item in items]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns), rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table(items: list[Any], out: IO[str]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    columns, rows = rows_of(items)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(escape(column), no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*(escape(_cell(row.get(column))) for column in columns))
    if out.isatty():
        Console(file=out, highlight=False).print(table)
        return
    buffer = io.StringIO()  # piped: as wide as the content, no trailing blanks
    Console(file=buffer, highlight=False, soft_wrap=True, width=100_000).print(table)
    out.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _csv(items: list[Any], out: IO[str]) -> None:
    columns, rows = rows_of(items)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])


def write_value(value: Any, fmt: str, out: IO[str] | None = None) -> None:
    """One answer (or one slurped list) in `fmt`."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "jsonl":
        for item in _items(value):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    elif fmt == "table":
        _table(_items(value), out)
    elif fmt == "csv":
        _csv(_items(value), out)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def write_stream(items: Iterator[Any], fmt: str, out: IO[str] | None = None) -> int:
    """Items as they come (json: one array, streamed; jsonl: a line each; table and csv need
    every row first). Returns how many were written."""
    out = out or sys.stdout
    count = 0
    if fmt == "jsonl":
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt == "json":
        out.write("[")
        for item in items:
            out.write(("," if count else "") + "\n  " + json.dumps(item, ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    collected = list(items)
    write_value(collected, fmt, out)
    return len(collected)
