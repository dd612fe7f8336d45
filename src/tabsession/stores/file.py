"""A token store in a directory: one session shared by every process of one user on one host.

Layout: one `<key>.json` record (mode 0600) and one `<key>.lock` lock file (mode 0600) per key, in
a directory of mode 0700 (created on first use). Records are replaced atomically (a private
temporary file in the same directory is written, fsync'ed and renamed over the record), so a
reader never sees a half-written record, even when the writer is SIGKILLed mid-write or the host
loses power.

The sign-in lock is an OS file lock (`flock` through `filelock`) on `<key>.lock`, held by the
winning process for the duration of a sign-in. The OS releases it when the holder process dies
(crash, SIGKILL, OOM kill), so a dead holder never blocks the others and the `ttl` argument of
`acquire()` is not needed and ignored. Inside a process, a per-key in-process lock and the owner
string make sure that only one owner (thread, task, client) holds it at a time.

The directory must be on a local filesystem with working `flock()` (most network filesystems
either lack it or emulate it per host); to share a session across hosts, use `RedisStore`.
Records are only ever trusted if they are regular files owned by the current user and not
accessible to group or others: anything else is ignored with a warning (another account could
have planted it).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Final

from filelock import FileLock, Timeout

from tabsession.errors import StoreUnavailable
from tabsession.stores._threaded import ThreadedAsyncStore
from tabsession.stores.base import StoredSession, session_key

__all__ = ["DEFAULT_LOCK_TIMEOUT", "AsyncFileStore", "FileStore", "default_directory"]

logger = logging.getLogger("tabsession.stores")

#: How long `touch()` (and any other brief internal use of a key's lock) waits for it.
DEFAULT_LOCK_TIMEOUT: Final = 0.05
_MAX_RECORD_BYTES: Final = 1 << 20
# No dots: a key's temp files are ".<key>.<random>.tmp", which must not match another key's.
_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_POSIX: Final = os.name == "posix"
_PRIVATE_DIR_MODE: Final = 0o700
_PRIVATE_FILE_MODE: Final = 0o600
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


class _KeyState:
    """Per key: the in-process lock and owner, and this process's handle on the file lock.

    `mutex` is held only for the duration of one store operation. `owner` is set while an owner
    holds the sign-in lock, and then (and only then, outside `mutex`) `flock` is locked: the
    re-entrant `FileLock` object is therefore never entered twice.
    """

    __slots__ = ("_inode", "flock", "mutex", "owner")

    def __init__(self, lock_path: Path) -> None:
        self.mutex = threading.Lock()
        self.owner: str | None = None
        # (st_dev, st_ino) of the lock file we flock'ed: lets publish() notice that the lock file
        # was deleted or replaced under us (then another process may hold "the" lock). A list,
        # not an attribute set by a bound method, so that no reference cycle delays the release
        # of a lock whose store was dropped.
        inode: list[tuple[int, int] | None] = [None]
        self._inode = inode

        def on_acquired(fd: int) -> None:
            info = os.fstat(fd)
            inode[0] = (info.st_dev, info.st_ino)

        self.flock = FileLock(
            lock_path,
            mode=_PRIVATE_FILE_MODE,
            thread_local=False,  # acquire and release may run on different threads
            blocking=False,
            fallback_to_soft=False,  # a soft lock would survive a crashed holder
            on_acquired=on_acquired,
        )

    @property
    def inode(self) -> tuple[int, int] | None:
        return self._inode[0]

    def forget_inode(self) -> None:
        self._inode[0] = None


_LIVE_STORES: weakref.WeakSet[FileStore] = weakref.WeakSet()


def _reset_after_fork() -> None:  # pragma: no cover - runs in forked children
    for store in list(_LIVE_STORES):
        store._forget_locks()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


class FileStore:
    """Share one session between the processes (and threads) of one user on one host.

    `directory` defaults to `default_directory()` (`$XDG_STATE_HOME/tabsession/sessions` or
    `~/.local/state/tabsession/sessions`). Pass another directory to keep separate pools of
    sessions (e.g. one per project); it is created with mode 0700 on first use. Use a local
    filesystem: file locks on network filesystems are unreliable.

    `acquire()` never waits. `lock_timeout` (default 0.05 s) bounds the brief internal waits for a
    key's lock: `touch()` gives up and skips after it (touch is best effort), and `acquire()`
    returns False after it if another thread of this process is in the middle of an operation on
    the same key. Raise it if touches are often skipped on a slow disk; lower it if request
    latency matters more than `last_used_at` precision.

    `wait()` polls the record and the lock every `poll_interval` seconds (default 0.05 s): a
    waiter notices a new session or a released lock within that delay. Raise it to reduce disk
    reads when many processes wait; lower it to react faster.

    Write failures (permissions, full disk, read-only filesystem) raise `StoreUnavailable` naming
    the directory. `load()` never raises for bad files: corrupt, truncated, foreign or unsafe files
    (not owned by this user, readable by others, symlinks) are ignored with one warning per file
    state on the "tabsession.stores" logger. `touch()` never raises for I/O problems.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        poll_interval: float = 0.05,
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
        self._states: dict[str, _KeyState] = {}
        self._states_lock = threading.Lock()
        self._warned: dict[str, tuple[object, ...]] = {}
        self._warned_lock = threading.Lock()
        self._directory_ready = False
        _LIVE_STORES.add(self)

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

    # -- the TokenStore protocol ---------------------------------------------------------------

    def now(self) -> float:
        """This host's clock (`time.time()`): every user of a FileStore is on this host."""
        return time.time()

    def load(self, key: str) -> StoredSession | None:
        """The record for `key`; None if there is none or if the file cannot be trusted."""
        self._check_key(key)
        return self._read(key, warn=True)

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Try once to take the sign-in lock; never waits for another holder.

        The lock is an OS file lock plus a lease (`<key>.lease`) that expires `ttl` seconds
        after it was taken. A clean release removes the lease. If the holder dies, the OS frees
        the file lock at once, but the lease keeps others out until it expires: the dead
        holder's sign-in may still complete on the server, and with a PAT a sign-in made before
        it would be ended by it. Returns False if any owner (including `owner` itself) holds the
        lock, in this process or another, or a dead holder's lease has not expired.
        """
        state = self._state(key)
        self._ensure_directory()
        if not state.mutex.acquire(timeout=self._lock_timeout):
            return False
        try:
            if state.owner is not None or not self._try_flock(state, 0.0):
                return False
            if self._lease_active(key):
                self._unlock(state)
                return False
            self._write_file(
                self._lease_path(key), self._lease_bytes(owner, ttl), "lock sessions in"
            )
            state.owner = owner
            return True
        finally:
            state.mutex.release()

    def release(self, key: str, owner: str) -> None:
        """Release the lock if `owner` holds it (through this store); otherwise do nothing."""
        state = self._state(key)
        with state.mutex:
            if state.owner != owner:
                return
            with contextlib.suppress(OSError):
                os.unlink(self._lease_path(key))
            self._unlock(state)

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Atomically replace the record if `owner` holds the lock and `record` is newer.

        Raises `StoreUnavailable` if the file cannot be written (permissions, full disk...).
        """
        state = self._state(key)
        self._ensure_directory()
        with state.mutex:
            if state.owner != owner or not self._still_locked(key, state):
                return False
            current = self._read(key, warn=True)
            if current is not None and record.generation <= current.generation:
                return False
            self._write(key, record)
            self._sweep_temporary_files(key)
            return True

    def touch(self, key: str, generation: int, at: float) -> None:
        """Best effort: record a use of `generation` at `at`. Skipped (silently) when the record
        holds another generation, when the key's lock is busy for longer than `lock_timeout`
        (e.g. during a sign-in), or on any I/O problem."""
        state = self._state(key)
        try:
            current = self._read(key, warn=False)
            if current is None or current.generation != generation or current.last_used_at >= at:
                return
            deadline = time.monotonic() + self._lock_timeout
            if not state.mutex.acquire(timeout=self._lock_timeout):
                return
            try:
                if state.owner is not None:
                    return
                if not self._try_flock(state, max(0.0, deadline - time.monotonic())):
                    return
                try:
                    current = self._read(key, warn=False)
                    if (
                        current is not None
                        and current.generation == generation
                        and current.last_used_at < at
                    ):
                        self._write(key, current.touched(at))
                finally:
                    self._unlock(state)
            finally:
                state.mutex.release()
        except (OSError, StoreUnavailable) as exc:
            logger.debug("FileStore.touch skipped for %s: %s", self._directory, exc)

    def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll (every `poll_interval`) until a generation newer than `generation` is stored, the
        lock is free, or `timeout` seconds have passed."""
        self._check_key(key)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self.settled(key, generation):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self._poll_interval, remaining))

    def settled(self, key: str, generation: int) -> bool:
        """One non-blocking check of what `wait()` waits for: True if a generation newer than
        `generation` is stored or nobody holds the sign-in lock."""
        self._check_key(key)
        current = self._read(key, warn=True)
        if current is not None and current.generation > generation:
            return True
        return self._lock_is_free(key)

    def close(self) -> None:
        """Release every lock still held through this store. The store stays usable."""
        with self._states_lock:
            states = list(self._states.items())
        for key, state in states:
            with state.mutex:
                if state.owner is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(self._lease_path(key))
                    self._unlock(state)

    def __repr__(self) -> str:
        return f"FileStore(directory={str(self._directory)!r})"

    # -- paths and directory -------------------------------------------------------------------

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
            raise ValueError(
                "FileStore keys must be 1-128 characters of [A-Za-z0-9_-] "
                f"(use tabsession.stores.session_key()); got {key!r}"
            )

    def _state(self, key: str) -> _KeyState:
        self._check_key(key)
        with self._states_lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _KeyState(self._lock_path(key))
            return state

    def _record_path(self, key: str) -> Path:
        return self._directory / f"{key}.json"

    def _lock_path(self, key: str) -> Path:
        return self._directory / f"{key}.lock"

    def _ensure_directory(self) -> None:
        if self._directory_ready:
            return
        try:
            _make_private_directories(self._directory)
            info = os.stat(self._directory)
        except OSError as exc:
            raise self._unavailable("create or use its directory", exc) from exc
        if not stat.S_ISDIR(info.st_mode):
            raise StoreUnavailable(f"FileStore directory {self._directory} is not a directory")
        if _POSIX and stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH):
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
        return StoreUnavailable(f"FileStore cannot {action} {self._directory}: {detail}")

    # -- locking -------------------------------------------------------------------------------

    def _try_flock(self, state: _KeyState, timeout: float) -> bool:
        """Take the file lock (caller holds `state.mutex` and no owner holds the lock)."""
        try:
            if timeout <= 0:
                state.flock.acquire(blocking=False)
            else:
                state.flock.acquire(timeout=timeout, poll_interval=min(0.005, timeout))
        except Timeout:
            return False
        except OSError as exc:
            raise self._unavailable("lock session files in", exc) from exc
        return True

    def _unlock(self, state: _KeyState) -> None:
        """Release the file lock and forget the owner (caller holds `state.mutex`)."""
        state.owner = None
        state.forget_inode()
        try:
            state.flock.release()
        except OSError as exc:  # pragma: no cover - flock(LOCK_UN) practically never fails
            logger.warning("tabsession FileStore could not unlock in %s: %s", self._directory, exc)
            with contextlib.suppress(OSError):
                state.flock.release(force=True)

    def _still_locked(self, key: str, state: _KeyState) -> bool:
        """Whether the lock file on disk is still the one we locked (someone may have deleted
        the directory's files while we held it, and another process may have locked a new one)."""
        if state.inode is None:
            return True
        try:
            info = os.stat(self._lock_path(key))
        except OSError:
            info = None
        if info is None or (info.st_dev, info.st_ino) != state.inode:
            logger.warning(
                "tabsession FileStore lock file %s was removed or replaced while held; "
                "refusing to publish (another process may hold the lock now)",
                self._lock_path(key),
            )
            return False
        return True

    def _lock_is_free(self, key: str) -> bool:
        state = self._state(key)
        if not state.mutex.acquire(blocking=False):
            return False  # another thread is mid-operation on this key: check again later
        try:
            if state.owner is not None:
                return False
            if not self._lock_path(key).exists():
                return True  # nobody ever locked it (probing must not create files)
            try:
                if not self._try_flock(state, 0.0):
                    return False
            except StoreUnavailable:
                return True  # unusable store: don't wait on it; acquire() will say why
            self._unlock(state)
            return not self._lease_active(key)
        finally:
            state.mutex.release()

    # -- leases (what outlives a crashed holder) -------------------------------------------------

    def _lease_path(self, key: str) -> Path:
        return self._directory / f"{key}.lease"

    def _lease_bytes(self, owner: str, ttl: float) -> bytes:
        lease = {"owner": owner, "pid": os.getpid(), "expires": self.now() + max(0.0, ttl)}
        return json.dumps(lease, separators=(",", ":")).encode()

    def _lease_active(self, key: str) -> bool:
        """Whether a lease left by a holder that never released (it died) is still running.
        An unreadable lease counts as expired: it cannot keep the lock forever."""
        try:
            with open(self._lease_path(key), "rb") as handle:
                expires = json.loads(handle.read(4096))["expires"]
            return bool(float(expires) > self.now())
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def _forget_locks(self) -> None:
        """After fork(): the child holds none of the parent's locks (filelock resets itself)."""
        self._states = {}
        self._states_lock = threading.Lock()
        self._warned_lock = threading.Lock()

    # -- reading and writing records -----------------------------------------------------------

    def _read(self, key: str, *, warn: bool) -> StoredSession | None:
        path = self._record_path(key)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            self._forget_warning(key)
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._ignore(key, ("symlink",), "is a symbolic link", warn)
            else:
                reason = f"cannot be opened ({exc.strerror or type(exc).__name__})"
                self._ignore(key, ("open", exc.errno), reason, warn)
            return None
        try:
            info = os.fstat(fd)
            file_state: tuple[object, ...] = (
                info.st_ino,
                info.st_size,
                info.st_mtime_ns,
                info.st_mode,
                info.st_uid,
            )
            problem = _unsafe(info)
            if problem:
                self._ignore(key, (*file_state, problem), problem, warn)
                return None
            data = _read_at_most(fd, _MAX_RECORD_BYTES + 1)
        except OSError as exc:
            reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
            self._ignore(key, ("read", exc.errno), reason, warn)
            return None
        finally:
            os.close(fd)
        decoded = _decode_problem(key, data)
        if isinstance(decoded, StoredSession):
            self._forget_warning(key)
            return decoded
        self._ignore(key, file_state, decoded, warn)
        return None

    def _ignore(self, key: str, file_state: tuple[object, ...], reason: str, warn: bool) -> None:
        if not warn:
            return
        with self._warned_lock:
            if self._warned.get(key) == file_state:
                return
            self._warned[key] = file_state
        logger.warning(
            "tabsession FileStore is ignoring %s: it %s.", self._record_path(key), reason
        )

    def _forget_warning(self, key: str) -> None:
        if key in self._warned:
            with self._warned_lock:
                self._warned.pop(key, None)

    def _write(self, key: str, record: StoredSession) -> None:
        data = json.dumps(record.to_dict(), separators=(",", ":")).encode()
        self._write_file(self._record_path(key), data, "write session files in")

    def _write_file(self, path: Path, data: bytes, action: str) -> None:
        """Atomically replace `path`: private temp file, fsync, rename, fsync directory."""
        key = path.name.split(".", 1)[0]
        try:
            fd, temp_name = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self._directory)
        except OSError as exc:
            raise self._unavailable(action, exc) from exc
        try:
            try:
                if _POSIX:
                    os.fchmod(fd, _PRIVATE_FILE_MODE)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp_name, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            if isinstance(exc, OSError):
                raise self._unavailable(action, exc) from exc
            raise
        self._fsync_directory()

    def _fsync_directory(self) -> None:
        """Make the rename durable (best effort: not every platform can fsync a directory)."""
        if not _POSIX:
            return
        with contextlib.suppress(OSError):
            fd = os.open(self._directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _sweep_temporary_files(self, key: str) -> None:
        """Remove temp files left by writers that died mid-write. Every write happens under the
        key's file lock, which we hold, so any temp file for this key is an orphan."""
        prefix = f".{key}."
        with contextlib.suppress(OSError), os.scandir(self._directory) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _unsafe(info: os.stat_result) -> str:
    """Why a record file must not be trusted, or "" if it can be."""
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if _POSIX:
        if info.st_uid != os.geteuid():
            return f"is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()})"
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return f"is accessible to other users (mode {mode:#o}; records must be 0600)"
    return ""


def _decode_problem(key: str, data: bytes) -> StoredSession | str:
    """The record in `data`, or why it is not a usable record for `key`.

    Reasons are deliberately vague: parser messages can quote the file's content (a token).
    """
    if len(data) > _MAX_RECORD_BYTES:
        return "is too large to be a session record"
    try:
        record = StoredSession.from_dict(json.loads(data))
    except (ValueError, OverflowError, RecursionError):
        # OverflowError: from_dict() lets int(Infinity) through.
        return "is corrupt, truncated or not a tabsession session record"
    if session_key(record.server, record.site_content_url, record.credential_id) != key:
        return "holds a session for another server, site or credential than its name says"
    return record


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _make_private_directories(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700 (existing ones are untouched)."""
    missing: list[Path] = []
    path = directory
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=_PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process created it meanwhile
        if _POSIX:
            os.chmod(path, _PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


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
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(
            FileStore(directory, lock_timeout=lock_timeout, poll_interval=poll_interval)
        )

    @property
    def directory(self) -> Path:
        return self.sync_store.directory

    def __repr__(self) -> str:
        return f"AsyncFileStore(directory={str(self.sync_store.directory)!r})"
