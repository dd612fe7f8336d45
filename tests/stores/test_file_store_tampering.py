"""FileStore against a tampered directory and a stepped clock (real files, real processes).

- Tampered store: every file replaced by a symlink to a file claiming a lock held far into the
  future. The next calls succeed within 10 s or fail at once with StoreUnavailable, and the
  symlinks' target is unchanged.
- Clock step: a lock holder is SIGKILLed with its clock one hour ahead; the others go on within
  `lock_ttl`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

import tabsession
from tabsession import RetryPolicy
from tabsession._core import normalize_server
from tabsession.errors import StoreUnavailable
from tabsession.stores import FileStore, session_key
from tests.stores._support import emulator, pat
from tests.stores._workers import hold_lock_with_clock_ahead

KEY = session_key("https://tableau.example.com", "finance", "pat:ci-bot")
FAR_FUTURE = time.time() + 10 * 365 * 86400
spawn = multiprocessing.get_context("spawn")


def plant_claim(path: Path) -> bytes:
    """A file claiming a lock held for ten years, by an owner that will never release it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = json.dumps({"owner": "attacker", "pid": 1, "expires": FAR_FUTURE}).encode()
    path.write_bytes(data)
    path.chmod(0o600)
    return data


def symlink_every_file(directory: Path, target: Path) -> list[str]:
    names = sorted(p.name for p in directory.iterdir())
    for name in names:
        path = directory / name
        path.unlink()
        path.symlink_to(target)
    return names


@pytest.mark.parametrize("given_secret", [False, True], ids=["own-secret", "given-secret"])
def test_a_store_of_symlinks_never_blocks_and_never_touches_the_target(
    tmp_path: Path, given_secret: bool
) -> None:
    directory = tmp_path / "sessions"
    target = tmp_path / "elsewhere" / "claim.json"
    secret = "a secret given by the operator" if given_secret else None
    with emulator() as emu:
        store = FileStore(directory, secret=secret)
        with tabsession.Client(emu.url, pat(), store=store) as tab:
            tab.get("projects")
        key = session_key(normalize_server(emu.url), "", pat().identity)
        assert store.acquire(key, "in-flight", 60)  # a sign-in in flight: a lease too
        claim = plant_claim(target)
        planted = symlink_every_file(directory, target)
        assert any(n.endswith(".lease") for n in planted)
        assert any(n.endswith(".lock") for n in planted)
        assert any(n.endswith(".json") for n in planted)
        assert given_secret or "store.secret" in planted
        before = os.stat(target)

        for _round in range(2):
            start = time.monotonic()
            try:
                with tabsession.Client(
                    emu.url, pat(), store=FileStore(directory, secret=secret)
                ) as tab:
                    tab.get("projects")
            except StoreUnavailable:
                assert time.monotonic() - start < 1.0, "refused, but not at once"
            else:
                assert time.monotonic() - start < 10.0
        assert target.read_bytes() == claim, "the symlinks' target was changed"
        after = os.stat(target)
        assert (after.st_mode, after.st_size, after.st_mtime_ns) == (
            before.st_mode,
            before.st_size,
            before.st_mtime_ns,
        )
        used = FileStore(directory, secret=secret).record_path(key)
        replaced = [used, used.with_suffix(".lock")]
        if not given_secret:
            replaced.append(directory / "store.secret")
        for path in replaced:
            assert not path.is_symlink(), f"{path.name} was not replaced"
        store.close()


def test_a_planted_far_future_lease_blocks_for_at_most_the_ttl(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions", secret="a secret given by the operator")
    lease = store.record_path(KEY).with_suffix(".lease")
    plant_claim(lease)
    ttl = 0.5
    assert not store.acquire(KEY, "me", ttl), "a lease is honoured..."
    capped = json.loads(lease.read_bytes())["expires"]
    assert capped <= time.time() + ttl, "...but capped at now + ttl, on disk for everyone"
    deadline = time.monotonic() + ttl + 5.0
    while not store.acquire(KEY, "me", ttl):
        assert time.monotonic() < deadline, "the planted lease kept blocking"
        time.sleep(0.01)
    store.release(KEY, "me")


def test_a_holder_killed_with_its_clock_an_hour_ahead_blocks_at_most_lock_ttl(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "sessions"
    lock_ttl = 3.0
    ready = spawn.Event()
    FileStore(directory).record_path(KEY)  # create the directory and its secret first
    holder = spawn.Process(
        target=hold_lock_with_clock_ahead, args=(str(directory), KEY, lock_ttl, ready)
    )
    holder.start()
    try:
        assert ready.wait(30), "the holder never took the lock"
    finally:
        holder.kill()
        holder.join(10)
    others = [FileStore(directory) for _ in range(3)]
    lease = others[0].record_path(KEY).with_suffix(".lease")
    claimed = json.loads(lease.read_bytes())["expires"]
    assert claimed > time.time() + 3000, "the dead holder's lease is dated by its clock"
    assert not others[0].acquire(KEY, "other-0", lock_ttl)
    assert json.loads(lease.read_bytes())["expires"] <= time.time() + lock_ttl
    deadline = time.monotonic() + lock_ttl + 5.0
    winner = None
    while winner is None:
        assert time.monotonic() < deadline, "the others never went on"
        time.sleep(0.01)
        for index, store in enumerate(others):
            if store.acquire(KEY, f"other-{index}", lock_ttl):
                winner = index
                break
    assert not any(s.acquire(KEY, "late", lock_ttl) for s in others), "one holder at a time"
    others[winner].release(KEY, f"other-{winner}")


def test_clients_go_on_after_a_holder_with_its_clock_ahead_is_killed(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    short = RetryPolicy(attempts=2, deadline=1.0)
    options = {"lock_ttl": 3.0, "timeout": 1.5, "retry": short, "wait_timeout": 10.0}
    with emulator() as emu:
        store = FileStore(directory)
        key = session_key(normalize_server(emu.url), "", pat().identity)
        store.record_path(key)
        ready = spawn.Event()
        holder = spawn.Process(
            target=hold_lock_with_clock_ahead, args=(str(directory), key, 3.0, ready)
        )
        holder.start()
        try:
            assert ready.wait(30), "the holder never took the lock"
        finally:
            holder.kill()
            holder.join(10)
        with tabsession.Client(emu.url, pat(), store=FileStore(directory), **options) as tab:
            tab.get("projects")
        assert emu.stats()["signins"] == 1


def test_an_irreplaceable_lock_file_is_refused_at_once_naming_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions", secret="a secret given by the operator")
    lock = store.record_path(KEY).with_suffix(".lock")
    lock.mkdir()
    (lock / "inside").write_text("cannot be unlinked like a file")
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match=lock.name):
        store.acquire(KEY, "me", 30)
    assert time.monotonic() - start < 1.0
    assert store.settled(KEY, 0), "waiters are not held by it either (acquire says why)"


def test_a_fifo_planted_as_lock_file_is_replaced(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions", secret="a secret given by the operator")
    lock = store.record_path(KEY).with_suffix(".lock")
    os.mkfifo(lock, 0o600)
    assert store.acquire(KEY, "me", 30)
    assert lock.is_file()
    store.release(KEY, "me")
