"""One deadline for a whole exchange, down to each socket operation.

httpx's timeouts apply to each read, write or connect: a server that trickles its status line
and headers a byte at a time never trips them. So the clients' own connection pools run on
`DeadlineBackend` / `AsyncDeadlineBackend`, whose sockets clamp every operation's timeout to
what is left of the deadline that `deadline_scope()` set for the current thread or task (a
context variable: no timer, no extra task per call). Past it, the operation fails like an
ordinary timeout (`ConnectTimeout`, `ReadTimeout`, `WriteTimeout`).

A caller's own `http_client=` keeps its own transport: there the per-read bounds and the body
deadline of `transport.bounds` still apply, the header phase is bounded per read only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from tabsession._httpx import AsyncHTTPTransport, HTTPTransport, httpcore

__all__ = [
    "AsyncDeadlineBackend",
    "DeadlineBackend",
    "async_deadline_transport",
    "deadline_scope",
    "deadline_transport",
]

_deadline: ContextVar[float | None] = ContextVar("tabsession_deadline", default=None)


class deadline_scope:  # used like a function: `with deadline_scope(at):`
    """Within the block, this thread's (or task's) socket operations end by monotonic `at`.
    (A class rather than a @contextmanager: it runs on every exchange.)"""

    __slots__ = ("_at", "_token")

    def __init__(self, at: float) -> None:
        self._at = at

    def __enter__(self) -> None:
        self._token = _deadline.set(self._at)

    def __exit__(self, *exc: object) -> None:
        _deadline.reset(self._token)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's timeout (a deadline for the whole exchange) has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, clamped))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's blocking socket backend, with every timeout clamped to the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.connect_tcp(host, port, clamped, local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, clamped, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.start_tls(ssl_context, server_hostname, clamped)
        return _AsyncDeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async backend, with every timeout clamped to the task's deadline."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.connect_tcp(host, port, clamped, local_address, socket_options)
        return _AsyncDeadlineStream(inner)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.connect_unix_socket(path, clamped, socket_options)
        return _AsyncDeadlineStream(inner)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _install(transport: Any, wrap: Any, pool_class: type) -> None:
    """httpx has no public switch for the network backend, so it is set on the transport's
    pool before any connection exists; if a future httpx moves it, nothing is changed (the
    per-read timeouts then still bound each operation, and the body deadline still holds)."""
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, pool_class) and hasattr(pool, "_network_backend"):
        pool._network_backend = wrap(pool._network_backend)


def deadline_transport(**options: Any) -> HTTPTransport:
    """An `httpx.HTTPTransport(**options)` whose connections run on `DeadlineBackend`."""
    transport = HTTPTransport(**options)
    _install(transport, DeadlineBackend, httpcore.ConnectionPool)
    return transport


def async_deadline_transport(**options: Any) -> AsyncHTTPTransport:
    """An `httpx.AsyncHTTPTransport(**options)` on `AsyncDeadlineBackend`."""
    transport = AsyncHTTPTransport(**options)
    _install(transport, AsyncDeadlineBackend, httpcore.AsyncConnectionPool)
    return transport
