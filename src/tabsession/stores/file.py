"""A token store in a directory: one session shared by every process of one user on one host.

Layout, in a directory of mode 0700 (created on first use), every file mode 0600:

    store.secret     32 random bytes (hex) that key every other name (see `stores._identity`);
                     created once, atomically, by the first process that needs it
    <name>.json      a record, replaced atomically (private temp file, fsync, rename)
    <name>.lock      flock()ed by the process signing in (see `stores._file_lock`)
    <name>.lease     how long a crashed holder's lock outlives it (`acquire()`'s `ttl`)

`<name>` is a keyed hash of the client's key, so nothing in the directory can be matched against
a dictionary of passwords without the secret, and two directories name one credential
differently.

No store file is opened through a symlink (O_NOFOLLOW), and every file's owner and mode are
checked (`stores._secure_files`). What is unsafe (a symlink, another user's file, a file open to
others) is never trusted: a record is ignored with a warning (the next publish replaces it); a
lock file, lease or secret is replaced with a warning (removing a symlink never touches its
target), or, when it cannot be (a directory in its place), refused with a `StoreUnavailable`
naming it. An I/O error that makes the store unusable raises `StoreUnavailable` naming the file or
directory; nothing waits silently on a bad file.

The directory must be on a local filesystem with working `flock()` (most network filesystems lack
it or emulate it per host); to share a session across hosts, use `RedisStore`. On Windows the
lock is `msvcrt.locking` and the owner and mode checks that need POSIX are skipped.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Final

from tabsession.clock import Clock, SystemClock
from tabsession.errors import StoreUnavailable
from tabsession.stores._file_lock import KeyLock
from tabsession.stores._identity import (
    KeyedNames,
    decode_secret,
    encode_secret,
    given_secret,
    new_secret,
)
from tabsession.stores._secure_files import (
    POSIX,
    UnsafeFile,
    create_exclusively,
    make_private_directories,
    read_private,
    remove,
    sweep_temporary_files,
    write_atomically,
)
from tabsession.stores._threaded import ThreadedAsyncStore
from tabsession.stores.base import StoredSession, poll_delays

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_POLL_INTERVAL",
    "AsyncFileStore",
    "FileStore",
    "default_directory",
]

logger = logging.getLogger("tabsession.stores")

#: How long `touch()` (and any other brief internal use of a key's lock) waits for it.
DEFAULT_LOCK_TIMEOUT: Final = 0.05
#: The longest delay between two polls of `wait()` (a poll costs about 30 µs of local I/O).
DEFAULT_POLL_INTERVAL: Final = 0.02
SECRET_FILE: Final = "store.secret"
_MAX_RECORD_BYTES: Final = 1 << 20
_MAX_SECRET_BYTES: Final = 4096
_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HINTS: Final[dict[int, str]] = {
    errno.EACCES: "check the directory's owner and permissions, or pass another directory=",
    errno.EPERM: "check the directory's owner and permissions, or pass another directory=",
    errno.EROFS: "the filesystem is read-only; pass another directory=",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.ENOSYS: "the filesystem does not support flock(); use a local directory or RedisStore",
    errno.ENOTDIR: "a path component is not a directory",
}


def default_directory() -> Path:
    """`$XDG_STATE_HOME/tabsession/sessions`, or `~/.local/state/tabsession/sessions` when
    XDG_STATE_HOME is unset or not an absolute path (as the XDG spec requires)."""
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "tabsession" / "sessions"


class FileStore:
    """Share one session between the processes (and threads) of one user on one host.

    `directory` defaults to `default_directory()` (`$XDG_STATE_HOME/tabsession/sessions` or
    `~/.local/state/tabsession/sessions`). Pass another directory to keep separate pools of
    sessions (e.g. one per project); it is created with mode 0700 on first use. Use a local
    filesystem: file locks on network filesystems are unreliable.

    `acquire(key, owner, ttl)` never waits. The lock is a file lock the OS frees when its holder
    dies, plus a lease that keeps it taken for `ttl` seconds after such a crash (the dead
    holder's sign-in may still complete). A lease claiming more than now + `ttl` is capped there.

    `lock_timeout` (default 0.05 s) bounds the brief internal waits for a key's lock: `touch()`
    skips after it (touch is best effort), and `acquire()` returns False after it if another
    thread of this process is in the middle of an operation on the same key.

    `wait()` polls the record and the lock, first after 5 ms, then less and less often, at most
    every `poll_interval` seconds (default 0.02 s: a poll costs about 30 µs, and waits only
    last as long as another worker's sign-in). Raise it to read the disk less when many
    processes wait for long; the first polls stay fast.

    `clock` dates leases (default: this host's clock). `secret` replaces the random secret kept
    in `store.secret` (at least 16 bytes, e.g. from a secrets manager): then nothing in the
    directory alone can be matched against a password dictionary, even by a reader of every file.

    Write failures (permissions, full disk, read-only filesystem) raise `StoreUnavailable` naming
    the directory. `load()` never raises for bad record files: corrupt, truncated, foreign or
    unsafe ones are ignored with one warning per file state on the "tabsession.stores" logger.
    `touch()` never raises for I/O problems.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        clock: Clock | None = None,
        secret: str | bytes | None = None,
    ) -> None:
        if not lock_timeout >= 0:
            raise ValueError(f"lock_timeout must be >= 0 seconds, not {lock_timeout!r}")
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be > 0 seconds, not {poll_interval!r}")
        self._directory = (
            Path(directory).expanduser() if directory is not None else default_directory()
        )
        self._lock_timeout = float(lock_timeout)
        self._poll_interval = float(poll_interval)
        self._clock = clock or SystemClock()
        self._given_names = KeyedNames(given_secret(secret)) if secret is not None else None
        self._names: KeyedNames | None = None
        self._locks: dict[str, KeyLock] = {}
        self._held: dict[str, tuple[KeyLock, KeyedNames]] = {}
        self._lock = threading.Lock()
        self._warned: dict[Path, tuple[object, ...]] = {}
        self._directory_ready = False

    @property
    def directory(self) -> Path:
        """Where the records and lock files live."""
        return self._directory

    @property
    def lock_timeout(self) -> float:
        return self._lock_timeout

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    def record_path(self, key: str) -> Path:
        """The file that holds `key`'s record (creating the store's secret if it has none)."""
        self._check_key(key)
        return self._directory / f"{self._writable_names().name(key)}.json"

    # -- the TokenStore protocol ---------------------------------------------------------------

    def now(self) -> float:
        """This host's clock (or the `clock` given): every user of a FileStore is on this host."""
        return self._clock.time()

    def load(self, key: str) -> StoredSession | None:
        """The record for `key`; None if there is none or if the file cannot be trusted."""
        self._check_key(key)
        names = self._keyed(create=False)
        return None if names is None else self._read(key, names, warn=True)

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Try once to take the sign-in lock; never waits for another holder.

        Returns False if any owner (including `owner` itself) holds the lock, in this process or
        another, or a dead holder's lease has not expired (at most `ttl` from now).
        """
        self._check_key(key)
        names = self._writable_names(refresh=True)
        lock = self._key_lock(names.name(key))
        try:
            acquired = lock.try_acquire(owner, max(0.0, float(ttl)))
        except OSError as exc:
            raise self._unavailable("lock session files in", exc) from exc
        except UnsafeFile as unsafe:  # replaced once, and unsafe again at once: someone insists
            raise StoreUnavailable(
                f"FileStore cannot use {unsafe.path}: it {unsafe.reason}"
            ) from None
        if acquired:
            with self._lock:
                self._held[key] = (lock, names)
        return acquired

    def release(self, key: str, owner: str) -> None:
        """Release the lock if `owner` holds it (through this store); otherwise do nothing."""
        with self._lock:
            held = self._held.get(key)
            if held is None or held[0].owner != owner:
                return
            del self._held[key]
        held[0].release(owner)

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Atomically replace the record if `owner` holds the lock and `record` is newer.

        Raises `StoreUnavailable` if the file cannot be written (permissions, full disk...).
        """
        self._check_key(key)
        self._ensure_directory()
        held = self._held.get(key)
        if held is None:
            return False
        lock, names = held
        if not lock.still_held(owner):
            return False
        current = self._read(key, names, warn=True)
        if current is not None and record.generation <= current.generation:
            return False
        self._write(key, names, names.seal(key, record))
        sweep_temporary_files(self._directory, names.name(key))
        return True

    def touch(self, key: str, generation: int, at: float) -> None:
        """Best effort: record a use of `generation` at `at`. Skipped (silently) when the record
        holds another generation, when the key's lock is busy for longer than `lock_timeout`
        (e.g. during a sign-in), or on any I/O problem."""
        self._check_key(key)
        try:
            names = self._keyed(create=False)
            if names is None:
                return
            current = self._read(key, names, warn=False)
            if current is None or current.generation != generation or current.last_used_at >= at:
                return
            with self._key_lock(names.name(key)).hold_briefly(self._lock_timeout) as locked:
                if not locked:
                    return
                current = self._read(key, names, warn=False)
                if (
                    current is not None
                    and current.generation == generation
                    and current.last_used_at < at
                ):
                    self._write(key, names, current.touched(at))
        except (OSError, StoreUnavailable, UnsafeFile) as exc:
            logger.debug("FileStore.touch skipped for %s: %s", self._directory, exc)

    def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll (5 ms first, growing to `poll_interval`) until a generation newer than
        `generation` is stored, the lock is free, or `timeout` seconds have passed."""
        deadline = time.monotonic() + max(0.0, timeout)
        for delay in poll_delays(self._poll_interval):
            if self.settled(key, generation):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(delay, remaining))

    def settled(self, key: str, generation: int) -> bool:
        """One non-blocking check of what `wait()` waits for: True if a generation newer than
        `generation` is stored or nobody holds the sign-in lock."""
        self._check_key(key)
        names = self._keyed(create=False)
        if names is None:
            return True  # no secret yet: nobody ever locked anything here
        current = self._read(key, names, warn=True)
        if current is not None and current.generation > generation:
            return True
        return self._key_lock(names.name(key)).is_free()

    def close(self) -> None:
        """Release every lock still held through this store. The store stays usable."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for lock, _names in held:
            lock.close()

    def __repr__(self) -> str:
        return f"FileStore(directory={str(self._directory)!r})"

    # -- names and the secret ------------------------------------------------------------------

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
            raise ValueError(
                "FileStore keys must be 1-128 characters of [A-Za-z0-9_-] "
                f"(use tabsession.stores.session_key()); got {key!r}"
            )

    def _key_lock(self, name: str) -> KeyLock:
        with self._lock:
            lock = self._locks.get(name)
            if lock is None:
                lock = self._locks[name] = KeyLock(
                    self._directory / f"{name}.lock",
                    self._directory / f"{name}.lease",
                    now=self.now,
                    lock_timeout=self._lock_timeout,
                )
            return lock

    def _writable_names(self, *, refresh: bool = False) -> KeyedNames:
        names = self._keyed(create=True, refresh=refresh)
        if names is None:  # pragma: no cover - _keyed(create=True) returns names or raises
            raise StoreUnavailable(f"FileStore cannot establish its secret in {self._directory}")
        return names

    def _keyed(self, *, create: bool, refresh: bool = False) -> KeyedNames | None:
        """The names derived from the store's secret. Read once and cached; `refresh` reads the
        file again (acquire does, so a store whose secret was replaced follows within one
        sign-in). Without `create`, None when the store has no secret yet (so no records)."""
        if self._given_names is not None:
            if create:
                self._ensure_directory()
            return self._given_names
        names = self._names
        if names is not None and not refresh:
            return names
        if create:
            self._ensure_directory()
        path = self._directory / SECRET_FILE
        try:
            for _attempt in range(3):
                secret = self._read_secret(path)
                if secret is not None:
                    self._names = KeyedNames(secret)
                    return self._names
                if not create:
                    return names
                create_exclusively(self._directory, path, encode_secret(new_secret()))
        except OSError as exc:
            raise self._unavailable("create its secret in", exc) from exc
        raise StoreUnavailable(f"FileStore cannot establish its secret {path}")  # pragma: no cover

    def _read_secret(self, path: Path) -> bytes | None:
        """The secret in `path`; None if there is none. An unsafe or corrupt file is removed (a
        new secret replaces it: records under the old one are simply not found)."""
        try:
            data = read_private(path, _MAX_SECRET_BYTES)
        except UnsafeFile as unsafe:
            logger.warning(
                "tabsession FileStore is replacing its secret %s: it %s.", path, unsafe.reason
            )
            remove(path)
            return None
        if data is None:
            return None
        secret = decode_secret(data)
        if secret is None:
            logger.warning("tabsession FileStore is replacing its corrupt secret %s.", path)
            remove(path)
        return secret

    def _ensure_directory(self) -> None:
        if self._directory_ready:
            return
        try:
            make_private_directories(self._directory)
            info = os.stat(self._directory)
        except OSError as exc:
            raise self._unavailable("create or use its directory", exc) from exc
        if not stat.S_ISDIR(info.st_mode):
            raise StoreUnavailable(f"FileStore directory {self._directory} is not a directory")
        if POSIX and info.st_uid != os.geteuid():
            logger.warning(
                "tabsession FileStore directory %s is owned by uid %d, not by this user (uid %d): "
                "its owner can read and replace every session file. Use a directory of your own.",
                self._directory,
                info.st_uid,
                os.geteuid(),
            )
        if POSIX and stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH):
            logger.warning(
                "tabsession FileStore directory %s is writable by other users (mode %#o); "
                "sessions stay private (files are 0600) but others can interfere with sign-in "
                "locks. Use a directory only you can write to (mode 0700).",
                self._directory,
                stat.S_IMODE(info.st_mode),
            )
        self._directory_ready = True

    def _unavailable(self, action: str, exc: OSError) -> StoreUnavailable:
        reason = exc.strerror or type(exc).__name__
        hint = _HINTS.get(exc.errno or 0)
        detail = f"{reason}; {hint}" if hint else reason
        name = os.path.basename(exc.filename) if isinstance(exc.filename, str) else ""
        if name and not name.startswith(".") and name != self._directory.name:
            detail += f" (file {name})"  # a store file, not a private temporary one
        return StoreUnavailable(f"FileStore cannot {action} {self._directory}: {detail}")

    # -- records -------------------------------------------------------------------------------

    def _read(self, key: str, names: KeyedNames, *, warn: bool) -> StoredSession | None:
        path = self._directory / f"{names.name(key)}.json"
        try:
            data = read_private(path, _MAX_RECORD_BYTES + 1)
        except UnsafeFile as unsafe:
            self._ignore(path, unsafe.state, unsafe.reason, warn)
            return None
        if data is None:
            self._warned.pop(path, None)
            return None
        parsed: StoredSession | str = "is too large to be a session record"
        if len(data) <= _MAX_RECORD_BYTES:
            parsed = names.parse(key, data)
        if isinstance(parsed, str):
            self._ignore(path, (len(data), hash(data)), parsed, warn)
            return None
        self._warned.pop(path, None)
        return parsed

    def _ignore(self, path: Path, state: tuple[object, ...], reason: str, warn: bool) -> None:
        """Warn once per state of an untrusted record file."""
        if not warn:
            return
        with self._lock:
            if self._warned.get(path) == state:
                return
            self._warned[path] = state
        logger.warning("tabsession FileStore is ignoring %s: it %s.", path, reason)

    def _write(self, key: str, names: KeyedNames, record: StoredSession) -> None:
        data = json.dumps(record.to_dict(), separators=(",", ":")).encode()
        path = self._directory / f"{names.name(key)}.json"
        try:
            write_atomically(self._directory, path, data)
        except OSError as exc:
            raise self._unavailable("write session files in", exc) from exc


class AsyncFileStore(ThreadedAsyncStore[FileStore]):
    """The asyncio twin of `FileStore` (same constructor, same files, same defaults).

    Each call runs the sync `FileStore` method in a worker thread (`asyncio.to_thread`); `wait()`
    polls from the event loop. Async and sync clients, in any process of this user, using the same
    directory share one session.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        clock: Clock | None = None,
        secret: str | bytes | None = None,
    ) -> None:
        super().__init__(
            FileStore(
                directory,
                lock_timeout=lock_timeout,
                poll_interval=poll_interval,
                clock=clock,
                secret=secret,
            )
        )

    @property
    def directory(self) -> Path:
        return self.sync_store.directory

    def __repr__(self) -> str:
        return f"AsyncFileStore(directory={str(self.sync_store.directory)!r})"
