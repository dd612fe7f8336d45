"""Fuzzing the proxy over loopback: any method, path, header set, sign-in body and framing a
client can put on the wire, sent as raw bytes (so that nothing a real client library would
refuse is left out: duplicate X-Tableau-Auth headers, obs-text and control bytes, chunked
bodies, bodies over the replay limit).

For every example: no 500 (the proxy's own refusals are Tableau-shaped 4xx/502/503, and the
emulator behind it never answers 500 either, see test_fuzz_emulator.py), no hang (each
exchange has a 10 s socket timeout), `/_tabsession/health` still answers 200 afterwards, no
credential of the suite in any answer, and no upstream session token in an answer to a client
that did not present a live local token.

One emulator and one proxy serve the whole module; the proxy's replay limit is set low
(`REPLAY_LIMIT`) so that the streamed-body path is fuzzed too."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import SECRETS
from hypothesis import given
from hypothesis import strategies as st

from tabsession.emulator.server import Emulator
from tabsession.proxy import Proxy
from tests.integration._support import emulator
from tests.proxy._support import local_sign_in, password_body, pat_body, running_proxy

from ._budget import examples
from ._strategies import CONTENT_TYPES, bodies, json_values, path_segments, xml_documents

VERSION = "3.23"
REPLAY_LIMIT = 4096
TIMEOUT = 10.0
SIGN_IN_LIMIT = 64 * 1024


@dataclass
class World:
    emu: Emulator
    proxy: Proxy
    host: str
    port: int
    site_id: str
    token: str = field(repr=False)
    """A live local token (renewed when a fuzzed sign-out ends it)."""
    upstream_tokens: set[str] = field(default_factory=set, repr=False)

    def sign_in(self) -> None:
        self.token = local_sign_in(self.proxy.url)

    def note_upstream_tokens(self) -> None:
        self.upstream_tokens.update(s.token for s in self.emu.state.auth.sessions())


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with (
        emulator(sites=("marketing",), seed_items=5) as emu,
        running_proxy(emu, replay_limit=REPLAY_LIMIT) as proxy,
    ):
        parts = urlsplit(proxy.url)
        assert parts.hostname is not None
        assert parts.port is not None
        state = World(emu, proxy, parts.hostname, parts.port, emu.site_id(""), "")
        state.sign_in()
        state.note_upstream_tokens()
        yield state


# -- the raw client ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None
    """None: the proxy closed the connection without an answer (a refused request line, or
    a body the client cut short)."""
    raw: bytes


def exchange(world: World, request: bytes, *, half_close: bool = False) -> Answer:
    """Send `request` (bytes, framing included) and read until the server closes. A socket
    timeout fails the example: that is a hang."""
    with socket.create_connection((world.host, world.port), timeout=TIMEOUT) as sock:
        with contextlib.suppress(OSError):  # refused early and closed (a huge head): read on
            sock.sendall(request)
        if half_close:
            with contextlib.suppress(OSError):  # already closed by the server
                sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                raise AssertionError(f"no answer in {TIMEOUT} s to {request[:200]!r}") from None
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    status = None
    if raw.startswith(b"HTTP/1."):
        status = int(raw.split(b" ", 2)[1])
    return Answer(status, raw)


def _chunked(body: bytes, sizes: list[int], malformed: bool) -> bytes:
    out, at = [], 0
    for size in sizes:
        part = body[at : at + size]
        if not part:
            break
        out.append(b"%x\r\n%s\r\n" % (len(part), part))
        at += size
    if body[at:]:
        out.append(b"%x\r\n%s\r\n" % (len(body) - at, body[at:]))
    if malformed:
        out.append(b"zz\r\nnot a chunk\r\n")
    return b"".join(out) + b"0\r\n\r\n"


# -- what a hostile client sends ---------------------------------------------------------------

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "TRACE",
           "CONNECT", "PROPFIND", "FOO", "G\x00T", "POST /x"]  # fmt: skip
_API_TAILS = [
    "auth/signin", "auth/signout", "auth/switchSite", "AUTH/SIGNIN", "auth/signin/",
    "/auth/signin", "serverinfo", "sessions/current", "sites/{site}/workbooks",
    "sites/{site}/projects", "sites/{site}/users", "sites/other-site/workbooks",
    "sites/{site}?key=contentUrl", "sites/marketing?key=contentUrl&key=name",
    "sites/{site}/workbooks?pageSize=x&filter=name:eq:%00", "../../_emulator/reset",
    "%2e%2e/%2e%2e/_emulator/stats", "sites/{site}/../../../_emulator/config",
]  # fmt: skip
_OTHER_PATHS = ["/_tabsession/health", "/_tabsession/stats", "/_tabsession/", "/", "*",
                "/api", "/api/", "/api/metadata/graphql", "/_emulator/reset",
                "//api/3.23/serverinfo", "/api/3.23", "/api/3.23/"]  # fmt: skip


@st.composite
def targets(draw: st.DrawFn, world: World) -> str:
    kind = draw(st.sampled_from(["auth", "api", "random", "other", "huge"]))
    if kind == "auth":
        return f"/api/{VERSION}/" + draw(st.sampled_from(["auth/switchSite", "auth/signin",
                                                          "auth/signout"]))  # fmt: skip
    if kind == "other":
        return draw(st.sampled_from(_OTHER_PATHS))
    if kind == "huge":
        size = draw(st.sampled_from([8000, 70_000]))
        return f"/api/{VERSION}/sites/{world.site_id}/" + "a" * size
    version = draw(st.sampled_from([VERSION, "2.0", "99.99", "x", "", "3.23.1", "%33.23"]))
    if kind == "api":
        tail = draw(st.sampled_from(_API_TAILS)).replace("{site}", world.site_id)
    else:
        segments = draw(st.lists(path_segments, min_size=1, max_size=4))
        tail = "/".join(quote(s, safe="%:@!$&'()*+,;=") for s in segments)
    return f"/api/{version}/{tail}"


_header_value = (
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    .map(str.strip)
    .map(str.encode)
    | st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    | st.sampled_from([b"a" * 20_000, "é".encode(), b"\xff\xfe", b"\x00", b"\x7f", b""])
)
_header_names = st.sampled_from([b"Content-Type", b"Accept", b"Accept-Encoding", b"Range",
                                 b"Cookie", b"Expect", b"Host", b"X-Forwarded-For", b"TE",
                                 b"Upgrade", b"Content-Encoding", b"X Bad", b"\xffname",
                                 b"X-Other"])  # fmt: skip


@st.composite
def sign_in_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(content type, body): Tableau's sign-in shapes with every field fuzzed."""
    field_value = st.sampled_from(["ci-pat", "admin", "", "marketing"]) | json_values
    kind = draw(st.sampled_from(["deep", "pat", "json", "password", "xml", "hostile", "site"]))
    if kind == "pat":
        body = pat_body()
        creds = body["credentials"]
        for key in draw(st.lists(st.sampled_from([*sorted(creds), "jwt", "user"]), max_size=3)):
            creds[key] = draw(field_value)
        data = json.dumps(body).encode()
    elif kind == "password":
        data = password_body(
            name=draw(st.sampled_from(["admin", "", 'a"b', "<x/>"])),
            password=draw(st.sampled_from(["", "wrong", "&amp;"])),
            site=draw(st.sampled_from(["", "marketing", "'"])),
        ).encode()
    elif kind == "json":
        data = json.dumps({"credentials": draw(json_values)}).encode()
    elif kind == "xml":
        data = f"<tsRequest>{draw(xml_documents())}</tsRequest>".encode()
    elif kind == "deep":
        depth = draw(st.sampled_from([5000, 30_000, 500]))
        data = draw(st.sampled_from([b"[" * depth, b'{"credentials":' * depth,
                                     b"<a>" * depth + b"</a>" * depth]))  # fmt: skip
    elif kind == "site":  # a switchSite body, or a sign-in whose site is fuzzed
        data = json.dumps(draw(st.sampled_from([{}, {"site": None}]) | st.fixed_dictionaries(
            {"site": json_values}) | json_values)).encode()  # fmt: skip
    else:
        data = draw(bodies())
    content_type = draw(st.sampled_from(["application/json", "application/xml", *CONTENT_TYPES]))
    return content_type.encode(), data


@dataclass
class Hostile:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    framing: str
    """"length", "chunked", "bad-chunked", "none"; "short" (a body cut short) and
    "double-length" (two Content-Lengths) are sent half-closed."""
    authenticated: bool
    """A live local token is among the X-Tableau-Auth headers."""

    def __repr__(self) -> str:  # a short failure report: bodies and headers can be huge
        headers = [(n[:40], v[:80] + (b"..." if len(v) > 80 else b"")) for n, v in self.headers]
        return (
            f"Hostile({self.method!r}, {self.target[:200]!r}, headers={headers!r}, "
            f"body={self.body[:200]!r} ({len(self.body)} bytes), framing={self.framing!r})"
        )

    def wire(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1".encode("utf-8", "surrogateescape")]
        lines.append(b"Host: 127.0.0.1")
        lines += [name + b": " + value for name, value in self.headers]
        body = self.body
        if self.framing in ("length", "short"):
            lines.append(b"Content-Length: %d" % len(body))
            if self.framing == "short":
                body = body[: len(body) // 2]
        elif self.framing == "double-length":  # conflicting framing: half-closed after it
            lines += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]
        elif self.framing in ("chunked", "bad-chunked"):
            lines.append(b"Transfer-Encoding: chunked")
            body = _chunked(body, [7, 100, 4000], self.framing == "bad-chunked")
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


@st.composite
def hostile_requests(draw: st.DrawFn, world: World) -> Hostile:
    target = draw(targets(world))
    sign_in = "/auth/" in target.lower()
    method = draw(st.sampled_from(["POST"] if sign_in and draw(st.booleans()) else METHODS))
    headers = draw(st.lists(st.tuples(_header_names, _header_value), max_size=4))
    auth = draw(st.sampled_from(["valid", "bogus", "none", "twice", "bogus-first", "empty"]))
    valid = world.token.encode()
    tokens = {"valid": [valid], "bogus": [draw(_header_value)], "none": [], "empty": [b""],
              "twice": [valid, valid], "bogus-first": [b"bogus", valid]}[auth]  # fmt: skip
    headers += [(b"X-Tableau-Auth", token) for token in tokens]
    if sign_in or draw(st.integers(0, 3)) == 0:
        content_type, body = draw(sign_in_bodies())
        headers.append((b"Content-Type", content_type))
    else:
        body = draw(bodies())
    size = draw(st.sampled_from([0] * 6 + [REPLAY_LIMIT + 1, SIGN_IN_LIMIT + 1, 300_000]))
    if size:
        body = (body + b"x" * size)[:size]
    framing = draw(st.sampled_from(["length", "length", "chunked", "bad-chunked", "none",
                                    "short", "double-length"]))  # fmt: skip
    return Hostile(method, target, headers, body, framing, auth in ("valid", "twice"))


def _assert_healthy(world: World) -> None:
    health = httpx.get(f"{world.proxy.url}/_tabsession/health", timeout=TIMEOUT)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"


def _assert_no_secret(world: World, answer: Answer, authenticated: bool) -> None:
    for secret in SECRETS:
        assert secret.encode() not in answer.raw, secret
    if not authenticated:
        for token in world.upstream_tokens:
            assert token.encode() not in answer.raw, "an upstream token reached a stranger"


@examples(1.5)
@given(st.data())
def test_hostile_requests_never_get_a_500_or_a_hang(world: World, data: st.DataObject) -> None:
    request = data.draw(hostile_requests(world))
    world.note_upstream_tokens()
    half_close = request.framing in ("short", "double-length")
    answer = exchange(world, request.wire(), half_close=half_close)
    world.note_upstream_tokens()
    assert answer.status != 500, answer.raw[:600]
    if answer.status is not None:
        assert 100 <= answer.status < 600
    _assert_no_secret(world, answer, request.authenticated)
    _assert_healthy(world)
    if world.proxy.app.sessions.use(world.token) is None:
        world.sign_in()  # the fuzzer signed the local token out: carry on with a new one


@examples(0.5)
@given(sign_in_bodies(), st.sampled_from(["application/json", "application/xml", ""]))
def test_sign_in_bodies_get_a_tableau_answer(
    world: World, sign_in: tuple[bytes, bytes], accept: str
) -> None:
    """Every sign-in body, well framed, gets 200 (a local token), or a Tableau-shaped 400/401
    from the proxy itself; never a 500, never an upstream token."""
    content_type, body = sign_in
    answer = httpx.post(
        f"{world.proxy.url}/api/{VERSION}/auth/signin",
        content=body,
        headers={"Content-Type": content_type.decode("latin-1"), "Accept": accept},
        timeout=TIMEOUT,
    )
    world.note_upstream_tokens()
    assert answer.status_code in (200, 400, 401), answer.text[:600]
    if answer.status_code != 200:
        assert b"<error code=" in answer.content or b'"error"' in answer.content
    _assert_no_secret(world, Answer(answer.status_code, answer.content), authenticated=False)
    _assert_healthy(world)


@examples(0.5)
@given(sign_in_bodies(), st.sampled_from(["switchSite", "signin", "signout", "switchsite/"]))
def test_auth_calls_with_a_live_token_get_a_tableau_answer(
    world: World, sign_in: tuple[bytes, bytes], action: str
) -> None:
    """Sign-in, sign-out and switch-site with a live local token and any body: answered by the
    proxy itself (switch-site is always refused with a 403), never a 500."""
    content_type, body = sign_in
    answer = httpx.post(
        f"{world.proxy.url}/api/{VERSION}/auth/{action}",
        content=body,
        headers={"Content-Type": content_type.decode("latin-1"), "X-Tableau-Auth": world.token},
        timeout=TIMEOUT,
    )
    world.note_upstream_tokens()
    assert answer.status_code in (200, 204, 400, 401, 403), answer.text[:600]
    _assert_no_secret(world, Answer(answer.status_code, answer.content), authenticated=False)
    _assert_healthy(world)
    if answer.status_code == 204:
        world.sign_in()


def test_the_fuzzed_proxy_still_forwards_normally(world: World) -> None:
    world.sign_in()
    answer = httpx.get(
        f"{world.proxy.url}/api/{VERSION}/sites/{world.site_id}/projects",
        headers={"X-Tableau-Auth": world.token, "Accept": "application/json"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["projects"]["project"]
