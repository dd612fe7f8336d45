"""Private files for `FileStore`: opened without following symlinks, trusted only when safe.

- `make_private_directories(path)`: create a directory and its missing parents, mode 0700.
- `read_private(path, limit)`: the bytes of a regular file owned by this user and closed to
  group and others, opened with O_NOFOLLOW (a symlink is refused, never followed); `None` when
  the file does not exist; `UnsafeFile` saying why otherwise.
- `write_atomically(directory, path, data)`: private temporary file, fsync, rename over `path`,
  fsync the directory. A reader sees the old or the new content, never a torn one, even after a
  SIGKILL or a power loss. Renaming over a symlink replaces the link, never its target.
- `create_exclusively(directory, path, data)`: like `write_atomically` but only if `path` does
  not exist (a hard link of the complete temporary file: O_EXCL semantics, never half-written).
- `open_lock_file(path)`: the descriptor of a private lock file, created if missing, opened with
  O_NOFOLLOW and checked like `read_private`.
- `remove(path)`: unlink (a symlink is removed, its target untouched); missing is fine.

On platforms without O_NOFOLLOW or POSIX owners (Windows) the checks that cannot be made are
skipped; everything else behaves the same.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

__all__ = [
    "UnsafeFile",
    "create_exclusively",
    "file_problem",
    "make_private_directories",
    "open_lock_file",
    "read_private",
    "remove",
    "sweep_temporary_files",
    "write_atomically",
]

POSIX: Final = os.name == "posix"
PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS: Final = (
    os.O_RDONLY
    | _NOFOLLOW
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO planted as a store file must not block the open
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_LOCK_FLAGS: Final = (
    os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


class UnsafeFile(Exception):
    """A store file that must not be trusted (a symlink, another user's file, open to others)."""

    def __init__(self, path: Path, reason: str, state: tuple[object, ...]) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason
        self.state = state
        """What identifies this state of the file (to warn once per state)."""


def file_problem(info: os.stat_result) -> str:
    """Why a store file with this `fstat` must not be trusted, or "" if it can be."""
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if POSIX:
        if info.st_uid != os.geteuid():
            return f"is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()})"
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return f"is accessible to other users (mode {mode:#o}; store files must be 0600)"
    return ""


def _state(info: os.stat_result) -> tuple[object, ...]:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode, info.st_uid)


def _open_problem(path: Path, exc: OSError) -> UnsafeFile:
    if exc.errno == errno.ELOOP:
        return UnsafeFile(path, "is a symbolic link", ("symlink",))
    reason = f"cannot be opened ({exc.strerror or type(exc).__name__})"
    return UnsafeFile(path, reason, ("open", exc.errno))


def read_private(path: Path, limit: int) -> bytes | None:
    """Up to `limit` bytes of `path`; None if it does not exist; `UnsafeFile` if it cannot be
    trusted or read. Never follows a symlink and never blocks on a FIFO."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _open_problem(path, exc) from None
    try:
        info = os.fstat(fd)
        problem = file_problem(info)
        if problem:
            raise UnsafeFile(path, problem, (*_state(info), problem))
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(fd, min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
        raise UnsafeFile(path, reason, ("read", exc.errno)) from None
    finally:
        os.close(fd)


def open_lock_file(path: Path) -> int:
    """A descriptor on the lock file `path` (created 0600 if missing), never through a symlink.

    Raises `UnsafeFile` for a symlink or an untrusted file, OSError for I/O problems."""
    try:
        fd = os.open(path, _LOCK_FLAGS, PRIVATE_FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _open_problem(path, exc) from None
        raise
    try:
        info = os.fstat(fd)
        problem = file_problem(info)
        if problem:
            raise UnsafeFile(path, problem, (*_state(info), problem))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _temporary(directory: Path, stem: str) -> tuple[int, str]:
    fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    try:
        if POSIX:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    return fd, name


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(directory: Path, path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably (see the module doc). OSError on
    failure, leaving the old content in place."""
    fd, temp_name = _temporary(directory, path.name.split(".", 1)[0])
    try:
        _write_all(fd, data)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(directory)


def create_exclusively(directory: Path, path: Path, data: bytes) -> bool:
    """Create `path` holding `data` unless it exists (then return False). Readers never see it
    partly written: the complete temporary file is hard-linked into place."""
    fd, temp_name = _temporary(directory, path.name.split(".", 1)[0])
    try:
        _write_all(fd, data)
        try:
            os.link(temp_name, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
    fsync_directory(directory)
    return True


def fsync_directory(directory: Path) -> None:
    """Make renames in `directory` durable (best effort: not every platform can)."""
    if not POSIX:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove(path: Path) -> None:
    """Unlink `path` if it exists (a symlink itself, never its target). OSError otherwise."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sweep_temporary_files(directory: Path, stem: str) -> None:
    """Remove `stem`'s temporary files left by writers that died mid-write (best effort)."""
    prefix = f".{stem}."
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def make_private_directories(directory: Path) -> None:
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
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process created it meanwhile
        if POSIX:
            os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
