"""The sign-in lock of one `FileStore` key: an OS file lock plus a lease that outlives a crash.

    <name>.lock    flock()ed (LOCK_EX | LOCK_NB; msvcrt.locking on Windows) by the holder for
                   the whole sign-in
    <name>.lease   {"owner", "pid", "expires"} written by the holder; removed by a clean release

The OS frees the flock when its holder dies (crash, SIGKILL, OOM kill), but a dead holder's
sign-in may still complete on the server, and with a PAT it would end a session made before it.
So a lease keeps the lock taken until `expires` (the holder's `ttl`). Leases are trusted only so
far:
- An expiry later than now + `ttl` (a clock stepped forward at crash time, a planted file) is
  capped at now + `ttl` when read, and written back so every process agrees: such a lease blocks
  for at most `ttl`.
- A lock or lease file that is a symlink, owned by someone else or open to others is replaced
  (removing a symlink never touches its target) with a warning, never waited on.

Inside one process a mutex and the owner string make sure one owner (thread, task, client) holds
the lock at a time; `still_held()` also checks that the lock file on disk is still the one
flock()ed (someone may have deleted the directory's files meanwhile), which fences `publish()`.
After `fork()` the child holds none of its parent's locks (see `_forget_after_fork`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from tabsession.stores._secure_files import (
    UnsafeFile,
    open_lock_file,
    read_private,
    remove,
    write_atomically,
)

if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _lock_without_waiting(fd: int) -> bool:
        """An exclusive lock on `fd`, or False if it is held (released when `fd` is closed)."""
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise
        return True

else:
    import fcntl

    def _lock_without_waiting(fd: int) -> bool:
        """An exclusive flock on `fd`, or False if it is held. Closing the descriptor releases
        it, also when the process dies."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


__all__ = ["KeyLock"]

logger = logging.getLogger("tabsession.stores")

_MAX_LEASE_BYTES: Final = 4096


class KeyLock:
    """The lock of one key: `try_acquire`, `release`, `is_free`, `still_held`, `hold_briefly`.

    `lock_path`/`lease_path` are the two files; `now` the store's clock (epoch seconds);
    `lock_timeout` bounds waits for the in-process mutex. Raises OSError for I/O problems (the
    store turns them into `StoreUnavailable`)."""

    def __init__(
        self,
        lock_path: Path,
        lease_path: Path,
        *,
        now: Callable[[], float],
        lock_timeout: float,
    ) -> None:
        self.lock_path = lock_path
        self.lease_path = lease_path
        self._now = now
        self._lock_timeout = lock_timeout
        self._mutex = threading.Lock()
        self.owner: str | None = None
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        _LIVE_LOCKS.add(self)

    # -- the four operations -------------------------------------------------------------------

    def try_acquire(self, owner: str, ttl: float) -> bool:
        """Take the lock for `owner` with a lease of `ttl` seconds, without waiting for another
        holder. False if anyone (including `owner`) holds it, or a dead holder's lease runs."""
        if not self._mutex.acquire(timeout=self._lock_timeout):
            return False
        try:
            if self.owner is not None or not self._flock():
                return False
            try:
                if self._lease_blocks(ttl):
                    self._unflock()
                    return False
                lease = {"owner": owner, "pid": os.getpid(), "expires": self._now() + ttl}
                self._write_lease(lease)
            except BaseException:
                self._unflock()
                raise
            self.owner = owner
            return True
        finally:
            self._mutex.release()

    def release(self, owner: str) -> None:
        """Release the lock if `owner` holds it; otherwise do nothing."""
        with self._mutex:
            if self.owner == owner:
                self._drop()

    def is_free(self) -> bool:
        """One non-blocking look: True if nobody holds the lock and no lease runs. An unusable
        lock file counts as free (`try_acquire` replaces it or says why it cannot)."""
        if not self._mutex.acquire(blocking=False):
            return False  # another thread is mid-operation on this key: look again later
        try:
            if self.owner is not None:
                return False
            if not os.path.lexists(self.lock_path):
                return True  # never locked (looking must not create files)
            try:
                if not self._flock():
                    return False
            except (UnsafeFile, OSError):
                return True
            try:
                return not self._lease_blocks(None)
            finally:
                self._unflock()
        finally:
            self._mutex.release()

    def still_held(self, owner: str) -> bool:
        """Whether `owner` holds the lock and the lock file on disk is the one locked."""
        if self.owner != owner:
            return False
        try:
            info = os.lstat(self.lock_path)
        except OSError:
            info = None
        if info is None or (info.st_dev, info.st_ino) != self._inode:
            logger.warning(
                "tabsession FileStore lock file %s was removed or replaced while held; "
                "refusing to publish (another process may hold the lock now)",
                self.lock_path,
            )
            return False
        return True

    @contextlib.contextmanager
    def hold_briefly(self, timeout: float) -> Iterator[bool]:
        """Hold the lock (without a lease or owner) for a quick write, waiting up to `timeout`;
        yields False, holding nothing, if it stays busy (a sign-in is running)."""
        deadline = time.monotonic() + timeout
        if not self._mutex.acquire(timeout=timeout):
            yield False
            return
        try:
            locked = self.owner is None and self._flock()
            while not locked and self.owner is None and time.monotonic() < deadline:
                time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))
                locked = self._flock()
            if not locked:
                yield False
                return
            try:
                yield True
            finally:
                self._unflock()
        finally:
            self._mutex.release()

    def close(self) -> None:
        """Release the lock whoever holds it through this object (the store is closing)."""
        with self._mutex:
            if self.owner is not None:
                self._drop()

    # -- flock ---------------------------------------------------------------------------------

    def _flock(self) -> bool:
        """flock the lock file without blocking (caller holds the mutex, no owner holds it)."""
        fd = self._open_lock_file()
        try:
            if not _lock_without_waiting(fd):
                os.close(fd)
                return False
        except BaseException:
            os.close(fd)
            raise
        info = os.fstat(fd)
        try:
            on_disk = os.lstat(self.lock_path)
        except OSError:
            on_disk = None
        if on_disk is None or (on_disk.st_dev, on_disk.st_ino) != (info.st_dev, info.st_ino):
            os.close(fd)  # replaced between open and flock: someone else may hold the new one
            return False
        self._fd, self._inode = fd, (info.st_dev, info.st_ino)
        return True

    def _open_lock_file(self) -> int:
        try:
            return open_lock_file(self.lock_path)
        except IsADirectoryError:
            raise  # cannot be replaced by unlinking: the store reports it, naming the file
        except UnsafeFile as unsafe:
            logger.warning(
                "tabsession FileStore is replacing the lock file %s: it %s.",
                unsafe.path,
                unsafe.reason,
            )
            remove(self.lock_path)
            return open_lock_file(self.lock_path)

    def _unflock(self) -> None:
        fd, self._fd, self._inode = self._fd, None, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock

    def _drop(self) -> None:
        self.owner = None
        try:
            remove(self.lease_path)
        except OSError as exc:
            logger.warning("tabsession FileStore could not remove %s: %s", self.lease_path, exc)
        finally:
            self._unflock()

    # -- the lease -----------------------------------------------------------------------------

    def _lease_blocks(self, ttl: float | None) -> bool:
        """Whether a dead holder's lease still runs (caller holds the flock). With `ttl`, a lease
        claiming more than now + ttl is capped there (and written back)."""
        try:
            data = read_private(self.lease_path, _MAX_LEASE_BYTES)
        except UnsafeFile as unsafe:
            if ttl is None:
                return False  # try_acquire replaces it
            logger.warning(
                "tabsession FileStore is replacing the lease %s: it %s.", unsafe.path, unsafe.reason
            )
            remove(self.lease_path)
            return False
        if data is None:
            return False
        try:
            lease = json.loads(data)
            expires = float(lease["expires"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            return False  # unreadable: it cannot keep the lock forever
        now = self._now()
        if not expires > now:  # also False for NaN
            return False
        if ttl is not None and expires > now + ttl:
            logger.warning(
                "tabsession FileStore lease %s claims the lock until %.0f s from now, more than "
                "the %g s a lock may live (a clock stepped forward, or a planted file): capped.",
                self.lease_path,
                expires - now,
                ttl,
            )
            owner = lease.get("owner") if isinstance(lease, dict) else None
            self._write_lease({"owner": str(owner), "pid": 0, "expires": now + ttl})
        return True

    def _write_lease(self, lease: dict[str, object]) -> None:
        data = json.dumps(lease, separators=(",", ":")).encode()
        write_atomically(self.lease_path.parent, self.lease_path, data)

    def __del__(self) -> None:
        # A lock dropped without release() (its store was garbage-collected): free the flock.
        fd = self._fd
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _forget_after_fork(self) -> None:  # pragma: no cover - runs in forked children
        """The child holds none of the parent's locks. Closing its copy of the descriptor does
        not release the parent's flock (the parent's descriptor still holds it)."""
        self._mutex = threading.Lock()
        self.owner = None
        fd, self._fd, self._inode = self._fd, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


_LIVE_LOCKS: weakref.WeakSet[KeyLock] = weakref.WeakSet()


def _reset_after_fork() -> None:  # pragma: no cover - runs in forked children
    for lock in list(_LIVE_LOCKS):
        lock._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
