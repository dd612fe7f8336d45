"""In-process stores: the default. One session shared by every thread (`MemoryStore`) or every
asyncio task (`AsyncMemoryStore`) of one client, or of several clients given the same store."""

from __future__ import annotations

import asyncio
import threading

from tabsession.clock import Clock, SystemClock
from tabsession.stores.base import StoredSession

__all__ = ["AsyncMemoryStore", "MemoryStore"]


class _Slots:
    """Records and lock owners, with no locking of its own (the callers lock)."""

    def __init__(self) -> None:
        self.records: dict[str, StoredSession] = {}
        self.owners: dict[str, str] = {}

    def acquire(self, key: str, owner: str) -> bool:
        if key in self.owners:
            return False
        self.owners[key] = owner
        return True

    def release(self, key: str, owner: str) -> bool:
        if self.owners.get(key) == owner:
            del self.owners[key]
            return True
        return False

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        current = self.records.get(key)
        if self.owners.get(key) != owner:
            return False
        if current is not None and record.generation <= current.generation:
            return False
        self.records[key] = record
        return True

    def touch(self, key: str, generation: int, at: float) -> None:
        current = self.records.get(key)
        if current is not None and current.generation == generation:
            self.records[key] = current.touched(at)

    def settled(self, key: str, generation: int) -> bool:
        current = self.records.get(key)
        newer = current is not None and current.generation > generation
        return newer or key not in self.owners


class MemoryStore:
    """Thread-safe in-memory store (the default for `Client`).

    Locks are plain in-process locks, so `ttl` is ignored: a holder always releases in `finally`.
    Share one instance between clients to make them share one session. `clock` dates records
    (default: the system clock; a client gives the store it creates its own clock).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._slots = _Slots()
        self._cond = threading.Condition()
        self._clock = clock or SystemClock()

    def now(self) -> float:
        return self._clock.time()

    def load(self, key: str) -> StoredSession | None:
        with self._cond:
            return self._slots.records.get(key)

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        with self._cond:
            return self._slots.acquire(key, owner)

    def release(self, key: str, owner: str) -> None:
        with self._cond:
            if self._slots.release(key, owner):
                self._cond.notify_all()

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        with self._cond:
            ok = self._slots.publish(key, record, owner)
            if ok:
                self._cond.notify_all()
            return ok

    def touch(self, key: str, generation: int, at: float) -> None:
        with self._cond:
            self._slots.touch(key, generation, at)

    def wait(self, key: str, generation: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._slots.settled(key, generation), timeout=timeout)

    # `SupportsSettled` (see stores._threaded): lets asyncio callers poll instead of parking a
    # worker thread in wait(), which would starve the thread pool the other store calls need.
    poll_interval = 0.005

    def settled(self, key: str, generation: int) -> bool:
        with self._cond:
            return self._slots.settled(key, generation)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryStore(records={len(self._slots.records)})"


class AsyncMemoryStore:
    """The asyncio twin of `MemoryStore` (the default for `AsyncClient`).

    Safe for the tasks of one event loop; to share a session with threads or a sync `Client`,
    give both a `MemoryStore` instead (the async client then calls it from a worker thread).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._slots = _Slots()
        self._changed: asyncio.Event | None = None
        self._clock = clock or SystemClock()

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        event = self._event()
        event.set()
        self._changed = asyncio.Event()

    async def now(self) -> float:
        return self._clock.time()

    async def load(self, key: str) -> StoredSession | None:
        return self._slots.records.get(key)

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        return self._slots.acquire(key, owner)

    async def release(self, key: str, owner: str) -> None:
        if self._slots.release(key, owner):
            self._notify()

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        ok = self._slots.publish(key, record, owner)
        if ok:
            self._notify()
        return ok

    async def touch(self, key: str, generation: int, at: float) -> None:
        self._slots.touch(key, generation, at)

    async def wait(self, key: str, generation: int, timeout: float) -> None:
        if self._slots.settled(key, generation):
            return
        event = self._event()
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"AsyncMemoryStore(records={len(self._slots.records)})"
