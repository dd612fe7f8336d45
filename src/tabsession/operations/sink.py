"""Where a streamed download goes: a file, written chunk by chunk as the body arrives.

The flows describe the destination (`FileSink`); the clients feed the body's chunks into a
`SinkWriter` from their `SendTo` branch. Memory stays at one chunk whatever the size, and the
client's response-body cap does not apply (the bytes never accumulate). A body shorter than its
`Content-Length` is a transport error, so the sender retries it like a dropped connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from tabsession._httpx import Request, Response
from tabsession._httpx import TransportError as HttpTransportError

__all__ = [
    "ERROR_BODY_LIMIT",
    "BoundedBody",
    "FileSink",
    "Progress",
    "SinkWriter",
    "error_response",
]

Progress = Callable[[int, "int | None"], None]
"""`on_progress(done, total)`: bytes so far and the total when known (None otherwise)."""

ERROR_BODY_LIMIT = 1024 * 1024
"""The most of an error answer's body read while streaming (error bodies are small)."""

_DROPPED = ("content-encoding", "content-length", "transfer-encoding")


@dataclass(frozen=True)
class FileSink:
    """Stream a successful body into `path` (created or truncated at each attempt, so a retry
    starts a fresh file). `on_progress(done, total)` is called after every chunk."""

    path: str
    on_progress: Progress | None = None

    @staticmethod
    def encoded(response: Response) -> bool:
        """Whether the body comes content-encoded (then it is decoded on the way; a body sent
        as is is copied raw, which is cheaper)."""
        coding: str = response.headers.get("content-encoding", "identity")
        return coding.lower() != "identity"

    def open(self, response: Response) -> SinkWriter:
        length = response.headers.get("content-length")
        total = int(length) if length and length.isdigit() else None
        if self.encoded(response):
            total = None  # the length counts encoded bytes; we write decoded ones
        return SinkWriter(open(self.path, "wb"), total, self.on_progress, response.request)


class SinkWriter:
    """Writes one attempt's body; `finish()` checks it is complete."""

    def __init__(
        self, file: BinaryIO, total: int | None, on_progress: Progress | None, request: Request
    ) -> None:
        self._file = file
        self.total = total
        self.written = 0
        self._on_progress = on_progress
        self._request = request
        if on_progress is not None:
            on_progress(0, total)

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._file.write(chunk)
        self.written += len(chunk)
        if self._on_progress is not None:
            self._on_progress(self.written, self.total)

    def finish(self) -> None:
        self._file.close()
        if self.total is not None and self.written != self.total:
            raise HttpTransportError(
                f"the body ended after {self.written} of {self.total} bytes",
                request=self._request,
            )

    def abort(self) -> None:
        self._file.close()


class BoundedBody:
    """Collects an error answer's body up to `ERROR_BODY_LIMIT` bytes (the rest is dropped)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> bool:
        """Keep `chunk` (cut to the limit); False once the limit is reached."""
        room = ERROR_BODY_LIMIT - self._size
        if room > 0 and chunk:
            self._parts.append(chunk[:room])
            self._size += min(room, len(chunk))
        return self._size < ERROR_BODY_LIMIT

    def bytes(self) -> bytes:
        return b"".join(self._parts)


def error_response(response: Response, body: bytes) -> Response:
    """A read copy of a streamed non-2xx `response`, with its (decoded, bounded) `body`."""
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED]
    return Response(response.status_code, headers=headers, content=body, request=response.request)
