"""Run any synchronous `TokenStore` from asyncio: each call goes to a worker thread.

`ThreadedAsyncStore(store)` turns a sync store into an `AsyncTokenStore`. It is how
`AsyncFileStore` is built, and it works for any store written against the sync protocol (a
`MemoryStore` shared with sync clients, a custom store...). The event loop never blocks on the
store's I/O or locks.

`wait()` is the one method that could hold a worker thread for long. When the wrapped store offers
a non-blocking `settled(key, generation) -> bool` check and a `poll_interval` (as `FileStore`
does, see `SupportsSettled`), the adapter polls it from the event loop instead (5 ms first,
growing to `poll_interval`), so many waiting
tasks never exhaust the default thread pool, and cancelling a waiting task takes effect at once.
Other stores' `wait()` runs in a worker thread for up to its `timeout`.
"""

from __future__ import annotations

import asyncio
from typing import Generic, Protocol, TypeVar, runtime_checkable

from tabsession.stores.base import StoredSession, TokenStore, poll_delays

__all__ = ["SupportsSettled", "ThreadedAsyncStore"]

_Store = TypeVar("_Store", bound=TokenStore)


@runtime_checkable
class SupportsSettled(Protocol):
    """Optional extension of a sync store: one quick, non-blocking check of what `wait()` waits
    for (a generation newer than `generation` is stored, or the sign-in lock is free)."""

    @property
    def poll_interval(self) -> float: ...

    def settled(self, key: str, generation: int) -> bool: ...


class ThreadedAsyncStore(Generic[_Store]):
    """An `AsyncTokenStore` that runs a sync `TokenStore`'s methods with `asyncio.to_thread`.

    The wrapped store is shared, not copied: sync clients (threads) and async clients (tasks)
    given the same underlying store share one session. `close()` closes the wrapped store.
    """

    def __init__(self, store: _Store) -> None:
        self._store = store

    @property
    def sync_store(self) -> _Store:
        """The wrapped synchronous store."""
        return self._store

    async def now(self) -> float:
        return await asyncio.to_thread(self._store.now)

    async def load(self, key: str) -> StoredSession | None:
        return await asyncio.to_thread(self._store.load, key)

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        return await asyncio.to_thread(self._store.acquire, key, owner, ttl)

    async def release(self, key: str, owner: str) -> None:
        await asyncio.to_thread(self._store.release, key, owner)

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        return await asyncio.to_thread(self._store.publish, key, record, owner)

    async def touch(self, key: str, generation: int, at: float) -> None:
        await asyncio.to_thread(self._store.touch, key, generation, at)

    async def wait(self, key: str, generation: int, timeout: float) -> None:
        store: object = self._store
        if not isinstance(store, SupportsSettled):
            await asyncio.to_thread(self._store.wait, key, generation, timeout)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        for delay in poll_delays(store.poll_interval):
            if await asyncio.to_thread(store.settled, key, generation):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(delay, remaining))

    async def close(self) -> None:
        await asyncio.to_thread(self._store.close)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"
