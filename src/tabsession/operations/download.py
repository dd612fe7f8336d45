"""Downloading a file (a workbook's or data source's content, any other `GET` that answers a
file), streamed into a temporary file beside `dest` and renamed onto it at the end (shared by
both clients; I/O-free).

- The body goes to disk chunk by chunk: memory stays flat, and the client's body cap does not
  apply.
- A 401 means a new session and the download from the start (the request flow's replay); a
  connection dropped mid-stream, or a body shorter than its Content-Length, means a fresh
  download too: the sender's retries first, then up to `MAX_FRESH_STARTS` more.
- `dest` is only ever replaced by a complete file; on failure the temporary file is removed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tabsession._effects import Flow, make_temp, remove_file, replace_file
from tabsession.errors import TransportError
from tabsession.operations.sink import FileSink, Progress

if TYPE_CHECKING:
    from tabsession._core import ClientCore

__all__ = ["MAX_FRESH_STARTS", "download_flow"]

MAX_FRESH_STARTS = 2
"""Fresh downloads after the sender's own retries ran out on transport errors."""


def download_flow(
    core: ClientCore, path: str, dest: str | os.PathLike[str], on_progress: Progress | None
) -> Flow[str]:
    """GET `path` into `dest`; returns `dest` as a string."""
    target = os.fspath(dest)
    temp = yield from make_temp(target)
    try:
        sink = FileSink(temp, on_progress)
        starts = 0
        while True:
            try:
                yield from core.request_flow(
                    "GET", path, headers={"Accept": "*/*", "Accept-Encoding": "identity"}, sink=sink
                )
                break
            except TransportError:
                starts += 1
                if starts > MAX_FRESH_STARTS:
                    raise
                core.events.emit(
                    "download_restart", f"download of {path} starting again", path=path
                )
        yield from replace_file(temp, target)
        return target
    finally:
        yield from remove_file(temp)
