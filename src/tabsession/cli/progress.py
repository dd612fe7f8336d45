"""Progress bars on stderr for the long commands (`publish`, `download`, `wait`).

stdout stays the command's answer (JSON), so `tabsession publish ... | jq` works; the bars go
to stderr, and only when it is a terminal (`--quiet` or a pipe: nothing is drawn).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

__all__ = ["byte_progress", "job_progress"]


def _console(quiet: bool) -> Console:
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        console = Console(stderr=True, quiet=True)
    return console


@contextmanager
def byte_progress(
    label: str, *, quiet: bool = False
) -> Iterator[Callable[[int, int | None], None]]:
    """An `on_progress(done, total)` callback drawing a transfer bar for `label`."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console(quiet), transient=True) as bars:
        task: TaskID = bars.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bars.update(task, completed=done, total=total)

        yield update


@contextmanager
def job_progress(label: str, *, quiet: bool = False) -> Iterator[Callable[[dict[str, Any]], None]]:
    """An `on_progress(job)` callback drawing the job's `progress` (0-100)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    with Progress(*columns, console=_console(quiet), transient=True) as bars:
        task = bars.add_task(label, total=100)

        def update(job: dict[str, Any]) -> None:
            try:
                done = float(job.get("progress") or 0)
            except (TypeError, ValueError):
                done = 0.0
            bars.update(task, completed=done)

        yield update
