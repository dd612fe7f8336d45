"""Forwarding one request to Tableau with the live upstream session.

The client's own `X-Tableau-Auth` (a local token) and cookies never go upstream; the upstream
token and cookies never come back. A 401 from Tableau means the upstream session ended: the
forwarder asks the upstream client for a new session (`AsyncClient.renew`, one sign-in for all
requests that met the same expiry, shared through the store) and sends the request once more.
Tableau refuses before it acts, so sending again is safe for every method (rule R2) as long as
the body is still at hand: bodies up to the replay limit are kept; larger ones stream through
and, if a 401 meets them, the request fails with `NotReplayable`.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tabsession._core import MAX_REPLAYS  # rule R2, as for the client
from tabsession.async_client import AsyncClient
from tabsession.errors import SessionContention, SignInFailed, TableauError, TransportError
from tabsession.proxy.pool import ConnectionPool, UpstreamError, UpstreamResponse
from tabsession.proxy.stats import ProxyStats
from tabsession.proxy.wire import ErrorAnswer

__all__ = [
    "Body",
    "ClientGone",
    "Forwarder",
    "NotReplayable",
    "UpstreamFailed",
    "read_body",
    "response_headers",
]

Receive = Callable[[], Awaitable[dict[str, Any]]]
RawHeaders = Iterable[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"x-tableau-auth", b"cookie", b"expect"}
"""Request headers the proxy drops: the local token and cookies belong to the client's session
with the proxy, not to Tableau; the pool sets Host and the body's framing itself."""
NOT_RETURNED = HOP_BY_HOP | {b"set-cookie", b"x-tableau-auth"}
"""Response headers the proxy drops: Tableau's cookies would hand out the upstream session."""


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class NotReplayable(Exception):
    """The upstream session ended while a streamed body (over the replay limit) was sent."""


class UpstreamFailed(Exception):
    """No answer from Tableau: transport error, or no session could be had. `status` is what
    the proxy answers (502 or 503), `reason` a secret-free sentence."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def answer(self) -> ErrorAnswer:
        """What the client gets: a Tableau-shaped 502 or 503 (with Retry-After when known)."""
        extra: tuple[tuple[bytes, bytes], ...] = ()
        if self.retry_after is not None:
            extra = ((b"retry-after", str(int(self.retry_after)).encode()),)
        summary = "Bad Gateway" if self.status == 502 else "Service Unavailable"
        detail = f"tabsession proxy: {self.reason}"
        return ErrorAnswer(self.status, f"{self.status}000", summary, detail, extra)


@dataclass
class Body:
    """A request body: kept whole (`data`, replayable) or still streaming (`stream`)."""

    data: bytes | None
    stream: AsyncIterator[bytes] | None = None
    length: str | None = None

    @property
    def replayable(self) -> bool:
        return self.stream is None


async def _rest(receive: Receive, first: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in first:
        yield chunk
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int, declared_length: str | None) -> Body:
    """Read the ASGI request body: whole if it fits in `limit` bytes, else as a stream."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        return Body(None, _rest(receive, []), declared_length)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return Body(b"".join(chunks) if len(chunks) != 1 else chunks[0])
        if size > limit:
            return Body(None, _rest(receive, chunks), declared_length)


def _forwarded_headers(raw: RawHeaders, token: str | None, body: Body) -> list[tuple[bytes, bytes]]:
    headers = [(name, value) for name, value in raw if name.lower() not in NOT_FORWARDED]
    if token is not None:
        headers.append((b"x-tableau-auth", token.encode("latin-1")))
    return headers


def response_headers(
    response: UpstreamResponse, *, upstream_origin: str, proxy_origin: str
) -> list[tuple[bytes, bytes]]:
    """Tableau's response headers for the client: no cookies, no hop-by-hop headers, and a
    redirect back to Tableau's own origin pointed at the proxy instead (so the client, whatever
    its redirect rules, keeps talking to the proxy and never shows Tableau its local token)."""
    out = []
    for name, value in response.headers:
        lowered = name.lower()
        if lowered in NOT_RETURNED:
            continue
        if lowered == b"location":
            text = value.decode("latin-1")
            if text.lower().startswith(upstream_origin.lower()):
                value = (proxy_origin + text[len(upstream_origin) :]).encode("latin-1")
        out.append((name, value))
    return out


class Forwarder:
    """Sends requests upstream with the live session token; on 401 a re-sign-in and a replay
    (again for each distinct expiry, at most `MAX_REPLAYS` times).

    Requests go through a `ConnectionPool` per upstream origin (the origin can change once, when
    Tableau Cloud redirects the sign-in to a pod): see `tabsession.proxy.pool` for why not httpx.
    """

    def __init__(
        self, upstream: AsyncClient, stats: ProxyStats, *, tls: ssl.SSLContext, timeout: float
    ) -> None:
        self._upstream = upstream
        self._stats = stats
        self._tls, self._timeout = tls, timeout
        self._pools: dict[str, ConnectionPool] = {}

    def _pool(self) -> tuple[ConnectionPool, str]:
        """The pool for the upstream's current origin, and the server URL's path prefix."""
        server = self._upstream.server
        parts = urlsplit(server)
        origin = f"{parts.scheme}://{parts.netloc}"
        pool = self._pools.get(origin)
        if pool is None:
            pool = ConnectionPool(origin, tls=self._tls, timeout=self._timeout)
            self._pools[origin] = pool
        return pool, parts.path.rstrip("/")

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()

    async def _token(self, stale: str | None = None) -> str:
        try:
            if stale is None:
                return await self._upstream.token()
            return await self._upstream.renew(stale)
        except Exception as exc:
            raise upstream_failure(exc) from None

    async def _send(
        self, method: str, target: str, raw: RawHeaders, token: str | None, body: Body
    ) -> UpstreamResponse:
        pool, prefix = self._pool()
        content: bytes | AsyncIterator[bytes] | None = body.data if body.replayable else body.stream
        headers = _forwarded_headers(raw, token, body)
        for attempt in (1, 2):
            try:
                return await pool.send(
                    method, prefix + target, headers, content, length=body.length
                )
            except UpstreamError as exc:
                if attempt == 1 and exc.retryable and body.replayable:
                    continue
                self._stats.add("upstream_errors")
                raise UpstreamFailed(502, f"Tableau did not answer ({exc})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def forward_anonymous(
        self, method: str, target: str, raw: RawHeaders, body: Body
    ) -> UpstreamResponse:
        """Forward a request Tableau answers without a session (serverinfo): no token at all."""
        response = await self._send(method, target, raw, None, body)
        self._stats.add("forwarded")
        return response

    async def forward(
        self, method: str, target: str, raw: RawHeaders, body: Body
    ) -> UpstreamResponse:
        """The upstream's answer to `method target` (path and query), streaming: the caller
        must close it. Raises `NotReplayable` or `UpstreamFailed`."""
        raw = list(raw)
        token = await self._token()
        refused: set[str] = set()
        while True:
            response = await self._send(method, target, raw, token, body)
            if response.status_code != 401 or len(refused) >= MAX_REPLAYS:
                self._stats.add("forwarded")
                return response
            # R2: a replay refused by a newer session (a distinct expiry) is sent again, at
            # most MAX_REPLAYS times; the same session refusing twice is answered as it is
            refused.add(token)
            await response.read()  # read it whole, so that the connection can be used again
            renewed = await self._token(stale=token)
            if renewed in refused:
                self._stats.add("forwarded")
                return await self._send(method, target, raw, renewed, body)
            if not body.replayable:
                self._stats.add("not_replayable")
                raise NotReplayable
            self._stats.add("replays")
            token = renewed


def upstream_failure(exc: BaseException) -> UpstreamFailed:
    """Why the proxy has no upstream session, as the status and sentence it answers with."""
    if isinstance(exc, SignInFailed):
        return UpstreamFailed(
            502, f"the proxy's own sign-in to Tableau was refused ({exc.code or 'no code'})"
        )
    if isinstance(exc, SessionContention):
        retry_after = getattr(exc, "retry_after", None)
        return UpstreamFailed(
            503,
            "the proxy's session keeps being ended by another sign-in with the same PAT; "
            "it will sign in again after a pause",
            retry_after if isinstance(retry_after, (int, float)) else 30.0,
        )
    if isinstance(exc, TransportError):
        return UpstreamFailed(502, "Tableau could not be reached")
    if isinstance(exc, TableauError):
        return UpstreamFailed(
            502, f"the proxy could not get a Tableau session: {type(exc).__name__}"
        )
    raise exc
