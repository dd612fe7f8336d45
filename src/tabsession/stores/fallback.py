"""Keep working while a shared store is down: `FallbackStore(primary, MemoryStore())`.

While `primary` answers, every call goes to it. When it raises `StoreUnavailable` (Redis down or
hung, a directory that cannot be written), the wrapper logs one warning and serves the call, and
the next ones, from `local` (process memory by default). Every `retry_interval` seconds one call
tries the primary again; as soon as it answers, the wrapper is back on it (logged at INFO), so a
Redis outage costs a few sign-ins, never a permanent split.

Falling back has a price with a personal access token: processes that fall back no longer share
their session, and each one's sign-in ends the others' (Tableau allows one session per PAT). The
client's breaker bounds those sign-ins; the warning says so. With passwords or connected apps the
only cost is one extra session per process.

A sign-in lock is released (and a publish made) in the store where it was taken, whichever store
serves the other calls by then, so no lock is ever left behind in process memory. Configuration
errors (e.g. Redis rejecting the credentials) are not outages: they propagate.

`AsyncFallbackStore` is the asyncio twin (async primary, `AsyncMemoryStore()` by default).
`RedisStore(url, fallback="local")` is a shorthand for `FallbackStore(RedisStore(url))`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

from tabsession.errors import StoreUnavailable
from tabsession.stores.base import AsyncTokenStore, StoredSession, TokenStore
from tabsession.stores.memory import AsyncMemoryStore, MemoryStore

__all__ = ["DEFAULT_RETRY_INTERVAL", "AsyncFallbackStore", "FallbackStore"]

logger = logging.getLogger("tabsession.stores")

DEFAULT_RETRY_INTERVAL: Final = 2.0
_S = TypeVar("_S")
_T = TypeVar("_T")


class _Route(Generic[_S]):
    """Which store serves the next call, and where each held lock was taken (shared logic)."""

    def __init__(self, primary: _S, local: _S, retry_interval: float, owner: object) -> None:
        if not retry_interval > 0:
            raise ValueError(f"retry_interval must be > 0 seconds, not {retry_interval!r}")
        self.primary = primary
        self.local = local
        self._retry_interval = float(retry_interval)
        self._owner = owner
        self._retry_at: float | None = None  # monotonic time of the next try; None: on primary
        self._warned = False
        self._locks: dict[tuple[str, str], _S] = {}
        self._mutex = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self._retry_at is not None

    def try_primary(self) -> bool:
        retry_at = self._retry_at
        return retry_at is None or time.monotonic() >= retry_at

    def failed(self, exc: StoreUnavailable) -> None:
        with self._mutex:
            first_outage = not self._warned
            was_degraded = self._retry_at is not None
            self._warned = True
            self._retry_at = time.monotonic() + self._retry_interval
        if first_outage:
            logger.warning(
                "%r: the primary store is unavailable (%s). Sessions are kept in process memory "
                "until it answers again (retried every %g s). Other processes no longer share "
                "this one's session: with a personal access token, their sign-ins end each "
                "other's sessions (the breaker bounds them).",
                self._owner,
                exc,
                self._retry_interval,
            )
        elif not was_degraded:
            logger.warning("%r: the primary store is unavailable again (%s)", self._owner, exc)

    def answered(self) -> None:
        if self._retry_at is None:
            return
        with self._mutex:
            self._retry_at = None
        logger.info("%r: the primary store answers again; using it", self._owner)

    def took(self, key: str, owner: str, store: _S) -> None:
        with self._mutex:
            self._locks[(key, owner)] = store

    def holder(self, key: str, owner: str, *, forget: bool = False) -> _S | None:
        with self._mutex:
            if forget:
                return self._locks.pop((key, owner), None)
            return self._locks.get((key, owner))


class FallbackStore:
    """A `TokenStore` that uses `primary` while it answers and `local` while it does not.

    `local` defaults to a new `MemoryStore()`. `retry_interval` (default 2 s) is how often a
    call tries the primary again during an outage: lower it to return sooner, raise it if each
    try is slow (a hung Redis costs its socket timeout per try).
    """

    def __init__(
        self,
        primary: TokenStore,
        local: TokenStore | None = None,
        *,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        self._route: _Route[TokenStore] = _Route(
            primary, local if local is not None else MemoryStore(), retry_interval, self
        )

    @property
    def primary(self) -> TokenStore:
        return self._route.primary

    @property
    def local(self) -> TokenStore:
        return self._route.local

    @property
    def degraded(self) -> bool:
        """True while calls go to `local` (the primary failed and has not answered since)."""
        return self._route.degraded

    def _call(self, call: Callable[[TokenStore], _T]) -> tuple[TokenStore, _T]:
        route = self._route
        if route.try_primary():
            try:
                result = call(route.primary)
            except StoreUnavailable as exc:
                route.failed(exc)
            else:
                route.answered()
                return route.primary, result
        return route.local, call(route.local)

    def _on(self, store: TokenStore, call: Callable[[TokenStore], _T], otherwise: _T) -> _T:
        """`call` on the store a lock was taken in; `otherwise` if that store is down."""
        try:
            return call(store)
        except StoreUnavailable as exc:
            if store is not self._route.primary:
                raise
            self._route.failed(exc)
            return otherwise

    def now(self) -> float:
        return self._call(lambda s: s.now())[1]

    def load(self, key: str) -> StoredSession | None:
        return self._call(lambda s: s.load(key))[1]

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        store, acquired = self._call(lambda s: s.acquire(key, owner, ttl))
        if acquired:
            self._route.took(key, owner, store)
        return acquired

    def release(self, key: str, owner: str) -> None:
        store = self._route.holder(key, owner, forget=True)
        if store is not None:  # a lock left in a store that is down expires by its ttl
            self._on(store, lambda s: s.release(key, owner), None)

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        store = self._route.holder(key, owner)
        if store is None:
            return False  # `owner` holds no lock taken through this store
        return self._on(store, lambda s: s.publish(key, record, owner), False)

    def touch(self, key: str, generation: int, at: float) -> None:
        self._call(lambda s: s.touch(key, generation, at))

    def wait(self, key: str, generation: int, timeout: float) -> None:
        self._call(lambda s: s.wait(key, generation, timeout))

    def close(self) -> None:
        self._route.local.close()
        self._route.primary.close()

    def __repr__(self) -> str:
        mode = ", degraded to local" if self._route.degraded else ""
        return f"FallbackStore({self._route.primary!r}{mode})"


class AsyncFallbackStore:
    """The asyncio twin of `FallbackStore`: an async `primary`, `AsyncMemoryStore()` by
    default as `local`, the same routing."""

    def __init__(
        self,
        primary: AsyncTokenStore,
        local: AsyncTokenStore | None = None,
        *,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        self._route: _Route[AsyncTokenStore] = _Route(
            primary, local if local is not None else AsyncMemoryStore(), retry_interval, self
        )

    @property
    def primary(self) -> AsyncTokenStore:
        return self._route.primary

    @property
    def local(self) -> AsyncTokenStore:
        return self._route.local

    @property
    def degraded(self) -> bool:
        """True while calls go to `local` (the primary failed and has not answered since)."""
        return self._route.degraded

    async def _call(
        self, call: Callable[[AsyncTokenStore], Awaitable[_T]]
    ) -> tuple[AsyncTokenStore, _T]:
        route = self._route
        if route.try_primary():
            try:
                result = await call(route.primary)
            except StoreUnavailable as exc:
                route.failed(exc)
            else:
                route.answered()
                return route.primary, result
        return route.local, await call(route.local)

    async def _on(
        self,
        store: AsyncTokenStore,
        call: Callable[[AsyncTokenStore], Awaitable[_T]],
        otherwise: _T,
    ) -> _T:
        try:
            return await call(store)
        except StoreUnavailable as exc:
            if store is not self._route.primary:
                raise
            self._route.failed(exc)
            return otherwise

    async def now(self) -> float:
        return (await self._call(lambda s: s.now()))[1]

    async def load(self, key: str) -> StoredSession | None:
        return (await self._call(lambda s: s.load(key)))[1]

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        store, acquired = await self._call(lambda s: s.acquire(key, owner, ttl))
        if acquired:
            self._route.took(key, owner, store)
        return acquired

    async def release(self, key: str, owner: str) -> None:
        store = self._route.holder(key, owner, forget=True)
        if store is not None:
            await self._on(store, lambda s: s.release(key, owner), None)

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        store = self._route.holder(key, owner)
        if store is None:
            return False
        return await self._on(store, lambda s: s.publish(key, record, owner), False)

    async def touch(self, key: str, generation: int, at: float) -> None:
        await self._call(lambda s: s.touch(key, generation, at))

    async def wait(self, key: str, generation: int, timeout: float) -> None:
        await self._call(lambda s: s.wait(key, generation, timeout))

    async def close(self) -> None:
        await self._route.local.close()
        await self._route.primary.close()

    def __repr__(self) -> str:
        mode = ", degraded to local" if self._route.degraded else ""
        return f"AsyncFallbackStore({self._route.primary!r}{mode})"
