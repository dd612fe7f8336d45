"""One contract, every store: MemoryStore, FileStore, RedisStore and their asyncio twins.

Each test gets a pair of stores `(a, b)` that share state the way two clients would: the same
instance for the in-memory stores, two instances on one directory / one Redis for the others
(so "another process" is exercised too). Async stores are driven through `SyncFacade`, which
runs every call on one event loop in a background thread, so the same test body (including
helper threads that publish or release while the main thread waits) covers both flavours.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tabsession.errors import StoreUnavailable
from tabsession.stores import (
    AsyncFallbackStore,
    AsyncFileStore,
    AsyncMemoryStore,
    AsyncTokenStore,
    FallbackStore,
    FileStore,
    MemoryStore,
    StoredSession,
    TokenStore,
    session_key,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared _redis helper
from _redis import RedisServer, require_redis, running_redis

T = TypeVar("T")

SERVER = "https://tableau.example.com"
SITE = "finance"
CREDENTIAL = "pat:ci-bot"
KEY = session_key(SERVER, SITE, CREDENTIAL)
OTHER_KEY = session_key(SERVER, "marketing", CREDENTIAL)
T0 = 1_700_000_000.123456


def make_record(
    generation: int, *, at: float = T0, site: str = SITE, token: str | None = None
) -> StoredSession:
    return StoredSession(
        token=token or f"secret-token-{generation}-{uuid.uuid4().hex}",
        site_id=f"site-id-{site}",
        site_content_url=site,
        user_id="user-1",
        generation=generation,
        signed_in_at=at,
        last_used_at=at,
        server=SERVER,
        credential_id=CREDENTIAL,
        api_version="3.21",
        young_deaths=((at - 60.5, 1.5, 0.0), (at, 2.0, 0.5)),
        learned={"absolute": [20.0, True, at, 0.0]},
    )


# -- fixtures


@pytest.fixture(scope="module")
def redis_url() -> Iterator[RedisServer]:
    require_redis()
    with running_redis() as server:
        yield server


class LoopThread:
    """An event loop running in a daemon thread; `run()` executes a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class SyncFacade:
    """The sync `TokenStore` interface over an `AsyncTokenStore` running on a `LoopThread`."""

    def __init__(self, runner: LoopThread, store: AsyncTokenStore) -> None:
        self._runner = runner
        self.store = store

    def now(self) -> float:
        return self._runner.run(self.store.now())

    def load(self, key: str) -> StoredSession | None:
        return self._runner.run(self.store.load(key))

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        return self._runner.run(self.store.acquire(key, owner, ttl))

    def release(self, key: str, owner: str) -> None:
        self._runner.run(self.store.release(key, owner))

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        return self._runner.run(self.store.publish(key, record, owner))

    def touch(self, key: str, generation: int, at: float) -> None:
        self._runner.run(self.store.touch(key, generation, at))

    def wait(self, key: str, generation: int, timeout: float) -> None:
        self._runner.run(self.store.wait(key, generation, timeout))

    def close(self) -> None:
        self._runner.run(self.store.close())

    def __repr__(self) -> str:
        return repr(self.store)


class DownStore:
    """A primary store that is down: every call raises `StoreUnavailable`."""

    def _down(self, *args: object) -> Any:
        raise StoreUnavailable("the primary store is down (test)")

    now = load = acquire = release = publish = touch = wait = _down

    def close(self) -> None:
        return None


class AsyncDownStore:
    async def _down(self, *args: object) -> Any:
        raise StoreUnavailable("the primary store is down (test)")

    now = load = acquire = release = publish = touch = wait = _down

    async def close(self) -> None:
        return None


KINDS = [
    "memory",
    "file",
    "redis",
    "fallback-file",
    "fallback-down",
    "async-memory",
    "async-file",
    "async-redis",
    "async-fallback-file",
    "async-fallback-down",
]


@pytest.fixture(
    params=[pytest.param(k, marks=pytest.mark.redis) if "redis" in k else k for k in KINDS]
)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """(a, b): two handles on one shared store, as two clients (or processes) would hold."""
    kind: str = request.param
    if kind == "memory":
        shared = MemoryStore()
        yield shared, shared
        return
    if kind == "file":
        a, b = FileStore(tmp_path, poll_interval=0.01), FileStore(tmp_path, poll_interval=0.01)
        yield a, b
        a.close()
        b.close()
        return
    if kind == "fallback-file":  # the primary answers: everything goes to it
        pair = [FallbackStore(FileStore(tmp_path, poll_interval=0.01)) for _ in range(2)]
        yield pair[0], pair[1]
        for store in pair:
            store.close()
        return
    if kind == "fallback-down":  # the primary is down: both fall back to one shared memory
        local = MemoryStore()
        down = FallbackStore(DownStore(), local), FallbackStore(DownStore(), local)
        yield down
        return
    if kind == "redis":
        from tabsession.stores import RedisStore

        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex}:"
        first = RedisStore(url, prefix=prefix, poll_interval=0.01)
        second = RedisStore(url, prefix=prefix, poll_interval=0.01)
        yield first, second
        first.close()
        second.close()
        return

    runner = LoopThread()
    factory: Callable[[], AsyncTokenStore]
    if kind == "async-memory":
        shared_async = AsyncMemoryStore()

        def factory() -> AsyncTokenStore:
            return shared_async
    elif kind == "async-file":

        def factory() -> AsyncTokenStore:
            return AsyncFileStore(tmp_path, poll_interval=0.01)
    elif kind == "async-fallback-file":

        def factory() -> AsyncTokenStore:
            return AsyncFallbackStore(AsyncFileStore(tmp_path, poll_interval=0.01))
    elif kind == "async-fallback-down":
        shared_local = AsyncMemoryStore()

        def factory() -> AsyncTokenStore:
            return AsyncFallbackStore(AsyncDownStore(), shared_local)
    else:
        from tabsession.stores import AsyncRedisStore

        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex}:"

        def factory() -> AsyncTokenStore:
            return AsyncRedisStore(url, prefix=prefix, poll_interval=0.01)

    async def make() -> AsyncTokenStore:  # created on the loop that will use it
        return factory()

    facades = [SyncFacade(runner, runner.run(make())) for _ in range(2)]
    try:
        yield facades[0], facades[1]
    finally:
        for facade in facades:
            facade.close()
        runner.close()


def plain(record: StoredSession | None) -> StoredSession | None:
    """`record` with the credential id the tests publish (persistent stores write a keyed one)."""
    return None if record is None else replace(record, credential_id=CREDENTIAL)


def later(delay: float, action: Callable[[], object]) -> threading.Thread:
    """Run `action` in a thread after `delay` seconds."""

    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def timed(action: Callable[[], object]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


# -- the contract


def test_implements_the_protocol(stores: tuple[Any, Any]) -> None:
    a, _ = stores
    inner = a.store if isinstance(a, SyncFacade) else a
    protocol = AsyncTokenStore if isinstance(a, SyncFacade) else TokenStore
    assert isinstance(inner, protocol)


def test_load_of_missing_key_is_none(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.load(KEY) is None
    assert b.load(KEY) is None


def test_record_round_trips(stores: tuple[Any, Any]) -> None:
    a, b = stores
    record = make_record(1)
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, record, "owner-a")
    assert plain(a.load(KEY)) == record
    assert plain(b.load(KEY)) == record
    assert b.load(OTHER_KEY) is None


def test_publish_requires_the_lock(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert not a.publish(KEY, make_record(1), "owner-a"), "nobody holds the lock"
    assert a.load(KEY) is None
    assert b.acquire(KEY, "owner-b", 30)
    assert not a.publish(KEY, make_record(1), "owner-a"), "another owner holds the lock"
    assert a.load(KEY) is None
    assert b.publish(KEY, make_record(1), "owner-b")
    b.release(KEY, "owner-b")
    assert not b.publish(KEY, make_record(2), "owner-b"), "released: no longer the holder"
    assert a.load(KEY) is not None
    assert a.load(KEY).generation == 1


def test_publish_fences_older_and_equal_generations(stores: tuple[Any, Any]) -> None:
    a, b = stores
    newest = make_record(5)
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, newest, "owner-a")
    assert not a.publish(KEY, make_record(5), "owner-a"), "equal generation"
    assert not a.publish(KEY, make_record(3), "owner-a"), "older generation"
    assert plain(b.load(KEY)) == newest, "the newer record stays"
    a.release(KEY, "owner-a")

    assert b.acquire(KEY, "owner-b", 30)
    assert not b.publish(KEY, make_record(4), "owner-b")
    assert plain(a.load(KEY)) == newest
    newer = make_record(6)
    assert b.publish(KEY, newer, "owner-b")
    assert plain(a.load(KEY)) == newer


def test_second_acquire_is_refused_even_for_the_same_owner(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.acquire(KEY, "owner-a", 30)
    assert not a.acquire(KEY, "owner-a", 30), "re-acquire by the holder"
    assert not a.acquire(KEY, "owner-x", 30)
    assert not b.acquire(KEY, "owner-a", 30)
    assert not b.acquire(KEY, "owner-b", 30)
    assert b.acquire(OTHER_KEY, "owner-b", 30), "other keys have their own lock"


def test_release_only_by_the_owner(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.acquire(KEY, "owner-a", 30)
    a.release(KEY, "owner-b")
    b.release(KEY, "owner-b")
    assert not b.acquire(KEY, "owner-b", 30), "a non-owner's release must not free the lock"
    a.release(KEY, "owner-a")
    assert b.acquire(KEY, "owner-b", 30)
    a.release(KEY, "owner-a")  # a stale release by the previous holder
    assert not a.acquire(KEY, "owner-c", 30), "the previous holder must not free the new lock"
    b.release(KEY, "owner-b")
    assert a.acquire(KEY, "owner-c", 30)


def test_wait_returns_promptly_on_a_new_generation(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, make_record(1), "owner-a")
    publisher = later(0.2, lambda: a.publish(KEY, make_record(2), "owner-a"))
    elapsed = timed(lambda: b.wait(KEY, 1, 10.0))
    publisher.join()
    assert 0.1 <= elapsed < 3.0
    assert b.load(KEY).generation == 2


def test_wait_returns_promptly_on_release(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.acquire(KEY, "owner-a", 30)
    releaser = later(0.2, lambda: a.release(KEY, "owner-a"))
    elapsed = timed(lambda: b.wait(KEY, 0, 10.0))
    releaser.join()
    assert 0.1 <= elapsed < 3.0


def test_wait_gives_up_after_the_timeout(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, make_record(1), "owner-a")
    elapsed = timed(lambda: b.wait(KEY, 1, 0.3))
    assert 0.25 <= elapsed < 2.0


def test_wait_returns_at_once_when_already_settled(stores: tuple[Any, Any]) -> None:
    a, b = stores
    assert timed(lambda: b.wait(KEY, 0, 10.0)) < 1.0, "lock free"
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, make_record(3), "owner-a")
    assert timed(lambda: b.wait(KEY, 2, 10.0)) < 1.0, "a newer generation is already stored"


def test_touch_only_for_the_current_generation(stores: tuple[Any, Any]) -> None:
    a, b = stores
    first = make_record(1, at=T0)
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, first, "owner-a")
    a.release(KEY, "owner-a")

    b.touch(KEY, 1, T0 + 50)
    assert plain(a.load(KEY)) == first.touched(T0 + 50)
    b.touch(KEY, 1, T0 + 10)
    assert a.load(KEY).last_used_at == T0 + 50, "touch never moves last_used_at back"
    b.touch(KEY, 0, T0 + 100)
    b.touch(KEY, 2, T0 + 100)
    assert a.load(KEY).last_used_at == T0 + 50, "touch of another generation is ignored"

    second = make_record(2, at=T0 + 60)
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, second, "owner-a")
    a.release(KEY, "owner-a")
    b.touch(KEY, 1, T0 + 200)
    assert plain(a.load(KEY)) == second, "a superseded generation's touch changes nothing"
    b.touch(KEY, 2, T0 + 70)
    assert plain(a.load(KEY)) == second.touched(T0 + 70)


def test_touch_of_a_missing_record_is_a_no_op(stores: tuple[Any, Any]) -> None:
    a, _ = stores
    a.touch(KEY, 1, T0)
    assert a.load(KEY) is None


def test_repr_never_shows_the_token(stores: tuple[Any, Any]) -> None:
    a, _ = stores
    record = make_record(1, token="tok-DO-NOT-LEAK-123")
    assert a.acquire(KEY, "owner-a", 30)
    assert a.publish(KEY, record, "owner-a")
    loaded = a.load(KEY)
    assert loaded is not None
    assert loaded.token == "tok-DO-NOT-LEAK-123"
    for text in (repr(record), str(record), repr(loaded), repr(a)):
        assert "DO-NOT-LEAK" not in text


def test_now_is_epoch_seconds(stores: tuple[Any, Any]) -> None:
    a, _ = stores
    assert abs(a.now() - time.time()) < 5.0


def test_single_flight_under_contention(stores: tuple[Any, Any]) -> None:
    """Threads on both handles run the client's R3 loop: one holder at a time, generations
    strictly increase, and every publish raises the generation by exactly one."""
    a, b = stores
    holders = 0
    overlaps = 0
    published: list[int] = []
    guard = threading.Lock()
    stop_at = time.monotonic() + 0.5

    def worker(index: int) -> None:
        nonlocal holders, overlaps
        store = a if index % 2 else b
        owner = f"worker-{index}"
        while time.monotonic() < stop_at:
            current = store.load(KEY)
            seen = current.generation if current else 0
            if not store.acquire(KEY, owner, 30):
                store.wait(KEY, seen, 0.2)
                continue
            try:
                with guard:
                    holders += 1
                    overlaps += holders > 1
                current = store.load(KEY)
                generation = (current.generation if current else 0) + 1
                if store.publish(KEY, make_record(generation), owner):
                    with guard:
                        published.append(generation)
                with guard:
                    holders -= 1
            finally:
                store.release(KEY, owner)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == 0
    assert published, "nobody ever got the lock"
    assert published == list(range(1, len(published) + 1))
    assert a.load(KEY).generation == published[-1]


def test_close_is_idempotent(stores: tuple[Any, Any]) -> None:
    a, _ = stores
    a.close()
    a.close()
