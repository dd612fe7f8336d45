"""A small HTTP/1.1 keep-alive connection pool to one upstream origin, for forwarding.

Why not httpx here: measured on loopback, one request through `httpx.AsyncHTTPTransport`
(httpcore on anyio) costs 450-750 µs of CPU, three times what the emulator spends answering it;
this pool (asyncio streams and the httptools parser uvicorn already uses) costs about 50 µs. The
session's own calls (sign-in, version negotiation) still go through tabsession's `AsyncClient`.

It only does what forwarding needs: send a request as given (headers untouched but for Host and
framing), read the head, stream the body as it arrives (chunked encoding removed), and keep the
connection for the next request when both sides allow. Idle connections are dropped after
`idle_expiry` seconds, before a typical server closes them (5 to 15 s).
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectionPool", "UpstreamError", "UpstreamResponse"]

READ_SIZE = 256 * 1024
RawHeaders = list[tuple[bytes, bytes]]


if sys.version_info >= (3, 11):

    async def _read(reader: asyncio.StreamReader, timeout: float) -> bytes:
        """One read, bounded by `timeout` seconds (asyncio.timeout: a timer, no extra task)."""
        async with asyncio.timeout(timeout):
            return await reader.read(READ_SIZE)

else:  # pragma: no cover - Python 3.10

    async def _read(reader: asyncio.StreamReader, timeout: float) -> bytes:
        return await asyncio.wait_for(reader.read(READ_SIZE), timeout)


class UpstreamError(Exception):
    """The upstream exchange failed. `retryable`: nothing can have reached the server's
    application (a connect failure, or a kept-alive connection found closed before any byte of
    an answer), so sending again is safe whatever the method."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class _Parse:
    """httptools callbacks for one response."""

    def __init__(self) -> None:
        self.headers: RawHeaders = []
        self.head_done = False
        self.complete = False
        self.body: deque[bytes] = deque()
        self.received = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = 0
        self.idle_since = time.monotonic()

    def usable(self, expiry: float) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and time.monotonic() - self.idle_since < expiry
        )

    def close(self) -> None:
        self.writer.close()


class UpstreamResponse:
    """An answer being received: status and raw headers at once, the body as it arrives."""

    def __init__(
        self,
        pool: ConnectionPool,
        connection: _Connection,
        parser: httptools.HttpResponseParser,
        parse: _Parse,
        *,
        head: bool,
    ) -> None:
        self._pool, self._connection, self._parser, self._parse = pool, connection, parser, parse
        self.status_code: int = parser.get_status_code()
        self.headers = parse.headers
        # decided here (httptools' should_keep_alive() is False once the message is complete)
        connection_header = (self.header(b"connection") or b"").lower()
        self._keep_alive = parser.get_http_version() == "1.1" and b"close" not in connection_header
        self._head = head
        self._closed = False
        if head:  # a HEAD answer has no body, whatever its Content-Length says
            self._finish(reuse=False)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def done(self) -> bool:
        return self._parse.complete or self._head

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, dechunked, as it arrives."""
        parse = self._parse
        while True:
            while parse.body:
                yield parse.body.popleft()
            if self.done or self._closed:
                break
            data = await self._pool.read(self._connection)
            if not data:
                if self.header(b"content-length") is None and not self._chunked():
                    break  # a body delimited by the end of the connection
                self._finish(reuse=False)
                raise UpstreamError("Tableau closed the connection mid-answer", retryable=False)
            self._feed(data)
        self._finish(reuse=True)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def _chunked(self) -> bool:
        value = self.header(b"transfer-encoding")
        return value is not None and b"chunked" in value.lower()

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(reuse=False)
            raise UpstreamError(
                f"Tableau's answer is not valid HTTP: {exc}", retryable=False
            ) from None

    def _finish(self, *, reuse: bool) -> None:
        if self._closed:
            return
        self._closed = True
        keep = reuse and self._parse.complete and self._keep_alive
        self._pool.release(self._connection, keep=keep)

    async def aclose(self) -> None:
        """Done with the answer (read or not): the connection goes back to the pool only if
        the whole answer was read."""
        self._finish(reuse=True)


class ConnectionPool:
    """Keep-alive connections to `origin` (`http://host:port` or `https://...`)."""

    def __init__(
        self,
        origin: str,
        *,
        tls: ssl.SSLContext | None,
        timeout: float,
        connect_timeout: float = 10.0,
        max_idle: int = 100,
        idle_expiry: float = 4.0,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an origin: {origin!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        default = 443 if self.https else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = (host if self.port == default else f"{host}:{self.port}").encode()
        self._tls = (tls or ssl.create_default_context()) if self.https else None
        self._timeout, self._connect_timeout = timeout, connect_timeout
        self._idle: deque[_Connection] = deque()
        self._max_idle, self._expiry = max_idle, idle_expiry

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self._tls,
                    server_hostname=self.host if self._tls else None,
                    limit=READ_SIZE,
                ),
                self._connect_timeout,
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"cannot connect: {type(exc).__name__}", retryable=True) from None
        return _Connection(reader, writer)

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely stale
            if connection.usable(self._expiry):
                return connection
            connection.close()
        return None

    def release(self, connection: _Connection, *, keep: bool) -> None:
        if keep and len(self._idle) < self._max_idle and not connection.writer.is_closing():
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()

    async def read(self, connection: _Connection) -> bytes:
        try:
            return await _read(connection.reader, self._timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            connection.close()
            raise UpstreamError(f"no answer: {type(exc).__name__}", retryable=False) from None

    def _head(self, method: str, target: str, headers: RawHeaders, framing: bytes) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), b"host: ", self.host_header]
        for name, value in headers:
            lines += [b"\r\n", name, b": ", value]
        lines += [b"\r\n", framing, b"\r\n"]
        return b"".join(lines)

    async def send(
        self,
        method: str,
        target: str,
        headers: RawHeaders,
        body: bytes | AsyncIterator[bytes] | None,
        *,
        length: str | None = None,
    ) -> UpstreamResponse:
        """Send `method target` with `headers` (no Host, Content-Length or Transfer-Encoding:
        this sets them) and return once the answer's head has arrived."""
        connection = self._idle_connection()
        reused = connection is not None
        if connection is None:
            connection = await self._connect()
        parse = _Parse()
        parser = httptools.HttpResponseParser(parse)
        try:
            if body is None or isinstance(body, bytes):
                data = body or b""
                framing = b"content-length: %d\r\n" % len(data) if data or method in (
                    "POST", "PUT", "PATCH") else b""  # fmt: skip
                connection.writer.write(self._head(method, target, headers, framing) + data)
            else:
                framing = (
                    b"content-length: " + length.encode() + b"\r\n"
                    if length is not None
                    else b"transfer-encoding: chunked\r\n"
                )
                connection.writer.write(self._head(method, target, headers, framing))
                async for chunk in body:
                    if not chunk:
                        continue
                    if length is None:
                        connection.writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        connection.writer.write(chunk)
                    await connection.writer.drain()
                if length is None:
                    connection.writer.write(b"0\r\n\r\n")
            await connection.writer.drain()
            while not parse.head_done:
                data = await _read(connection.reader, self._timeout)
                if not data:
                    raise ConnectionResetError("closed before answering")
                parser.feed_data(data)
        except UpstreamError:
            connection.close()
            raise
        except BaseException as exc:
            if not isinstance(exc, (OSError, asyncio.TimeoutError, httptools.HttpParserError)):
                connection.close()  # the client left mid-upload, or the task was cancelled
                raise
            connection.close()
            stale = reused and not isinstance(exc, asyncio.TimeoutError) and not parse.headers
            raise UpstreamError(
                f"the exchange with Tableau failed: {type(exc).__name__}",
                retryable=stale and isinstance(body, (bytes, type(None))),
            ) from None
        connection.used += 1
        return UpstreamResponse(self, connection, parser, parse, head=method == "HEAD")

    async def aclose(self) -> None:
        while self._idle:
            connection = self._idle.pop()
            connection.close()
