"""Downloading a file (a workbook's or data source's content, any other `GET` that answers a
file), streamed into a temporary file beside `dest` and renamed onto it at the end (shared by
both clients; I/O-free).

- The body goes to disk chunk by chunk: memory stays flat, and the client's body cap does not
  apply.
- A 401 means a new session and the download from the start (the request flow's replay); a
  connection dropped mid-stream, or a body shorter than its Content-Length, means a fresh
  download too: the sender's retries first, then up to `MAX_FRESH_STARTS` more.
- `dest` is only ever replaced by a complete file; on failure the temporary file is removed.
- `dest` may be an existing directory: the file then takes the name the server gives
  (`Content-Disposition`), reduced to a plain file name, or the path's last segment.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from tabsession._effects import Flow, is_directory, make_temp, remove_file, replace_file
from tabsession.errors import ConfigurationError, TransportError
from tabsession.operations.sink import FileSink, Progress

if TYPE_CHECKING:
    from tabsession._core import ClientCore

__all__ = ["MAX_FRESH_STARTS", "download_flow", "served_filename"]

MAX_FRESH_STARTS = 2
"""Fresh downloads after the sender's own retries ran out on transport errors."""


_EXTENDED = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)
_PLAIN = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))', re.IGNORECASE)


def served_filename(disposition: str | None) -> str | None:
    """The file name a `Content-Disposition` gives (RFC 6266: `filename*` first), as a plain
    name: no directories, no `..`, no control characters. None when there is none."""
    if not disposition:
        return None
    name: str | None = None
    found = _EXTENDED.search(disposition)
    if found:
        try:
            name = unquote(found.group(2).strip(), encoding=found.group(1) or "utf-8")
        except LookupError:
            name = None
    if name is None:
        plain = _PLAIN.search(disposition)
        if plain:
            name = plain.group(1) if plain.group(1) is not None else plain.group(2).strip()
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return None if name in ("", ".", "..") else name


def download_flow(
    core: ClientCore, path: str, dest: str | os.PathLike[str], on_progress: Progress | None
) -> Flow[str]:
    """GET `path` into `dest` (a file, or an existing directory); returns the file's path."""
    target = os.fspath(dest)
    into = target if (yield from is_directory(target)) else None
    try:
        temp = yield from make_temp(os.path.join(into, "download") if into is not None else target)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the download beside {target!r}: {exc}") from None
    try:
        sink = FileSink(temp, on_progress)
        starts = 0
        while True:
            try:
                response = yield from core.request_flow(
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
        if into is not None:
            name = served_filename(response.headers.get("content-disposition"))
            fallback = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
            target = os.path.join(into, name or fallback)
        yield from replace_file(temp, target)
        return target
    finally:
        yield from remove_file(temp)
