"""RedisStore / AsyncRedisStore specifics, against a real redis-server started by the tests:
Lua fencing under concurrency, lock expiry, the server clock, a server that dies or hangs
mid-run, the local fallback, secrets in messages, and the optional import."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

import pytest
import redis

import tabsession.stores
from tabsession.errors import ConfigurationError, StoreUnavailable
from tabsession.stores import StoredSession, session_key
from tabsession.stores.redis import AsyncRedisStore, RedisStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared _redis helper
from _redis import RedisServer, require_redis, running_redis

pytestmark = pytest.mark.redis

SERVER = "https://tableau.example.com"
SITE = "finance"
CREDENTIAL = "pat:ci-bot"
KEY = session_key(SERVER, SITE, CREDENTIAL)
T0 = 1_700_000_000.25
SECRET = "SECRET-TOKEN-DO-NOT-LOG"


class Timeouts(TypedDict):
    socket_timeout: float
    connect_timeout: float


FAST: Timeouts = {"socket_timeout": 0.5, "connect_timeout": 0.5}
BOUND = 0.5 + 0.5 + 1.0  # socket timeouts + 1 s


def make_record(generation: int, *, token: str | None = None, at: float = T0) -> StoredSession:
    return StoredSession(
        token=token if token is not None else f"{SECRET}-{generation}",
        site_id="site-id",
        site_content_url=SITE,
        user_id="user-1",
        generation=generation,
        signed_in_at=at,
        last_used_at=at,
        server=SERVER,
        credential_id=CREDENTIAL,
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[RedisServer]:
    """One server for the module; tests isolate themselves with a unique key prefix."""
    require_redis()
    with running_redis() as server:
        yield server


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of this test's own, which it may kill or pause."""
    require_redis()
    with running_redis() as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


@pytest.fixture
def raw(redis_url: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def store(redis_url: RedisServer, prefix: str) -> Iterator[RedisStore]:
    s = RedisStore(redis_url, prefix=prefix, poll_interval=0.01)
    yield s
    s.close()


@pytest.fixture
def store_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    caplog.set_level(logging.WARNING, logger="tabsession.stores")
    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("tabsession.stores")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def plain(record: StoredSession | None) -> StoredSession | None:
    """`record` with the credential id the tests publish (persistent stores write a keyed one)."""
    return None if record is None else replace(record, credential_id=CREDENTIAL)


def keyed_id(store: RedisStore) -> str:
    """The credential id `store` writes into records (a keyed hash of the key)."""
    return store._run(store._plans._writable()).credential_id(KEY)


def touch_script(store: RedisStore, args: list[object]) -> int:
    """The touch Lua script run directly (as a touch racing a publish would)."""
    return int(store._scripts.touch(client=store.client, keys=[store.record_key(KEY)], args=args))


def degraded(store: object) -> bool:
    """Whether a `fallback="local"` store (a FallbackStore) serves from process memory."""
    return bool(getattr(store, "degraded", False))


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- layout


def test_keys_hold_the_record_json_and_the_owner(
    redis_url: RedisServer, prefix: str, raw: redis.Redis
) -> None:
    store = RedisStore(redis_url, prefix=prefix, record_ttl=60)
    record = make_record(1)
    assert store.acquire(KEY, "owner-a", 5)
    assert store.publish(KEY, record, "owner-a")
    assert raw.get(store.lock_key(KEY)) == b"owner-a"
    assert 0 < raw.pttl(store.lock_key(KEY)) <= 5000
    stored = raw.get(store.record_key(KEY))
    assert stored is not None
    assert json.loads(stored) == {**record.to_dict(), "credential_id": keyed_id(store)}
    assert KEY not in store.record_key(KEY), "the client's key never reaches Redis"
    assert 0 < raw.pttl(store.record_key(KEY)) <= 60_000
    store.release(KEY, "owner-a")
    assert raw.exists(store.lock_key(KEY)) == 0
    store.close()


def test_records_expire_after_record_ttl_and_touch_refreshes_it(
    redis_url: RedisServer, prefix: str, raw: redis.Redis
) -> None:
    store = RedisStore(redis_url, prefix=prefix, record_ttl=30)
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(1), "owner")
    raw.pexpire(store.record_key(KEY), 1000)
    store.touch(KEY, 1, T0 + 10)
    assert raw.pttl(store.record_key(KEY)) > 10_000, "touch refreshes the record's TTL"
    raw.pexpire(store.record_key(KEY), 50)
    time.sleep(0.15)
    assert store.load(KEY) is None
    store.close()


# -- fencing


def test_lua_fencing_under_concurrency(redis_url: RedisServer, prefix: str) -> None:
    """16 threads race through acquire/publish/release with a lock TTL so short that holders
    regularly outlive their lock. Every publish that lands must be by the current lock holder and
    raise the generation: the stored generation never decreases, successful publishes form the
    sequence 1..N, and late writers are refused."""
    stores = [RedisStore(redis_url, prefix=prefix, poll_interval=0.005) for _ in range(4)]
    stop_at = time.monotonic() + 1.5
    guard = threading.Lock()
    published: list[int] = []
    refused_late = 0
    rogue_accepted = 0
    monitor_regressions: list[tuple[int, int]] = []
    stop_monitor = threading.Event()

    def worker(index: int) -> None:
        nonlocal refused_late, rogue_accepted
        rng = random.Random(index)
        store = stores[index % len(stores)]
        while time.monotonic() < stop_at:
            owner = f"worker-{index}-{uuid.uuid4().hex[:8]}"
            if store.publish(KEY, make_record(10**9), owner):  # never held the lock
                with guard:
                    rogue_accepted += 1
            current = store.load(KEY)
            seen = current.generation if current else 0
            if not store.acquire(KEY, owner, 0.03):
                store.wait(KEY, seen, 0.05)
                continue
            current = store.load(KEY)
            generation = (current.generation if current else 0) + 1
            time.sleep(rng.choice((0, 0, 0, 0.001, 0.04)))  # 0.04 > ttl: the lock expires
            if store.publish(KEY, make_record(generation), owner):
                with guard:
                    published.append(generation)
            else:
                with guard:
                    refused_late += 1
            store.release(KEY, owner)

    def monitor() -> None:
        last = 0
        while not stop_monitor.is_set():
            current = stores[0].load(KEY)
            generation = current.generation if current else 0
            if generation < last:
                monitor_regressions.append((last, generation))
            last = generation

    watcher = threading.Thread(target=monitor)
    watcher.start()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stop_monitor.set()
    watcher.join(10)
    final = stores[0].load(KEY)
    for s in stores:
        s.close()

    assert rogue_accepted == 0
    assert monitor_regressions == []
    assert published, "no publish ever landed"
    assert published == list(range(1, len(published) + 1)), "generations skipped or repeated"
    assert final is not None
    assert final.generation == published[-1]
    assert refused_late > 0, "the test never produced a late writer"


def test_a_crashed_holders_lock_expires_and_its_late_publish_is_refused(
    redis_url: RedisServer, prefix: str
) -> None:
    crashed = RedisStore(redis_url, prefix=prefix)
    survivor = RedisStore(redis_url, prefix=prefix)
    assert crashed.acquire(KEY, "crashed", 0.3)
    assert not survivor.acquire(KEY, "survivor", 30)
    start = time.monotonic()
    while not survivor.acquire(KEY, "survivor", 30):
        assert time.monotonic() - start < 2.0, "the lock never expired"
        time.sleep(0.02)
    assert time.monotonic() - start >= 0.2
    assert not crashed.publish(KEY, make_record(1), "crashed"), "late writer"
    crashed.release(KEY, "crashed")  # must not free the survivor's lock
    assert not crashed.acquire(KEY, "third", 30)
    assert survivor.publish(KEY, make_record(1), "survivor")
    assert plain(crashed.load(KEY)) == make_record(1)
    crashed.close()
    survivor.close()


def test_touch_updates_only_the_current_generation(store: RedisStore, raw: redis.Redis) -> None:
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(2), "owner")
    store.touch(KEY, 1, T0 + 100)
    assert plain(store.load(KEY)) == make_record(2)
    store.touch(KEY, 2, T0 + 100)  # allowed while the lock is held (Redis does not need it)
    assert plain(store.load(KEY)) == make_record(2).touched(T0 + 100)
    assert store.publish(KEY, make_record(3), "owner")
    store.touch(KEY, 2, T0 + 200)
    assert plain(store.load(KEY)) == make_record(3)


def test_the_lua_touch_itself_ignores_a_superseded_generation(store: RedisStore) -> None:
    """touch() reads, then runs the script: a publish can land in between. Call the script as a
    touch racing a publish would, with the old generation's touched record."""
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(1), "owner")
    assert store.publish(KEY, make_record(2), "owner")
    cid = keyed_id(store)
    stale = json.dumps({**make_record(1).touched(T0 + 50).to_dict(), "credential_id": cid})
    assert touch_script(store, [1, repr(T0 + 50), stale, 60_000]) == 0
    assert plain(store.load(KEY)) == make_record(2)
    fresh = json.dumps({**make_record(2).touched(T0 + 50).to_dict(), "credential_id": cid})
    assert touch_script(store, [2, repr(T0 + 50), fresh, 60_000]) == 1
    older = json.dumps({**make_record(2).touched(T0 + 20).to_dict(), "credential_id": cid})
    assert touch_script(store, [2, repr(T0 + 20), older, 60_000]) == 0
    assert plain(store.load(KEY)) == make_record(2).touched(T0 + 50)


# -- clock


def test_now_is_the_servers_clock(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: 42.0)  # a wildly wrong local clock
    server_now = store.now()
    monkeypatch.undo()
    assert abs(server_now - real) < 2.0
    assert server_now != 42.0

    async def async_now() -> float:
        async_store = AsyncRedisStore(store_url(store), prefix=store.prefix)
        try:
            return await async_store.now()
        finally:
            await async_store.close()

    assert abs(asyncio.run(async_now()) - time.time()) < 2.0


def store_url(store: RedisStore) -> str:
    kwargs = store._client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"


# -- Redis going away


def sync_operations(store: RedisStore) -> dict[str, Callable[[], object]]:
    return {
        "now": store.now,
        "load": lambda: store.load(KEY),
        "acquire": lambda: store.acquire(KEY, "owner-2", 5),
        "publish": lambda: store.publish(KEY, make_record(2), "owner"),
        "release": lambda: store.release(KEY, "owner"),
        "touch": lambda: store.touch(KEY, 1, T0 + 1),
        "wait": lambda: store.wait(KEY, 1, 10.0),
    }


def async_operations(store: AsyncRedisStore) -> dict[str, Callable[[], Awaitable[object]]]:
    return {
        "now": store.now,
        "load": lambda: store.load(KEY),
        "acquire": lambda: store.acquire(KEY, "owner-2", 5),
        "publish": lambda: store.publish(KEY, make_record(2), "owner"),
        "release": lambda: store.release(KEY, "owner"),
        "touch": lambda: store.touch(KEY, 1, T0 + 1),
        "wait": lambda: store.wait(KEY, 1, 10.0),
    }


def assert_unavailable_fast(name: str, call: Callable[[], object], port: int) -> None:
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        call()
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, f"{name} took {elapsed:.2f} s"
    assert f"Redis at 127.0.0.1:{port} is unreachable" in str(info.value), name


def test_server_killed_mid_run_every_call_fails_fast(own_server: RedisServer) -> None:
    store = RedisStore(own_server, **FAST)
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(1), "owner")
    own_server.kill()
    for name, call in sync_operations(store).items():
        assert_unavailable_fast(name, call, own_server.port)
    store.close()


def test_async_server_killed_mid_run_every_call_fails_fast(own_server: RedisServer) -> None:
    async def main() -> None:
        store = AsyncRedisStore(own_server, **FAST)
        assert await store.acquire(KEY, "owner", 5)
        assert await store.publish(KEY, make_record(1), "owner")
        own_server.kill()
        for name, call in async_operations(store).items():
            start = time.monotonic()
            with pytest.raises(StoreUnavailable, match="is unreachable"):
                await call()
            assert time.monotonic() - start < BOUND, name
        await store.close()

    asyncio.run(main())


def test_a_hung_server_costs_at_most_the_socket_timeout(own_server: RedisServer) -> None:
    store = RedisStore(own_server, **FAST)
    assert store.acquire(KEY, "owner", 5)
    own_server.pause()  # SIGSTOP: connections are accepted, nothing is ever answered
    try:
        operations = sync_operations(store)
        for name in ("load", "publish", "wait"):
            assert_unavailable_fast(name, operations[name], own_server.port)
    finally:
        own_server.resume()
    assert store.load(KEY) is None, "works again once the server answers"
    store.close()


def test_async_hung_server_costs_at_most_the_socket_timeout(own_server: RedisServer) -> None:
    async def main() -> None:
        store = AsyncRedisStore(own_server, **FAST)
        assert await store.acquire(KEY, "owner", 5)
        own_server.pause()
        try:
            for name in ("load", "acquire"):
                start = time.monotonic()
                with pytest.raises(StoreUnavailable, match="is unreachable"):
                    await async_operations(store)[name]()
                assert time.monotonic() - start < BOUND, name
        finally:
            own_server.resume()
        assert await store.load(KEY) is None
        await store.close()

    asyncio.run(main())


def test_fallback_local_warns_once_and_keeps_working(
    own_server: RedisServer, store_warnings: list[logging.LogRecord]
) -> None:
    store = RedisStore(own_server, fallback="local", **FAST)
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(1), "owner")
    assert not degraded(store)
    own_server.kill()

    start = time.monotonic()
    assert store.load(KEY) is None, "process memory starts empty"
    assert time.monotonic() - start < BOUND
    assert degraded(store)
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(2), "owner")
    assert plain(store.load(KEY)) == make_record(2)
    store.touch(KEY, 2, T0 + 5)
    store.wait(KEY, 1, 5.0)
    store.release(KEY, "owner")
    assert abs(store.now() - time.time()) < 2
    assert len(store_warnings) == 1
    message = store_warnings[0].getMessage()
    assert f"127.0.0.1:{own_server.port}" in message
    assert "process memory" in message
    assert "personal access token" in message, "the PAT caveat is in the one warning"
    assert "degraded" in repr(store)
    store.close()


def test_async_fallback_local_warns_once_and_keeps_working(
    store_warnings: list[logging.LogRecord],
) -> None:
    async def main() -> None:
        store = AsyncRedisStore(f"redis://127.0.0.1:{dead_port()}/0", fallback="local", **FAST)
        assert await store.load(KEY) is None
        assert degraded(store)
        assert await store.acquire(KEY, "owner", 5)
        assert await store.publish(KEY, make_record(1), "owner")
        assert plain(await store.load(KEY)) == make_record(1)
        await store.wait(KEY, 0, 5.0)
        await store.release(KEY, "owner")
        await store.close()

    asyncio.run(main())
    assert len(store_warnings) == 1


def test_messages_and_repr_never_show_the_password() -> None:
    port = dead_port()
    for url in (
        f"redis://tabsession:hunter2-PASSWORD@127.0.0.1:{port}/0",
        f"redis://127.0.0.1:{port}/0?password=hunter2-PASSWORD",
    ):
        store = RedisStore(url, **FAST)
        assert "hunter2" not in repr(store)
        with pytest.raises(StoreUnavailable) as info:
            store.load(KEY)
        text = str(info.value)
        assert f"Redis at 127.0.0.1:{port} is unreachable" in text
        chain: BaseException | None = info.value
        while chain is not None:
            assert "hunter2" not in str(chain)
            chain = chain.__cause__
        store.close()


def test_rejected_credentials_are_not_unreachable_and_never_fall_back() -> None:
    require_redis()
    with running_redis("--requirepass", "right-PASSWORD") as server:
        url = f"redis://:wrong-PASSWORD@127.0.0.1:{server.port}/0"
        for fallback in ("error", "local"):
            store = RedisStore(url, fallback=fallback, **FAST)
            with pytest.raises(ConfigurationError, match="rejected the credentials") as info:
                store.load(KEY)
            assert "PASSWORD" not in str(info.value)
            assert not degraded(store)
            store.close()
        good = RedisStore(f"redis://:right-PASSWORD@127.0.0.1:{server.port}/0", **FAST)
        assert good.load(KEY) is None
        good.close()


def test_the_lua_fence_itself_refuses_equal_and_older_generations(store: RedisStore) -> None:
    """publish() pre-checks in Python; the script must hold on its own (a race past the
    pre-check), so call it directly."""
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(5), "owner")
    keys = [store.lock_key(KEY), store.record_key(KEY)]
    cid = keyed_id(store)

    def script(generation: int, owner: str = "owner") -> int:
        record = json.dumps({**make_record(generation).to_dict(), "credential_id": cid})
        args = [owner, generation, record, 60_000, ""]
        return int(store._scripts.publish(client=store.client, keys=keys, args=args))

    assert script(5) == -1
    assert script(4) == -1
    assert script(9, owner="someone-else") == 0
    assert plain(store.load(KEY)) == make_record(5)
    assert script(6) == 1
    assert plain(store.load(KEY)) == make_record(6)


def test_a_supplied_client_is_used_and_left_open(redis_url: RedisServer, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(client=client, prefix=prefix)
    assert store.acquire(KEY, "owner", 5)
    store.close()
    assert client.ping()
    assert client.get(store.lock_key(KEY)) == b"owner"
    client.close()


# -- untrusted values


@pytest.mark.parametrize(
    "value",
    [
        b'{"format": 1, "token": "' + SECRET.encode() + b'", "gen',
        b"\xff" + SECRET.encode(),
        json.dumps({**make_record(1).to_dict(), "format": 99}).encode(),
        json.dumps({**make_record(1).to_dict(), "site_content_url": "elsewhere"}).encode(),
    ],
    ids=["truncated", "binary", "other-format", "foreign-identity"],
)
def test_bad_values_are_ignored_with_one_warning_and_overwritten(
    store: RedisStore,
    prefix: str,
    raw: redis.Redis,
    store_warnings: list[logging.LogRecord],
    value: bytes,
) -> None:
    raw.set(store.record_key(KEY), value)
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    assert len(store_warnings) == 1
    assert SECRET not in store_warnings[0].getMessage()
    assert store.acquire(KEY, "owner", 5)
    assert store.publish(KEY, make_record(1), "owner"), "a bad value never blocks a publish"
    assert plain(store.load(KEY)) == make_record(1)


# -- asyncio


def test_async_single_flight_across_sync_and_async_stores(
    redis_url: RedisServer, prefix: str
) -> None:
    sync_store = RedisStore(redis_url, prefix=prefix)

    async def main() -> list[int]:
        store = AsyncRedisStore(redis_url, prefix=prefix, poll_interval=0.005)
        published: list[int] = []
        stop_at = asyncio.get_running_loop().time() + 0.5

        async def task(index: int) -> None:
            owner = f"task-{index}"
            while asyncio.get_running_loop().time() < stop_at:
                current = await store.load(KEY)
                if not await store.acquire(KEY, owner, 5):
                    await store.wait(KEY, current.generation if current else 0, 0.1)
                    continue
                try:
                    current = await store.load(KEY)
                    generation = (current.generation if current else 0) + 1
                    await asyncio.sleep(0)
                    if await store.publish(KEY, make_record(generation), owner):
                        published.append(generation)
                finally:
                    await store.release(KEY, owner)

        await asyncio.gather(*(task(i) for i in range(20)))
        await store.close()
        return published

    published = asyncio.run(main())
    assert published == list(range(1, len(published) + 1))
    assert plain(sync_store.load(KEY)) == make_record(published[-1])
    sync_store.close()


# -- optional dependency


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    src = Path(next(iter(tabsession.stores.__path__))).parents[1]
    path = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_importing_tabsession_stores_does_not_import_redis() -> None:
    result = _run_python(
        "import sys\n"
        "import tabsession.stores as stores\n"
        "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
        "stores.RedisStore\n"
        "assert 'redis' in sys.modules\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_redis_stores_explain_the_missing_extra() -> None:
    result = _run_python(
        "import sys\n"
        "sys.modules['redis'] = None  # as if not installed\n"
        "import tabsession.stores as stores\n"
        "stores.FileStore, stores.MemoryStore\n"
        "try:\n"
        "    stores.AsyncRedisStore\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "tabsession[redis]"' in result.stdout


def test_lazy_names_are_listed() -> None:
    names: Any = dir(tabsession.stores)
    assert {"RedisStore", "AsyncRedisStore", "FileStore"} <= set(names)
    assert set(tabsession.stores.__all__) <= set(names)
    assert tabsession.stores.RedisStore is RedisStore


def test_records_of_the_unkeyed_scheme_are_never_found(store: RedisStore, raw: redis.Redis) -> None:
    for old_key in (f"tabsession:session:{KEY}", f"{store.prefix}session:{KEY}"):
        raw.set(old_key, json.dumps(make_record(7).to_dict()))
    raw.set(f"{store.prefix}lock:{KEY}", "an old holder")
    assert store.load(KEY) is None
    assert store.acquire(KEY, "me", 5), "an old-scheme lock does not block either"
    raw.set(store.record_key(KEY), json.dumps(make_record(7).to_dict()))
    assert store.load(KEY) is None, "an unkeyed credential id is refused"
    store.release(KEY, "me")


def test_the_secret_key_is_set_once_and_shared(redis_url: RedisServer, prefix: str) -> None:
    first, second = RedisStore(redis_url, prefix=prefix), RedisStore(redis_url, prefix=prefix)
    assert first.record_key(KEY) == second.record_key(KEY)
    other = RedisStore(redis_url, prefix=f"other-{prefix}")
    assert other.record_key(KEY).rsplit(":", 1)[1] != first.record_key(KEY).rsplit(":", 1)[1]
    for store in (first, second, other):
        store.close()


def test_the_twins_have_one_shape() -> None:
    """Both classes expose the same operations, each one statement running the shared plan of
    the same name (so the two cannot drift apart)."""
    import ast
    import inspect
    import textwrap

    from tabsession.stores import redis as module

    for cls in (module.RedisStore, module.AsyncRedisStore):
        for name in ("now", "load", "acquire", "release", "publish", "touch", "wait"):
            tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(cls, name))))
            function = tree.body[0]
            assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            body = [
                node
                for node in function.body
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            ]
            assert len(body) == 1, (cls.__name__, name, "one statement")
            assert f"self._plans.{name}(" in ast.unparse(body[0]), (cls.__name__, name)
    public = [
        {n for n in vars(cls) if not n.startswith("_")}
        for cls in (module.RedisStore, module.AsyncRedisStore)
    ]
    assert public[0] == public[1]
