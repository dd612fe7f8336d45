"""A small hostile Tableau on 127.0.0.1: raw asyncio, so that it can send what no framework
would (truncated bodies, bodies trickled byte by byte, endless bodies, gzip bombs).

It answers serverinfo, sign-in, sign-out, `projects` and a paged `workbooks` like a tiny Tableau,
except for the one `target` endpoint, where `behaviour` answers instead. It counts every request
it receives by path, and every request that carried a secret (a sign-in body or a token). The
server runs in its own thread and event loop and stops when the `with` block ends; every
connection it holds is closed then, so no answer outlives the test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TOKEN = "hostile-session-token-Yq71"
SITE = "site-hostile-1"
VERSION = "3.23"

Writer = asyncio.StreamWriter
Behaviour = Callable[["Request", Writer], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Seen:
    """What the server received (read from the test's thread after the calls)."""

    paths: Counter[str] = field(default_factory=Counter)
    secrets: int = 0  # requests that carried credentials or a token

    def count(self, suffix: str) -> int:
        return sum(n for path, n in self.paths.items() if path.split("?")[0].endswith(suffix))


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def send(
    writer: Writer, body: bytes, *, status: int = 200, content_type: str = "application/json"
) -> None:
    writer.write(
        head(status, {"Content-Type": content_type, "Content-Length": str(len(body))}) + body
    )
    await writer.drain()


def as_json(data: object) -> bytes:
    return json.dumps(data).encode()


def credentials() -> bytes:
    return as_json(
        {
            "credentials": {
                "token": TOKEN,
                "site": {"id": SITE, "contentUrl": ""},
                "user": {"id": "user-1"},
            }
        }
    )


def page(number: int, size: int, total: int, count: int) -> bytes:
    items = [{"id": f"wb-{number}-{i}", "name": f"W{number}.{i}"} for i in range(count)]
    return as_json(
        {
            "pagination": {
                "pageNumber": str(number),
                "pageSize": str(size),
                "totalAvailable": str(total),
            },
            "workbooks": {"workbook": items},
        }
    )


def query(path: str) -> dict[str, str]:
    _, _, text = path.partition("?")
    pairs = (part.split("=", 1) for part in text.split("&") if "=" in part)
    return dict(pairs)


async def normal(request: Request, writer: Writer) -> None:
    """A tiny well-behaved Tableau (3 pages of 3 workbooks)."""
    path = request.path.split("?")[0]
    if path.endswith("/serverinfo"):
        await send(writer, as_json({"serverInfo": {"restApiVersion": VERSION}}))
    elif path.endswith("/auth/signin"):
        await send(writer, credentials())
    elif path.endswith("/auth/signout"):
        writer.write(head(204, {"Content-Length": "0"}))
    elif path.endswith("/projects"):
        await send(writer, as_json({"projects": {"project": [{"id": "p1", "name": "default"}]}}))
    elif path.endswith("/workbooks"):
        number = int(query(request.path).get("pageNumber", "1"))
        await send(writer, page(number, 3, 9, 3 if number <= 3 else 0))
    else:
        await send(writer, as_json({"error": {"code": "404000", "summary": "?"}}), status=404)


class HostileServer:
    def __init__(self, target: str | tuple[str, ...], behaviour: Behaviour) -> None:
        self.target = target  # path suffixes: "serverinfo", "auth/signin", "projects", ...
        self.behaviour = behaviour
        self.seen = Seen()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._writers: set[Writer] = set()
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="hostile-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for writer in list(self._writers):
                writer.close()
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = raw.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        return Request(method, path, headers, body)

    async def _connection(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    return
                with self._lock:
                    self.seen.paths[request.path] += 1
                    if b"secret" in request.body or "x-tableau-auth" in request.headers:
                        self.seen.secrets += 1
                hostile = request.path.split("?")[0].endswith(self.target)
                await (self.behaviour if hostile else normal)(request, writer)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    def __enter__(self) -> HostileServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)


@contextmanager
def hostile(target: str | tuple[str, ...], behaviour: Behaviour) -> Iterator[HostileServer]:
    with HostileServer(target, behaviour) as server:
        yield server


# -- behaviours -------------------------------------------------------------------------------


def fixed(body: bytes, *, status: int = 200, content_type: str = "application/json") -> Behaviour:
    async def behave(request: Request, writer: Writer) -> None:
        await send(writer, body, status=status, content_type=content_type)

    return behave


def truncated(body: bytes = b'{"serverInfo": {"restApiVersion": "3.2') -> Behaviour:
    """Announces 10,000 bytes, sends a few, then closes the connection."""

    async def behave(request: Request, writer: Writer) -> None:
        writer.write(head(200, {"Content-Type": "application/json", "Content-Length": "10000"}))
        writer.write(body)
        await writer.drain()
        writer.close()

    return behave


def trickled(interval: float = 1.0, length: int = 1000) -> Behaviour:
    """A valid head, then one byte of body per `interval` seconds."""

    async def behave(request: Request, writer: Writer) -> None:
        writer.write(head(200, {"Content-Type": "application/json", "Content-Length": str(length)}))
        await writer.drain()
        for _ in range(length):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(interval)

    return behave


def endless(chunk: int = 64 * 1024) -> Behaviour:
    """Chunked transfer encoding that never ends (until the client hangs up)."""

    async def behave(request: Request, writer: Writer) -> None:
        writer.write(
            head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        )
        piece = f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n"
        while True:
            writer.write(piece)
            await writer.drain()

    return behave


_BOMB: bytes | None = None


def gzip_bomb_bytes() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros (built once, in pieces)."""
    global _BOMB
    if _BOMB is None:
        z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(8 * 1024 * 1024)
        parts = [z.compress(zeros) for _ in range(128)]
        parts.append(z.flush())
        _BOMB = b"".join(parts)
    return _BOMB


def gzip_bomb() -> Behaviour:
    async def behave(request: Request, writer: Writer) -> None:
        bomb = gzip_bomb_bytes()
        writer.write(
            head(
                200,
                {
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(bomb)),
                },
            )
        )
        writer.write(bomb)
        await writer.drain()

    return behave


def big_json(size: int, paged: bool = False) -> Behaviour:
    """A valid answer padded to `size` bytes: serverinfo, credentials and a project list in one
    (a correct answer at each of those endpoints), or one page of one workbook (`paged`)."""
    item: dict[str, str] = {"id": "wb-1", "name": ""}
    shell: dict[str, object] = (
        {"pagination": {"pageNumber": "1", "pageSize": "100", "totalAvailable": "1"}}
        | {"workbooks": {"workbook": [item]}}
        if paged
        else {
            "serverInfo": {"restApiVersion": VERSION},
            "credentials": json.loads(credentials())["credentials"],
            "projects": {"project": [{"id": "p1", "name": "default"}]},
            "pad": "",
        }
    )
    pad = "x" * max(0, size - len(as_json(shell)))
    if paged:
        item["name"] = pad
    else:
        shell["pad"] = pad
    body = as_json(shell)

    async def behave(request: Request, writer: Writer) -> None:
        writer.write(
            head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        view = memoryview(body)
        for start in range(0, len(body), 1 << 20):
            writer.write(view[start : start + (1 << 20)])
            await writer.drain()

    return behave


def bogus_total(total: int = 10**12, size: int = 100) -> Behaviour:
    """Page 1 full, every later page empty, and a total of a trillion."""

    async def behave(request: Request, writer: Writer) -> None:
        number = int(query(request.path).get("pageNumber", "1"))
        await send(writer, page(number, size, total, size if number == 1 else 0))

    return behave


def redirect(location: Callable[[Request], str], status: int = 307) -> Behaviour:
    async def behave(request: Request, writer: Writer) -> None:
        writer.write(head(status, {"Location": location(request), "Content-Length": "0"}))
        await writer.drain()

    return behave


DEEP = 100_000
DEEP_JSON = b"[" * DEEP + b"]" * DEEP
DEEP_JSON_ERROR = b'{"error": ' * DEEP + b"1" + b"}" * DEEP
DEEP_XML = b"<tsResponse>" + b"<a>" * DEEP + b"</a>" * DEEP + b"</tsResponse>"
ENTITY_EXPANSION = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<tsResponse xmlns="http://tableau.com/api"><serverInfo><restApiVersion>&lol9;</restApiVersion>
</serverInfo></tsResponse>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<tsResponse xmlns="http://tableau.com/api"><serverInfo><restApiVersion>&xxe;</restApiVersion>
</serverInfo></tsResponse>"""


def trickled_head(interval: float = 0.2) -> Behaviour:
    """The status line and headers themselves, one byte per `interval` seconds, forever."""

    async def behave(request: Request, writer: Writer) -> None:
        text = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000
        for byte in text:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)

    return behave
