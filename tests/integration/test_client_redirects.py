"""Redirects (rule R8): a sign-in redirect (Tableau Cloud's pod redirect) is re-POSTed and moves
the client; an authenticated call redirected off its server raises, and the token never gets
there. Servers other than the emulator are tiny `http.server`s that record what they receive."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tabsession import Client, ResponseError

from ._support import counter, emulator, matched, password, pat

TOKEN = "tok-Zq81-recorder-session"
SITE = "site-1111"

Reply = tuple[int, dict[str, str], bytes]


class Recorder:
    """A tiny HTTP server on 127.0.0.1 that records every request and answers with `handler`."""

    def __init__(self, handler: Callable[[str, str, dict[str, str]], Reply]) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.requests.append((self.command, self.path, headers))
                status, extra, body = handler(self.command, self.path, headers)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def tokens_seen(self) -> list[str]:
        return [h["x-tableau-auth"] for _, _, h in self.requests if "x-tableau-auth" in h]


@contextmanager
def running(handler: Callable[[str, str, dict[str, str]], Reply]) -> Iterator[Recorder]:
    recorder = Recorder(handler)
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.shutdown()
        recorder.server.server_close()


def as_json(data: Any, status: int = 200) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def redirect_to(location: str, status: int = 302) -> Reply:
    return status, {"Location": location}, b""


def fake_tableau(elsewhere: Callable[[str], str]) -> Callable[[str, str, dict[str, str]], Reply]:
    """A minimal Tableau: serverinfo, sign-in, one listing, a same-origin redirect; every other
    path is redirected to `elsewhere(path)`."""

    def handle(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path.endswith("/serverinfo"):
            return as_json({"serverInfo": {"restApiVersion": "3.23"}})
        if path.endswith("/auth/signin") and method == "POST":
            return as_json(
                {
                    "credentials": {
                        "token": TOKEN,
                        "site": {"id": SITE, "contentUrl": ""},
                        "user": {"id": "user-1"},
                    }
                }
            )
        if path.endswith("/auth/signout"):
            return 204, {}, b""
        if path == f"/api/3.23/sites/{SITE}/projects":
            return as_json({"projects": {"project": [{"id": "p", "name": "default"}]}})
        if path == f"/api/3.23/sites/{SITE}/moved":
            return redirect_to(f"/api/3.23/sites/{SITE}/projects", 301)
        return redirect_to(elsewhere(path))

    return handle


def record_only(method: str, path: str, headers: dict[str, str]) -> Reply:
    return redirect_to("/elsewhere")


# -- the sign-in redirect --------------------------------------------------------------------------


def test_sign_in_redirect_is_re_posted_to_the_pod_and_moves_the_client() -> None:
    with emulator(signin_redirect_host="localhost") as emu:
        port = emu.url.rsplit(":", 1)[1]
        emu.set_faults(
            [counter("auth/signin", method="POST"), counter("auth/signin", method="GET")]
        )
        with Client(emu.url, pat(), redirect_hosts=["localhost"]) as tab:
            assert tab.server == f"http://127.0.0.1:{port}"
            assert tab.get("projects")["projects"]
            assert tab.server == f"http://localhost:{port}"
            session = tab.session
            assert session is not None
            assert session.server == f"http://localhost:{port}"
            assert matched(emu) == [2, 0]  # POSTed twice (the 301, then the pod), never a GET
            stats = emu.stats()
            assert stats["signins"] == 1
            assert stats["status_counts"]["301"] == 1
            assert "405" not in stats["status_counts"]
            # a later sign-in goes straight to the pod
            emu.expire_sessions()
            assert tab.get("projects")
            assert matched(emu) == [3, 0]
            assert emu.stats()["status_counts"]["301"] == 1
            assert emu.stats()["signins"] == 2


# -- authenticated calls never take the token elsewhere --------------------------------------------


@pytest.mark.parametrize("other_host", ["127.0.0.1", "localhost"])
def test_a_redirect_to_another_server_raises_and_the_token_never_gets_there(
    other_host: str,
) -> None:
    with running(record_only) as other:
        target = f"http://{other_host}:{other.port}"
        with running(fake_tableau(lambda path: target + path)) as server:
            with Client(server.url, password()) as tab:
                with pytest.raises(ResponseError, match="never sends the session token") as caught:
                    tab.get("workbooks")
                assert caught.value.status == 302
                assert target in str(caught.value)
                assert TOKEN not in str(caught.value)
                assert server.tokens_seen() == [TOKEN]  # its own server got it, once
            assert server.requests[-1][:2] == ("POST", "/api/3.23/auth/signout")
        assert other.requests == []
        assert other.tokens_seen() == []


def test_a_same_origin_redirect_is_followed_with_the_token() -> None:
    with running(fake_tableau(lambda path: "http://127.0.0.1:9/never")) as server:
        with Client(server.url, password()) as tab:
            assert tab.get("moved") == {"projects": {"project": [{"id": "p", "name": "default"}]}}
        followed = [(m, p) for m, p, _ in server.requests if "sites" in p]
        assert followed == [
            ("GET", f"/api/3.23/sites/{SITE}/moved"),
            ("GET", f"/api/3.23/sites/{SITE}/projects"),
        ]
        assert server.tokens_seen() == [TOKEN, TOKEN, TOKEN]  # the call, its redirect, sign-out


def test_a_sign_in_redirect_to_another_server_takes_the_client_there() -> None:
    # the pod: a real emulator; the front door: a recorder that redirects sign-ins to it
    with emulator() as pod:

        def front(method: str, path: str, headers: dict[str, str]) -> Reply:
            if path.endswith("/serverinfo"):
                return as_json({"serverInfo": {"restApiVersion": "3.23"}})
            return redirect_to(pod.url + path, 307)

        with running(front) as door:
            with Client(door.url, password()) as tab:
                assert tab.get("projects")["projects"]
                assert tab.server == pod.url
            methods = [m for m, p, _ in door.requests if p.endswith("/auth/signin")]
            assert methods == ["POST"]
            assert door.tokens_seen() == []  # the front door never saw a session token
        assert pod.stats()["signins"] == 1
