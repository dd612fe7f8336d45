"""Bounded answers: every response body is read streamed, decoded here (never by the HTTP
library), counted and cut off at a cap, and the whole exchange has one deadline. I/O-free: the
clients run thin loops (`Client._send`, `AsyncClient._send`) that feed raw chunks in.

- `max_body` caps the DECODED body (default 64 MiB): a 1 MiB gzip bomb stops at the cap, an
  endless body too. Decompression is done in pieces of at most `_PIECE` bytes, so memory stays
  near the cap whatever the compression ratio.
- `timeout` is the whole exchange's time (connect, send, headers and the full body), not each
  read. Running out of it before the answer's head arrives is an ordinary timeout (retried for
  idempotent requests, rule R7); after it, while the body trickles in, it is a `TransportError`
  that is not retried: a server that answers that slowly would only do it again.
- Only `gzip`/`x-gzip`/`deflate`/`identity` are asked for and accepted (`Accept-Encoding` is set
  by the client); anything else is a `ResponseError`, never undecoded bytes.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tabsession._httpx import Request, Response
from tabsession.errors import (
    ConfigurationError,
    ResponseError,
    ResponseTooLarge,
    TableauError,
    TransportError,
)

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_BODY",
    "BodyReader",
    "Bounds",
    "closed_client_error",
    "request_timeouts",
]

DEFAULT_MAX_BODY = 64 * 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 256 * 1024  # the most one decompression step may produce
_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


@dataclass(frozen=True)
class Bounds:
    """How much one answer may hold and how long one exchange may take.

    Defaults: 64 MiB of decoded body, 60 s per exchange. Raise `max_body` for large downloads
    (None: no cap, for a trusted server only; decompression stays in bounded pieces); lower
    `timeout` for interactive tools.
    """

    max_body: int | None = DEFAULT_MAX_BODY
    timeout: float = 60.0
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigurationError("timeout must be positive")
        if self.max_body is None:
            return
        if isinstance(self.max_body, bool) or not isinstance(self.max_body, int):
            raise ConfigurationError("max_body must be an integer number of bytes, or None")
        if self.max_body < 1:
            raise ConfigurationError("max_body must be at least 1 byte")

    @property
    def limit(self) -> int:
        """The cap in bytes (`sys.maxsize` when there is none)."""
        return sys.maxsize if self.max_body is None else self.max_body


def request_timeouts(bounds: Bounds, remaining: float) -> dict[str, float]:
    """Per-phase timeouts (httpx's `timeout` extension) that never exceed what is left of the
    call's deadline."""
    left = max(0.001, remaining)
    return {
        "connect": min(bounds.connect_timeout, left),
        "read": left,
        "write": left,
        "pool": left,
    }


def closed_client_error(request: Request, exc: RuntimeError, closed: bool) -> TableauError:
    """What a call gets when the HTTP client refuses it with a RuntimeError: a typed error
    (ConfigurationError when `close()` ran during the call, TransportError otherwise)."""
    method, url = request.method, str(request.url)
    if closed:
        return ConfigurationError(
            "the client was closed while this call was running", method=method, url=url
        )
    return TransportError(f"the HTTP client refused the request: {exc}", method=method, url=url)


class _Stage:
    """One content coding, decoded in bounded pieces."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._first = True
        if coding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(zlib.MAX_WBITS | 16)
        else:  # deflate: zlib-wrapped; raw deflate is tried on the first error
            self._z = zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._z.decompress(data, _PIECE)
            except zlib.error:
                if not (self.coding == "deflate" and self._first):
                    raise
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate
                out = self._z.decompress(data, _PIECE)
            self._first = False
            if out:
                yield out
            data = self._z.unconsumed_tail
            if self._z.eof:
                return  # trailing garbage after the stream is ignored, as browsers do

    def flush(self) -> Iterator[bytes]:
        # `feed` drains the input in bounded pieces, so zlib holds only its window here
        if not self._z.eof:
            out = self._z.flush()
            if out:
                yield out


class BodyReader:
    """Decodes, counts and collects one response body; raises as soon as a bound is crossed.

    `start(response)` once the headers are in, `feed(raw)` for each raw chunk (with the
    current monotonic time), then `finish()` for the `Response` holding the decoded body.
    """

    def __init__(self, bounds: Bounds, deadline: float, request: Request) -> None:
        self.request = request
        self.bounds = bounds
        self.deadline = deadline
        self._parts: list[bytes] = []
        self._size = 0
        self._stages: list[_Stage] = []
        self._response: Response | None = None

    # -- the exchange's identity, for errors ----------------------------------------------------

    def _where(self) -> tuple[int, str, str]:
        status = self._response.status_code if self._response is not None else 0
        return status, self.request.method, str(self.request.url)

    def too_late(self) -> TransportError:
        _, method, url = self._where()
        got = f" after {self._size:,} bytes of the answer" if self._response is not None else ""
        return TransportError(
            f"the answer did not arrive in full within the call's timeout "
            f"({self.bounds.timeout:g}s){got}; raise timeout= if the server is just slow",
            method=method,
            url=url,
        )

    @property
    def started(self) -> bool:
        """True once the response's head has arrived (the server answered)."""
        return self._response is not None

    # -- reading ---------------------------------------------------------------------------------

    def start(self, response: Response) -> None:
        self._response = response
        codings = [
            c.strip().lower()
            for c in response.headers.get("content-encoding", "").split(",")
            if c.strip()
        ]
        for coding in reversed(codings):  # the last coding applied is the first to undo
            if coding not in ("gzip", "x-gzip", "deflate", "identity"):
                status, method, url = self._where()
                raise ResponseError(
                    f"the answer uses content-encoding {coding!r}, which tabsession does not "
                    "decode (it asks for gzip or deflate)",
                    status=status,
                    method=method,
                    url=url,
                )
            if coding != "identity":
                self._stages.append(_Stage(coding))
        declared = response.headers.get("content-length", "")
        if not self._stages and declared.isdigit() and int(declared) > self.bounds.limit:
            raise self._too_large(int(declared))

    def _too_large(self, size: int | None = None) -> ResponseTooLarge:
        status, method, url = self._where()
        limit = self.bounds.limit
        seen = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
        return ResponseTooLarge(
            f"HTTP {status} answer of {seen} exceeds max_body={limit:,}; "
            "raise max_body= if such answers are expected",
            status=status,
            method=method,
            url=url,
            limit=limit,
        )

    def _decoded(self, data: bytes, level: int = 0) -> Iterator[bytes]:
        if level == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[level].feed(data):
            yield from self._decoded(piece, level + 1)

    def _flushed(self, level: int = 0) -> Iterator[bytes]:
        if level == len(self._stages):
            return
        for piece in self._stages[level].flush():
            yield from self._decoded(piece, level + 1)
        yield from self._flushed(level + 1)

    def _keep(self, pieces: Iterator[bytes]) -> None:
        try:
            for piece in pieces:
                self._size += len(piece)
                if self._size > self.bounds.limit:
                    self._parts.clear()
                    raise self._too_large()
                self._parts.append(piece)
        except zlib.error as exc:
            status, method, url = self._where()
            raise ResponseError(
                f"the answer's compressed body is corrupt ({exc})",
                status=status,
                method=method,
                url=url,
            ) from None

    def feed(self, raw: bytes, now: float) -> None:
        """Take one raw chunk read at monotonic time `now`."""
        if now > self.deadline:
            raise self.too_late()
        if self._stages:
            self._keep(self._decoded(raw))
            return
        self._size += len(raw)  # identity: the common case, without generators
        if self._size > self.bounds.limit:
            self._parts.clear()
            raise self._too_large()
        self._parts.append(raw)

    def feed_decoded(self, body: bytes, now: float) -> None:
        """Take a body the HTTP library already read and decoded (a response event hook of a
        caller's own `http_client` did): counted against the cap, not decoded again."""
        if now > self.deadline:
            raise self.too_late()
        self._keep(iter((body,)))

    def finish(self) -> Response:
        """The response, holding its decoded body (as httpx's own `read()` would leave it; when
        the body was encoded, its content-encoding and length headers now describe the
        decoded bytes)."""
        response = self._response
        if response is None:
            raise RuntimeError("BodyReader.finish() before start()")
        self._keep(self._flushed())
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        if self._stages:
            for name in _DROPPED_HEADERS:
                if name in response.headers:
                    del response.headers[name]
            response.headers["Content-Length"] = str(len(body))
        response._content = body  # the attribute httpx's read() fills: .content, .json() use it
        return response
