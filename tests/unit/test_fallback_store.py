"""FallbackStore specifics: it falls back on StoreUnavailable, warns once, returns to the primary
when it answers, and releases every lock in the store where it was taken."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tabsession.errors import ConfigurationError, StoreUnavailable
from tabsession.stores import (
    AsyncFallbackStore,
    AsyncMemoryStore,
    FallbackStore,
    MemoryStore,
    StoredSession,
    session_key,
)

KEY = session_key("https://tableau.example.com", "finance", "pat:ci-bot")
RETRY = 0.05


def record(generation: int) -> StoredSession:
    return StoredSession(
        token=f"token-{generation}",
        site_id="site",
        site_content_url="finance",
        user_id="user",
        generation=generation,
        signed_in_at=1.0,
        last_used_at=1.0,
        server="https://tableau.example.com",
        credential_id="pat:ci-bot",
    )


class Switchable(MemoryStore):
    """A MemoryStore that can be taken down (every call raises) and brought back."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0
        self.error: Exception = StoreUnavailable("primary down (test)")

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name in {"now", "load", "acquire", "release", "publish", "touch", "wait"}:
            self.calls += 1
            if self.down:
                raise self.error
        return value


@pytest.fixture
def warnings_seen(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.INFO, logger="tabsession.stores")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, entry: logging.LogRecord) -> None:
            records.append(entry)

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("tabsession.stores")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_falls_back_warns_once_and_returns_to_the_primary(
    warnings_seen: list[logging.LogRecord],
) -> None:
    primary = Switchable()
    store = FallbackStore(primary, retry_interval=RETRY)
    assert store.acquire(KEY, "a", 30)
    assert store.publish(KEY, record(1), "a")
    store.release(KEY, "a")
    assert not store.degraded

    primary.down = True
    assert store.load(KEY) is None, "process memory starts empty"
    assert store.degraded
    calls = primary.calls
    for _ in range(20):
        store.load(KEY)
    assert primary.calls == calls, "no call tries the primary again before retry_interval"

    for _ in range(3):  # outages after the first: one short warning each, not the long one
        time.sleep(RETRY * 1.5)
        store.load(KEY)
    warnings = [r for r in warnings_seen if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "personal access token" in warnings[0].getMessage()

    primary.down = False
    time.sleep(RETRY * 1.5)
    loaded = store.load(KEY)
    assert loaded is not None, "back on the primary's record"
    assert loaded.generation == 1
    assert not store.degraded
    assert any("answers again" in r.getMessage() for r in warnings_seen)

    primary.down = True
    time.sleep(RETRY * 1.5)
    store.load(KEY)
    warnings = [r for r in warnings_seen if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "again" in warnings[1].getMessage()


def test_a_lock_is_released_where_it_was_taken() -> None:
    primary, local = Switchable(), MemoryStore()
    store = FallbackStore(primary, local, retry_interval=RETRY)
    primary.down = True
    assert store.acquire(KEY, "a", 30), "taken in process memory"
    primary.down = False
    time.sleep(RETRY * 1.5)
    assert store.load(KEY) is None  # back on the primary
    assert store.publish(KEY, record(1), "a"), "published where the lock is"
    store.release(KEY, "a")
    assert local.acquire(KEY, "someone", 30), "the local lock was released, not leaked"
    local.release(KEY, "someone")

    assert store.acquire(KEY, "b", 30), "taken in the primary"
    primary.down = True
    assert not store.publish(KEY, record(2), "b"), "the primary holding the lock is down"
    store.release(KEY, "b")  # must not raise; the primary's lock expires by its ttl
    primary.down = False
    assert not primary.acquire(KEY, "c", 30), "the primary's lock could not be released"


def test_configuration_errors_are_not_outages() -> None:
    primary = Switchable()
    primary.error = ConfigurationError("Redis rejected the credentials (test)")
    primary.down = True
    store = FallbackStore(primary, retry_interval=RETRY)
    with pytest.raises(ConfigurationError):
        store.load(KEY)
    assert not store.degraded


def test_async_twin_falls_back_and_returns() -> None:
    class AsyncSwitchable(AsyncMemoryStore):
        down = False

        async def load(self, key: str) -> StoredSession | None:
            if self.down:
                raise StoreUnavailable("down (test)")
            return await super().load(key)

    async def main() -> None:
        primary = AsyncSwitchable()
        store = AsyncFallbackStore(primary, retry_interval=RETRY)
        assert await store.acquire(KEY, "a", 30)
        assert await store.publish(KEY, record(1), "a")
        await store.release(KEY, "a")
        primary.down = True
        assert await store.load(KEY) is None
        assert store.degraded
        primary.down = False
        await asyncio.sleep(RETRY * 1.5)
        loaded = await store.load(KEY)
        assert loaded is not None
        assert loaded.generation == 1
        assert not store.degraded
        await store.close()

    asyncio.run(main())


def test_redis_fallback_local_is_a_thin_alias() -> None:
    pytest.importorskip("redis")
    from tabsession.stores import AsyncRedisStore, RedisStore

    store = RedisStore("redis://127.0.0.1:1/0", fallback="local")
    assert isinstance(store, FallbackStore)
    assert isinstance(store.primary, RedisStore)
    store.close()
    async_store = AsyncRedisStore("redis://127.0.0.1:1/0", fallback="local")
    assert isinstance(async_store, AsyncFallbackStore)
    assert isinstance(async_store.primary, AsyncRedisStore)
    with pytest.raises(ValueError, match="fallback must be"):
        RedisStore("redis://127.0.0.1:1/0", fallback="memory")  # type: ignore[arg-type]
