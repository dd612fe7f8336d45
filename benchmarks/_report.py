"""Shared helpers: medians, progress lines on stderr, markdown tables, a module's own `main`."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence

__all__ = ["COLUMNS", "main", "median", "progress", "table"]

Row = dict[str, object]
COLUMNS = ("name", "value", "unit", "goal", "notes")
_START = time.monotonic()


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def progress(message: str) -> None:
    """One line on stderr, with the seconds since the run started."""
    print(f"[{time.monotonic() - _START:7.1f} s] {message}", file=sys.stderr, flush=True)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Row]) -> str:
    """Rows as a markdown table: name | value | unit | goal | notes."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(column)) for column in COLUMNS) + " |")
    return "\n".join(lines)


def main(run: Callable[[bool], list[Row]]) -> None:
    """`python -m benchmarks.NAME [--quick]`: run one benchmark and print its table."""
    print(table(run("--quick" in sys.argv[1:])))
