"""One deadline for a whole blocking exchange, down to each socket operation.

httpx's timeouts apply to each read, write or connect: a server that trickles its status line
and headers a byte at a time never trips them. The async client bounds the whole exchange with
`asyncio.wait_for`; the blocking client cannot cancel a thread, so its own connection pool runs
on `DeadlineBackend`, whose sockets clamp every operation's timeout to what is left of the
deadline set for the current thread by `deadline_scope()`. Past it, the operation fails like an
ordinary timeout (`ConnectTimeout`, `ReadTimeout`, `WriteTimeout`).

A caller's own `http_client=` keeps its own transport: there the per-read bounds and the body
deadline of `transport.bounds` still apply, the header phase is bounded per read only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tabsession._httpx import HTTPTransport, httpcore

__all__ = ["DeadlineBackend", "deadline_scope", "deadline_transport"]

_local = threading.local()


@contextmanager
def deadline_scope(at: float) -> Iterator[None]:
    """Within the block, this thread's socket operations end by monotonic time `at`."""
    previous = getattr(_local, "at", None)
    _local.at = at
    try:
        yield
    finally:
        _local.at = previous


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at: float | None = getattr(_local, "at", None)
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


def deadline_transport(**options: Any) -> HTTPTransport:
    """An `httpx.HTTPTransport(**options)` whose connections run on `DeadlineBackend`.

    httpx has no public switch for the network backend, so it is set on the transport's pool
    before any connection exists; if a future httpx moves it, the transport is returned as is
    (per-read timeouts then still bound each operation)."""
    transport = HTTPTransport(**options)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport
