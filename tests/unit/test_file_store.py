"""FileStore specifics: permissions, atomic writes under SIGKILL, untrusted files, and the lock
across processes (spawned, never forked) and threads."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import multiprocessing
import os
import random
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.sharedctypes import Synchronized, SynchronizedArray
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

import pytest

from tabsession.errors import StoreUnavailable
from tabsession.stores import (
    AsyncFileStore,
    AsyncTokenStore,
    FileStore,
    MemoryStore,
    StoredSession,
    ThreadedAsyncStore,
    TokenStore,
    session_key,
)

SERVER = "https://tableau.example.com"
SITE = "finance"
CREDENTIAL = "pat:ci-bot"
KEY = session_key(SERVER, SITE, CREDENTIAL)
T0 = 1_700_000_000.5
SECRET = "SECRET-TOKEN-DO-NOT-LOG"
BIG_TOKEN_SIZE = 300_000  # big records make a kill in the middle of a write likely

spawn = multiprocessing.get_context("spawn")


def make_record(
    generation: int, *, token: str | None = None, site: str = SITE, at: float = T0
) -> StoredSession:
    return StoredSession(
        token=token if token is not None else f"{SECRET}-{generation}",
        site_id="site-id",
        site_content_url=site,
        user_id="user-1",
        generation=generation,
        signed_in_at=at,
        last_used_at=at,
        server=SERVER,
        credential_id=CREDENTIAL,
    )


def plain(record: StoredSession | None) -> StoredSession | None:
    """`record` with the credential id the tests publish (persistent stores write a keyed one)."""
    return None if record is None else replace(record, credential_id=CREDENTIAL)


def big_token(generation: int) -> str:
    return f"{generation}:" + "x" * BIG_TOKEN_SIZE


def put(store: FileStore, record: StoredSession, owner: str = "test") -> None:
    assert store.acquire(KEY, owner, 30)
    try:
        assert store.publish(KEY, record, owner)
    finally:
        store.release(KEY, owner)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FileStore]:
    s = FileStore(tmp_path / "sessions", poll_interval=0.01)
    yield s
    s.close()


@pytest.fixture
def store_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.WARNING, logger="tabsession.stores")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("tabsession.stores")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


# -- spawned workers (module level so 'spawn' children can import them)


def _contend(
    directory: str,
    index: int,
    barrier: Barrier,
    duration: float,
    holders: Synchronized[int],
    overlaps: Synchronized[int],
    holds: SynchronizedArray[int],
) -> None:
    store = FileStore(directory)
    owner = f"process-{index}"
    barrier.wait(30)
    stop_at = time.monotonic() + duration
    count = 0
    while time.monotonic() < stop_at:
        if not store.acquire(KEY, owner, 30):
            continue
        with holders.get_lock():
            holders.value += 1
            if holders.value > 1:
                overlaps.value += 1
        time.sleep(0.0005)  # hold a moment so that an overlap would be seen
        with holders.get_lock():
            holders.value -= 1
        store.release(KEY, owner)
        count += 1
    holds[index] = count


CRASH_TTL = 0.5  # lease of the holders these tests kill: how long their lock outlives them


def _hold_forever(directory: str, ready: Event) -> None:
    store = FileStore(directory)
    if store.acquire(KEY, "victim", CRASH_TTL):
        ready.set()
    time.sleep(120)


def _publish_forever(directory: str, progress: Synchronized[int]) -> None:
    store = FileStore(directory)
    while not store.acquire(KEY, "writer", CRASH_TTL):
        time.sleep(0.01)
    current = store.load(KEY)
    generation = current.generation if current else 0
    while True:
        generation += 1
        store.publish(KEY, make_record(generation, token=big_token(generation)), "writer")
        progress.value = generation


# -- directory and file permissions


def test_created_directories_are_0700_and_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "sessions"
    old_umask = os.umask(0)
    try:
        store = FileStore(directory)
        put(store, make_record(1))
    finally:
        os.umask(old_umask)
    assert mode_of(tmp_path / "state") == 0o700
    assert mode_of(directory) == 0o700
    name = store.record_path(KEY).stem
    assert name != KEY, "file names are keyed hashes, not the client's key"
    assert mode_of(directory / f"{name}.json") == 0o600
    assert mode_of(directory / f"{name}.lock") == 0o600
    assert mode_of(directory / "store.secret") == 0o600
    expected = sorted([f"{name}.json", f"{name}.lock", "store.secret"])
    assert sorted(p.name for p in directory.iterdir()) == expected
    record = json.loads((directory / f"{name}.json").read_text())
    assert record["generation"] == 1


def test_default_directory_follows_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    store = FileStore()
    assert store.directory == tmp_path / "xdg" / "tabsession" / "sessions"
    put(store, make_record(1))
    assert mode_of(tmp_path / "xdg" / "tabsession") == 0o700
    assert mode_of(store.directory) == 0o700
    assert AsyncFileStore().directory == store.directory


@pytest.mark.parametrize("xdg", [None, "", "relative/state"])
def test_default_directory_falls_back_to_local_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)  # relative paths are invalid per the XDG spec
    expected = tmp_path / "home" / ".local" / "state" / "tabsession" / "sessions"
    assert FileStore().directory == expected


def test_constructor_touches_nothing_on_disk(tmp_path: Path) -> None:
    FileStore(tmp_path / "later")
    assert not (tmp_path / "later").exists()
    assert FileStore(tmp_path / "later").load(KEY) is None
    assert not (tmp_path / "later").exists()


def test_unusable_directory_raises_store_unavailable_naming_it(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    directory = tmp_path / "plain-file" / "sessions"
    store = FileStore(directory)
    with pytest.raises(StoreUnavailable, match="plain-file/sessions"):
        store.acquire(KEY, "owner", 30)
    with pytest.raises(StoreUnavailable, match="plain-file/sessions"):
        store.publish(KEY, make_record(1), "owner")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_raises_store_unavailable(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    store = FileStore(directory)
    put(store, make_record(1))
    assert store.acquire(KEY, "owner", 30)
    directory.chmod(0o500)
    try:
        with pytest.raises(StoreUnavailable, match="permissions") as info:
            store.publish(KEY, make_record(2), "owner")
        assert str(directory) in str(info.value)
        store.touch(KEY, 1, T0 + 5)  # best effort: never raises
    finally:
        directory.chmod(0o700)
    assert plain(store.load(KEY)) == make_record(1)


def test_permission_errors_on_write_raise_store_unavailable(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as above, simulated, so that it also runs as root (which ignores permissions)."""
    put(store, make_record(1))
    assert store.acquire(KEY, "owner", 30)

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(StoreUnavailable) as info:
        store.publish(KEY, make_record(2), "owner")
    message = str(info.value)
    assert message.startswith(f"FileStore cannot write session files in {store.directory}: ")
    assert "Permission denied" in message
    assert "permissions" in message
    store.release(KEY, "owner")
    store.touch(KEY, 1, T0 + 5)  # best effort: swallowed
    monkeypatch.undo()
    assert plain(store.load(KEY)) == make_record(1)


def test_full_disk_raises_store_unavailable_and_keeps_the_old_record(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(store, make_record(1))
    assert store.acquire(KEY, "owner", 30)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StoreUnavailable, match="disk is full") as info:
        store.publish(KEY, make_record(2), "owner")
    assert str(store.directory) in str(info.value)
    store.release(KEY, "owner")
    store.touch(KEY, 1, T0 + 5)  # best effort: swallowed
    monkeypatch.undo()
    assert plain(store.load(KEY)) == make_record(1)
    assert [p.name for p in store.directory.iterdir() if p.name.endswith(".tmp")] == []


# -- atomic writes


def test_a_writer_killed_mid_write_never_leaves_a_torn_record(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    store = FileStore(directory)
    put(store, make_record(1, token=big_token(1)))
    rng = random.Random(1234)
    for _round in range(3):
        progress = spawn.Value("q", 0)
        writer = spawn.Process(target=_publish_forever, args=(str(directory), progress))
        writer.start()
        try:
            start = progress.value
            deadline = time.monotonic() + 20
            while progress.value < start + 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert progress.value >= start + 3, "the writer never got going"
            time.sleep(rng.uniform(0, 0.03))
        finally:
            writer.kill()
            writer.join(10)
        completed = progress.value
        for reader in (store, FileStore(directory)):
            loaded = reader.load(KEY)  # must never raise
            assert loaded is not None, "the last complete record must survive"
            assert loaded.generation >= completed
            assert loaded.token == big_token(loaded.generation), "torn record"
    # A new holder can publish once the last crashed writer's lease ran out, and sweeps the
    # orphaned temp files.
    current = store.load(KEY)
    assert current is not None
    deadline = time.monotonic() + CRASH_TTL + 2.0
    while not store.acquire(KEY, "test", 30):
        assert time.monotonic() < deadline, "the dead writer's lease never expired"
        time.sleep(0.01)
    assert store.publish(KEY, make_record(current.generation + 1), "test")
    store.release(KEY, "test")
    assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


def test_publish_sweeps_orphaned_temp_files(store: FileStore) -> None:
    put(store, make_record(1))
    orphan = store.directory / f".{store.record_path(KEY).stem}.abcd1234.tmp"
    orphan.write_text('{"format": 1, "tok')
    other = store.directory / ".someone-else.tmp"
    other.write_text("")
    assert plain(store.load(KEY)) == make_record(1)
    put(store, make_record(2))
    assert not orphan.exists()
    assert other.exists()


# -- untrusted files


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


FOREIGN_IDENTITY = make_record(1, site="someone-elses-site").to_dict()
BAD_CONTENT = {
    "truncated": b'{"format": 1, "token": "' + SECRET.encode() + b'", "site_id": "s',
    "empty": b"",
    "binary": b"\xff\xfe" + SECRET.encode(),
    "json-list": _json([SECRET]),
    "json-string": _json(SECRET),
    "other-format": _json({**make_record(1).to_dict(), "format": 2}),
    "missing-field": _json({k: v for k, v in make_record(1).to_dict().items() if k != "user_id"}),
    "bad-field-type": _json({**make_record(1).to_dict(), "generation": SECRET}),
    "infinite-generation": _json(make_record(1).to_dict()).replace(
        b'"generation": 1', b'"generation": Infinity'
    ),
    "foreign-identity": _json(FOREIGN_IDENTITY),
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("content", BAD_CONTENT.values(), ids=BAD_CONTENT.keys())
def test_bad_files_are_ignored_with_one_warning_per_state(
    store: FileStore, store_warnings: list[logging.LogRecord], content: bytes
) -> None:
    put(store, make_record(1))
    path = store.record_path(KEY)
    path.write_bytes(content)
    path.chmod(0o600)
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    store.wait(KEY, 0, 0.05)
    assert len(store_warnings) == 1, [r.getMessage() for r in store_warnings]
    message = store_warnings[0].getMessage()
    assert str(path) in message
    assert SECRET not in message
    assert "SECRET" not in message

    path.write_bytes(content + b" ")  # another state of the file: warned about again
    assert store.load(KEY) is None
    assert len(store_warnings) == 2

    put(store, make_record(2))  # a publish replaces the bad file
    assert plain(store.load(KEY)) == make_record(2)


def test_group_or_world_accessible_files_are_ignored(
    store: FileStore, store_warnings: list[logging.LogRecord]
) -> None:
    put(store, make_record(1))
    path = store.record_path(KEY)
    for mode in (0o640, 0o604, 0o660):
        path.chmod(mode)
        assert store.load(KEY) is None
    assert len(store_warnings) == 3
    assert all("accessible to other users" in r.getMessage() for r in store_warnings)
    assert all(SECRET not in r.getMessage() for r in store_warnings)
    path.chmod(0o600)
    assert plain(store.load(KEY)) == make_record(1)


def test_files_owned_by_another_user_are_ignored(
    store: FileStore, store_warnings: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    put(store, make_record(1))
    real_uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real_uid + 1)  # as seen by another account
    assert store.load(KEY) is None
    assert len(store_warnings) == 1
    assert "owned by uid" in store_warnings[0].getMessage()
    monkeypatch.undo()
    assert plain(store.load(KEY)) == make_record(1)


def test_symlinks_and_non_regular_files_are_ignored(
    store: FileStore, store_warnings: list[logging.LogRecord], tmp_path: Path
) -> None:
    put(store, make_record(1))
    path = store.record_path(KEY)
    elsewhere = tmp_path / "elsewhere.json"
    os.replace(path, elsewhere)
    path.symlink_to(elsewhere)
    assert store.load(KEY) is None
    path.unlink()
    os.mkfifo(path, 0o600)
    assert store.load(KEY) is None  # must not block on a FIFO either
    assert [("symbolic link" in r.getMessage()) for r in store_warnings] == [True, False]
    assert "not a regular file" in store_warnings[1].getMessage()


def test_invalid_keys_are_rejected(store: FileStore) -> None:
    for key in ("../escape", ".hidden", "", "a/b", "a.b", "x" * 129):
        with pytest.raises(ValueError, match="keys must be"):
            store.load(key)
        with pytest.raises(ValueError, match="keys must be"):
            store.settled(key, 0)
        with pytest.raises(ValueError, match="keys must be"):
            store.acquire(key, "owner", 30)


# -- the lock across processes and threads


def test_processes_never_hold_the_lock_together(tmp_path: Path) -> None:
    directory = str(tmp_path / "sessions")
    put(FileStore(directory), make_record(1))  # create the directory and the lock file
    workers = 8
    barrier = spawn.Barrier(workers + 1)
    holders = spawn.Value("i", 0)
    overlaps = spawn.Value("i", 0)
    holds = spawn.Array("i", workers)
    processes = [
        spawn.Process(target=_contend, args=(directory, i, barrier, 1.0, holders, overlaps, holds))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(60)
        for process in processes:
            process.join(30)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * workers
    assert overlaps.value == 0
    counts: list[int] = holds[:]
    assert sum(counts) > workers, f"too few acquisitions to prove anything: {counts}"
    assert sum(1 for n in counts if n) >= 2, f"only one process ever won: {counts}"


def test_a_killed_holders_lock_outlives_it_by_its_lease_then_frees(tmp_path: Path) -> None:
    """The OS frees the file lock when the holder dies, but its lease keeps the lock for `ttl`
    more: the dead holder's sign-in may still land on the server, and a sign-in made before it
    would be ended by it (one session per PAT)."""
    directory = str(tmp_path / "sessions")
    ready = spawn.Event()
    holder = spawn.Process(target=_hold_forever, args=(directory, ready))
    holder.start()
    try:
        assert ready.wait(30), "the holder never got the lock"
        store = FileStore(directory)
        assert not store.acquire(KEY, "me", 30)
        assert not store.settled(KEY, 0)
    finally:
        holder.kill()
        holder.join(10)
    died = time.monotonic()
    refused = 0
    while not store.acquire(KEY, "me", 30):
        assert time.monotonic() < died + CRASH_TTL + 2.0, "lock still held after its lease"
        assert not store.settled(KEY, 0), "waiters must keep waiting while the lease runs"
        refused += 1
        time.sleep(0.01)
    assert refused > 0, "the lock was free at once: the lease did not hold it"
    assert store.publish(KEY, make_record(1), "me")


def test_a_clean_release_frees_the_lock_at_once(store: FileStore) -> None:
    other = FileStore(store.directory)
    assert store.acquire(KEY, "first", 300)
    assert store.record_path(KEY).with_suffix(".lease").exists()
    store.release(KEY, "first")
    assert not store.record_path(KEY).with_suffix(".lease").exists()
    assert other.acquire(KEY, "second", 300), "a released lock is free whatever its ttl"
    other.close()
    assert not store.record_path(KEY).with_suffix(".lease").exists(), (
        "close() releases like release()"
    )


def test_threads_and_stores_in_one_process_never_share_the_lock(tmp_path: Path) -> None:
    first, second = FileStore(tmp_path), FileStore(tmp_path)
    holders = 0
    overlaps = 0
    holds = [0] * 8
    guard = threading.Lock()
    stop_at = time.monotonic() + 0.5

    def worker(index: int) -> None:
        nonlocal holders, overlaps
        store = first if index % 2 else second
        owner = f"thread-{index}"
        while time.monotonic() < stop_at:
            if not store.acquire(KEY, owner, 30):
                continue
            assert not store.acquire(KEY, owner, 30), "re-acquire by the holder"
            with guard:
                holders += 1
                overlaps += holders > 1
            time.sleep(0.0002)
            with guard:
                holders -= 1
            store.release(KEY, owner)
            holds[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == 0
    assert sum(1 for n in holds if n) >= 2, holds


def test_release_from_another_thread_than_acquire(store: FileStore) -> None:
    acquired = threading.Event()

    def take() -> None:
        if store.acquire(KEY, "owner", 30):
            acquired.set()

    threading.Thread(target=take).start()
    assert acquired.wait(5)
    other = FileStore(store.directory)
    assert not other.acquire(KEY, "other", 30)
    store.release(KEY, "owner")
    assert other.acquire(KEY, "other", 30)
    other.close()


def test_publish_refused_when_the_lock_file_was_replaced_under_the_holder(
    store: FileStore, store_warnings: list[logging.LogRecord]
) -> None:
    other = FileStore(store.directory)
    assert store.acquire(KEY, "first", 30)
    for suffix in (".lock", ".lease"):  # e.g. someone cleaned the directory
        store.record_path(KEY).with_suffix(suffix).unlink()
    assert other.acquire(KEY, "second", 30), "a new lock file, a new holder"
    assert not store.publish(KEY, make_record(1), "first")
    assert any("removed or replaced" in r.getMessage() for r in store_warnings)
    assert other.publish(KEY, make_record(1), "second")
    other.close()


def test_touch_never_resurrects_an_old_generation(tmp_path: Path) -> None:
    """Touchers hammer the record while generations are published: the stored generation never
    goes back and ends at the last published one."""
    publisher, toucher = FileStore(tmp_path, lock_timeout=0.01), FileStore(tmp_path)
    put(publisher, make_record(1))
    stop = threading.Event()
    seen: dict[int, list[int]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def touch_loop(index: int, store: FileStore) -> None:
        try:
            while not stop.is_set():
                current = store.load(KEY)
                if current is not None:
                    seen[index].append(current.generation)
                    store.touch(KEY, current.generation, time.time())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=touch_loop, args=(i, s)) for i, s in enumerate((toucher, publisher))
    ]
    for thread in threads:
        thread.start()
    try:
        for generation in range(2, 40):
            deadline = time.monotonic() + 5
            while not publisher.acquire(KEY, "publisher", 30):
                assert time.monotonic() < deadline
            assert publisher.publish(KEY, make_record(generation), "publisher")
            publisher.release(KEY, "publisher")
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not errors
    final = toucher.load(KEY)
    assert final is not None
    assert final.generation == 39
    assert final.token == make_record(39).token
    for generations in seen.values():
        assert generations, "the toucher never ran"
        assert generations == sorted(generations), "a stored generation went backwards"


def test_touch_is_skipped_while_a_sign_in_holds_the_lock(store: FileStore) -> None:
    put(store, make_record(1))
    other = FileStore(store.directory)
    assert other.acquire(KEY, "signing-in", 30)
    elapsed = time.monotonic()
    store.touch(KEY, 1, T0 + 100)
    elapsed = time.monotonic() - elapsed
    assert elapsed < 1.0
    assert plain(store.load(KEY)) == make_record(1)
    other.release(KEY, "signing-in")
    store.touch(KEY, 1, T0 + 100)
    assert plain(store.load(KEY)) == make_record(1).touched(T0 + 100)
    other.close()


def test_close_releases_held_locks(store: FileStore) -> None:
    other = FileStore(store.directory)
    assert store.acquire(KEY, "owner", 30)
    store.close()
    assert other.acquire(KEY, "other", 30)
    other.close()


# -- asyncio


def test_async_file_store_shares_with_sync_and_waits_on_the_loop(tmp_path: Path) -> None:
    sync_store = FileStore(tmp_path)

    async def main() -> None:
        store = AsyncFileStore(tmp_path, poll_interval=0.01)
        assert isinstance(store, AsyncTokenStore)
        assert isinstance(store, ThreadedAsyncStore)
        assert "AsyncFileStore" in repr(store)
        assert sync_store.acquire(KEY, "sync-owner", 30)
        assert not await store.acquire(KEY, "async-owner", 30)

        async def waiter() -> float:
            start = time.monotonic()
            await store.wait(KEY, 0, 10.0)
            return time.monotonic() - start

        # More waiters than the default thread pool has threads: all must wake promptly.
        waiters = [asyncio.create_task(waiter()) for _ in range(64)]
        await asyncio.sleep(0.2)
        assert sync_store.publish(KEY, make_record(1), "sync-owner")
        assert max(await asyncio.gather(*waiters)) < 3.0
        assert plain(await store.load(KEY)) == make_record(1)

        # Cancelling a waiting task takes effect at once.
        pending = asyncio.create_task(store.wait(KEY, 1, 30.0))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        assert time.monotonic() - start < 1.0

        sync_store.release(KEY, "sync-owner")
        assert await store.acquire(KEY, "async-owner", 30)
        assert await store.publish(KEY, make_record(2), "async-owner")
        await store.release(KEY, "async-owner")
        await store.touch(KEY, 2, T0 + 1)
        assert abs(await store.now() - time.time()) < 5
        await store.close()

    asyncio.run(main())
    assert plain(sync_store.load(KEY)) == make_record(2).touched(T0 + 1)


def test_threaded_adapter_wraps_any_sync_store() -> None:
    memory = MemoryStore()
    assert isinstance(memory, TokenStore)

    async def main() -> None:
        store = ThreadedAsyncStore(memory)
        assert store.sync_store is memory
        assert await store.acquire(KEY, "a", 30)
        assert await store.publish(KEY, make_record(1), "a")
        start = time.monotonic()
        await store.wait(KEY, 1, 0.2)  # MemoryStore has no settled(): waits in a thread
        assert 0.15 < time.monotonic() - start < 2.0
        await store.release(KEY, "a")
        await store.wait(KEY, 1, 5.0)
        await store.close()

    asyncio.run(main())
    assert plain(memory.load(KEY)) == make_record(1)


def test_uuid_owners_are_independent(store: FileStore) -> None:
    owners = [uuid.uuid4().hex for _ in range(3)]
    assert store.acquire(KEY, owners[0], 30)
    assert not any(store.acquire(KEY, o, 30) for o in owners)
    store.release(KEY, owners[1])
    assert not store.acquire(KEY, owners[2], 30)
    store.release(KEY, owners[0])
    assert store.acquire(KEY, owners[2], 30)


# -- keyed names


def test_records_of_the_unkeyed_scheme_are_never_found(
    store: FileStore, store_warnings: list[logging.LogRecord]
) -> None:
    """A directory written before keyed names: a record named by the client's key. It is not
    looked up (one sign-in), and not misread even when copied under the keyed name."""
    store.directory.mkdir(parents=True)
    old = store.directory / f"{KEY}.json"
    old.write_bytes(json.dumps(make_record(7).to_dict()).encode())
    old.chmod(0o600)
    assert store.load(KEY) is None
    assert store.acquire(KEY, "me", 30), "no old lock either"
    store.release(KEY, "me")
    keyed = store.record_path(KEY)
    keyed.write_bytes(old.read_bytes())
    keyed.chmod(0o600)
    assert store.load(KEY) is None, "an unkeyed credential id is refused"
    assert "another key" in store_warnings[-1].getMessage()


def test_two_directories_name_one_key_differently(tmp_path: Path) -> None:
    first, second = FileStore(tmp_path / "a"), FileStore(tmp_path / "b")
    assert first.record_path(KEY).name != second.record_path(KEY).name
    put(first, make_record(1))
    put(second, make_record(1))
    ids = {json.loads(s.record_path(KEY).read_bytes())["credential_id"] for s in (first, second)}
    assert len(ids) == 2
    assert CREDENTIAL not in ids
    given = FileStore(tmp_path / "c", secret="an operator's secret, 16+ bytes")
    again = FileStore(tmp_path / "d", secret="an operator's secret, 16+ bytes")
    assert given.record_path(KEY).name == again.record_path(KEY).name, "same secret, same names"
    assert not (tmp_path / "c" / "store.secret").exists()
    with pytest.raises(ValueError, match="at least 16 bytes"):
        FileStore(tmp_path / "e", secret="short")


def test_wait_timeout_must_cover_the_lock_ttl(tmp_path: Path) -> None:
    """A waiter giving up before a crashed holder's lease can expire would fail for nothing."""
    import tabsession

    auth = tabsession.PersonalAccessToken("p", "s")
    store = FileStore(tmp_path)
    with pytest.raises(tabsession.ConfigurationError, match="at least lock_ttl"):
        tabsession.Client("https://t.example.com", auth, store=store, wait_timeout=30.0)
    client = tabsession.Client("https://t.example.com", auth, store=store, timeout=120.0)
    assert client._core.config.wait_timeout == client._core.config.lock_ttl == 150.0
    client.close()
    client = tabsession.Client("https://t.example.com", auth, store=store)
    assert client._core.config.wait_timeout == 120.0
    client.close()
