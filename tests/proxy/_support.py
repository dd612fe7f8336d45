"""Helpers for the proxy's tests: an emulator with a few extra routes ("the tap"), proxies in
threads, and sign-ins at the proxy over real HTTP.

The tap is the emulator's own app (same state, same sign-ins, same counters) with four test
routes the emulator does not serve: a large streamed download, an upload that reports what it
received, a Metadata API (GraphQL) echo, and a cookie/redirect answer. Each checks the token
against the emulator's sessions, as Tableau would. The tap also records every request's
headers, so tests can prove which token reached Tableau.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET
from integration._support import emulator, pat
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tabsession._serving import BackgroundServer
from tabsession.emulator.http.app import EmulatorApp
from tabsession.emulator.server import Emulator
from tabsession.emulator.state.errors import ApiError
from tabsession.proxy import Proxy, ProxyConfig

__all__ = [
    "TappedEmulator",
    "local_sign_in",
    "pat_body",
    "running_proxy",
    "tapped_emulator",
]

CHUNK = 64 * 1024


class Tap:
    """ASGI app: the four test routes, then the emulator for everything else."""

    def __init__(self, emulator_app: EmulatorApp) -> None:
        self.inner = emulator_app
        self.state = emulator_app.state
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.downloaded = 0
        """Bytes the download route has produced so far (all downloads together)."""
        self._lock = threading.Lock()

    def _authenticate(self, request: Request) -> Response | None:
        try:
            self.state.auth.authenticate(request.headers.get("x-tableau-auth"))
        except ApiError as error:
            body = {"error": {"code": error.code, "summary": error.summary, "detail": error.detail}}
            return JSONResponse(body, status_code=error.status)
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        request = Request(scope, receive)
        with self._lock:
            self.seen.append((scope["method"], scope["path"], dict(request.headers)))
        path: str = scope["path"]
        response: Response | None = None
        if path.endswith("/tap/download"):
            response = self._authenticate(request)
            if response is None:
                await self._download(request, receive, send)
                return
        elif path.endswith("/tap/upload"):
            data = await request.body()  # like Tableau: the body arrives, then auth is checked
            response = self._authenticate(request) or JSONResponse(
                {"received": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
        elif path == "/api/metadata/graphql":
            query = await request.body()
            response = self._authenticate(request) or JSONResponse(
                {"data": {"echo": json.loads(query)["query"]}}
            )
        elif path.endswith("/tap/cookie"):
            response = Response(b"", 200)
            response.set_cookie("workgroup_session_id", request.headers.get("x-tableau-auth", ""))
        elif path.endswith("/tap/redirect"):
            base = f"{scope['scheme']}://{request.headers['host']}"
            response = Response(b"", 302, headers={"Location": base + "/api/3.23/serverinfo"})
        if response is None:
            await self.inner(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _download(self, request: Request, receive: Any, send: Any) -> None:
        """Stream `size` bytes of x, stopping as soon as the client is gone (as a server with
        a real download would: nothing is produced for nobody)."""
        size = int(request.query_params.get("size", "0"))
        headers = [(b"content-type", b"application/octet-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        gone = asyncio.ensure_future(disconnected())
        try:
            left = size
            while left > 0 and not gone.done():
                part = min(CHUNK, left)
                await send({"type": "http.response.body", "body": b"x" * part, "more_body": True})
                self.downloaded += part
                left -= part
                await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()

    def tokens_seen(self) -> list[str]:
        with self._lock:
            return [h["x-tableau-auth"] for _, _, h in self.seen if "x-tableau-auth" in h]


class TappedEmulator(Emulator):
    """An `Emulator` serving `Tap(EmulatorApp(state))` instead of the bare app."""

    tap: Tap
    keep_alive: int = 5
    """Seconds the server keeps an idle connection open (uvicorn's default)."""

    def start(self) -> TappedEmulator:
        self.tap = Tap(EmulatorApp(self.state))
        config = uvicorn.Config(
            self.tap,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=self.keep_alive,
        )
        self._running = BackgroundServer.start(
            lambda sock: uvicorn.Server(config), "127.0.0.1", 0, name="tap"
        )
        self._url = self._running.url()
        return self


def tapped_emulator(*, keep_alive: int = 5, **fields: Any) -> TappedEmulator:
    """Like `integration._support.emulator`, with the tap's routes."""
    plain = emulator(**fields)
    tapped = TappedEmulator(plain.config)
    tapped.keep_alive = keep_alive
    return tapped


@contextmanager
def running_proxy(upstream: Emulator, **fields: Any) -> Iterator[Proxy]:
    """A proxy on a free loopback port in front of `upstream`, signing in with the suite's PAT
    (pass `credential=` for another)."""
    fields.setdefault("credential", pat())
    fields.setdefault("port", 0)
    with Proxy(ProxyConfig(upstream.url, **fields)) as proxy:
        yield proxy


def pat_body(name: str = PAT_NAME, secret: str = PAT_SECRET, site: str = "") -> dict[str, Any]:
    return {
        "credentials": {
            "personalAccessTokenName": name,
            "personalAccessTokenSecret": secret,
            "site": {"contentUrl": site},
        }
    }


def password_body(name: str = "admin", password: str = ADMIN_PASSWORD, site: str = "") -> str:
    return (
        f'<tsRequest><credentials name="{name}" password="{password}">'
        f'<site contentUrl="{site}"/></credentials></tsRequest>'
    )


def local_sign_in(url: str, body: dict[str, Any] | None = None, version: str = "3.23") -> str:
    """Sign in to the proxy with the PAT (JSON) and return the local token."""
    answer = httpx.post(
        f"{url}/api/{version}/auth/signin",
        json=body or pat_body(),
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["credentials"]["token"]
    return token
