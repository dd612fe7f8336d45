"""The I/O vocabulary of tabsession's flows, and the one loop that drives them.

Request handling, sign-in and single-flight refresh are written once, as generators that yield
these effects and receive their results; `Client` performs them with blocking calls and threads,
`AsyncClient` with `await`. That keeps the two clients thin and identical in behaviour.

Every effect is a small frozen class. Store effects carry their own arguments and know which
store method they call (`call(store)`), so no flow names a method by a string. Flows never yield
an effect directly: they use the typed helpers below (`result = yield from load(key)`), so mypy
checks what each flow receives.

An effect that fails is thrown back into the flow at the `yield`, so flows handle I/O errors with
ordinary try/except (and release locks in `finally`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tabsession._httpx import Request, Response
from tabsession.stores.base import StoredSession

if TYPE_CHECKING:
    from tabsession.operations.sink import FileSink

__all__ = [
    "Acquire",
    "Effect",
    "FileOp",
    "FileSize",
    "Flow",
    "IsDirectory",
    "Load",
    "MakeTemp",
    "Now",
    "Publish",
    "ReadBlock",
    "Release",
    "RemoveFile",
    "ReplaceFile",
    "Resolve",
    "Send",
    "SendTo",
    "Sleep",
    "StoreEffect",
    "Touch",
    "Wait",
    "acquire",
    "drive",
    "drive_async",
    "file_size",
    "is_directory",
    "load",
    "make_temp",
    "now",
    "publish",
    "read_block",
    "release",
    "remove_file",
    "replace_file",
    "resolve",
    "send",
    "send_to",
    "sleep",
    "touch",
    "wait",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Send `request`; the result is the `Response` with its body read."""

    request: Request


@dataclass(frozen=True, slots=True)
class SendTo:
    """Send `request`; a 2xx body is streamed into `sink` (never held in memory, never capped by
    the client's body limit), any other body is read as for `Send`. The result is the
    `Response`, whose `content` is empty when the body went to the sink."""

    request: Request
    sink: FileSink


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait `seconds` (instantly under `tabsession.testing.instant_waits()`)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Resolve:
    """Produce `value`: itself, or what it resolves to when it is awaitable (async clients only)."""

    value: Any


class StoreEffect:
    """An operation on the client's token store. `call(store)` performs it: the result is the
    method's return value (an awaitable on an async store, which the async driver awaits)."""

    __slots__ = ()

    def call(self, store: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Now(StoreEffect):
    def call(self, store: Any) -> Any:
        return store.now()


@dataclass(frozen=True, slots=True)
class Load(StoreEffect):
    key: str

    def call(self, store: Any) -> Any:
        return store.load(self.key)


@dataclass(frozen=True, slots=True)
class Acquire(StoreEffect):
    key: str
    owner: str
    ttl: float

    def call(self, store: Any) -> Any:
        return store.acquire(self.key, self.owner, self.ttl)


@dataclass(frozen=True, slots=True)
class Release(StoreEffect):
    key: str
    owner: str

    def call(self, store: Any) -> Any:
        return store.release(self.key, self.owner)


@dataclass(frozen=True, slots=True)
class Publish(StoreEffect):
    key: str
    record: StoredSession
    owner: str

    def call(self, store: Any) -> Any:
        return store.publish(self.key, self.record, self.owner)


@dataclass(frozen=True, slots=True)
class Touch(StoreEffect):
    key: str
    generation: int
    at: float

    def call(self, store: Any) -> Any:
        return store.touch(self.key, self.generation, self.at)


@dataclass(frozen=True, slots=True)
class Wait(StoreEffect):
    key: str
    generation: int
    timeout: float

    def call(self, store: Any) -> Any:
        return store.wait(self.key, self.generation, self.timeout)


class FileOp:
    """Local file I/O (reading a block, replacing a file). `run()` performs it, blocking: the
    blocking client calls it directly, the async client in a worker thread."""

    __slots__ = ()

    def run(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class FileSize(FileOp):
    path: str

    def run(self) -> int:
        return os.stat(self.path).st_size


@dataclass(frozen=True, slots=True)
class IsDirectory(FileOp):
    path: str

    def run(self) -> bool:
        return os.path.isdir(self.path)


@dataclass(frozen=True, slots=True)
class ReadBlock(FileOp):
    """At most `size` bytes of `path` from `offset` (fewer at the end of the file)."""

    path: str
    offset: int
    size: int

    def run(self) -> bytes:
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            return file.read(self.size)


@dataclass(frozen=True, slots=True)
class MakeTemp(FileOp):
    """A new empty file beside `dest` (same directory, so a rename onto `dest` is atomic)."""

    dest: str

    def run(self) -> str:
        directory = os.path.dirname(os.path.abspath(self.dest))
        handle, path = tempfile.mkstemp(
            prefix=f".{os.path.basename(self.dest)}.", suffix=".part", dir=directory
        )
        os.close(handle)
        return path


@dataclass(frozen=True, slots=True)
class ReplaceFile(FileOp):
    """Rename `source` onto `target` in one step (atomic on one file system)."""

    source: str
    target: str

    def run(self) -> None:
        os.replace(self.source, self.target)


@dataclass(frozen=True, slots=True)
class RemoveFile(FileOp):
    """Remove `path` if it exists."""

    path: str

    def run(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


Effect = Send | SendTo | Sleep | Resolve | StoreEffect | FileOp
Flow = Generator[Effect, Any, T]


# -- typed helpers: what a flow yields, and what it gets back ---------------------------------


def send(request: Request) -> Flow[Response]:
    response: Response = yield Send(request)
    return response


def send_to(request: Request, sink: FileSink) -> Flow[Response]:
    response: Response = yield SendTo(request, sink)
    return response


def file_size(path: str) -> Flow[int]:
    size: int = yield FileSize(path)
    return size


def is_directory(path: str) -> Flow[bool]:
    found: bool = yield IsDirectory(path)
    return found


def read_block(path: str, offset: int, size: int) -> Flow[bytes]:
    data: bytes = yield ReadBlock(path, offset, size)
    return data


def make_temp(dest: str) -> Flow[str]:
    path: str = yield MakeTemp(dest)
    return path


def replace_file(source: str, target: str) -> Flow[None]:
    yield ReplaceFile(source, target)


def remove_file(path: str) -> Flow[None]:
    yield RemoveFile(path)


def sleep(seconds: float) -> Flow[None]:
    yield Sleep(seconds)


def resolve(value: Any) -> Flow[Any]:
    return (yield Resolve(value))


def now() -> Flow[float]:
    value: float = yield Now()
    return value


def load(key: str) -> Flow[StoredSession | None]:
    record: StoredSession | None = yield Load(key)
    return record


def acquire(key: str, owner: str, ttl: float) -> Flow[bool]:
    won: bool = yield Acquire(key, owner, ttl)
    return won


def release(key: str, owner: str) -> Flow[None]:
    yield Release(key, owner)


def publish(key: str, record: StoredSession, owner: str) -> Flow[bool]:
    stored: bool = yield Publish(key, record, owner)
    return stored


def touch(key: str, generation: int, at: float) -> Flow[None]:
    yield Touch(key, generation, at)


def wait(key: str, generation: int, timeout: float) -> Flow[None]:
    yield Wait(key, generation, timeout)


# -- the drivers ------------------------------------------------------------------------------


def drive(flow: Flow[T], perform: Callable[[Effect], Any]) -> T:
    """Run `flow` to its end, performing each effect with `perform` (blocking). An effect's
    exception, cancellation included, is thrown into the flow so it can clean up."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value, error = perform(effect), None
        except BaseException as exc:  # handed to the flow, which re-raises what it can't use
            value, error = None, exc


async def drive_async(flow: Flow[T], perform: Callable[[Effect], Awaitable[Any]]) -> T:
    """`drive` for asyncio: each effect is awaited."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value, error = await perform(effect), None
        except BaseException as exc:  # cancellation too: the flow releases its locks first
            value, error = None, exc
