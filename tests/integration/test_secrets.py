"""Rule R9: secrets (passwords, PAT secrets, connected-app secrets, JWTs) and session tokens never
appear in logs (messages or structured `extra`), reprs, exceptions or event fields.

A realistic workload runs with DEBUG logging and an event hook: PAT, password and connected-app
sign-ins, paging, an expiry and replay, a killed session, a wrong password, a wrong app secret, a
site mismatch, retries, a refused connection. Every token Tableau issued is collected (from the
emulator's live sessions and from the sign-in answers), every JWT from the sign-in requests; then
everything the client produced is searched for all of them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from conftest import ADMIN_PASSWORD, APP_SECRET, SECRETS

from tabsession import (
    AsyncClient,
    Breaker,
    Client,
    ConnectedAppJWT,
    Password,
    SessionExpired,
    SignInFailed,
    SiteMismatch,
    TableauError,
    TransportError,
)
from tabsession.emulator import ConnectedApp
from tabsession.emulator.server import Emulator
from tabsession.testing import instant_waits

from ._support import Events, emulator, free_port, live_tokens, pat

APP = ConnectedApp("leak-test-app", "leak-test-kid", APP_SECRET)
WRONG_PASSWORD = "wrong-pw-Xy7721"
WRONG_APP_SECRET = "wrong-app-secret-Qp0912"


class Wire:
    """httpx event hooks that keep every token and JWT that crossed the wire."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.jwts: set[str] = set()
        self.signin_bodies: list[bytes] = []

    def on_request(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/auth/signin"):
            body = request.content
            self.signin_bodies.append(body)
            credentials = json.loads(body)["credentials"]
            if "jwt" in credentials:
                self.jwts.add(credentials["jwt"])

    def on_response(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith(("/auth/signin", "/auth/switchSite")):
            response.read()
            if response.status_code == 200:
                self.tokens.add(response.json()["credentials"]["token"])

    async def on_request_async(self, request: httpx.Request) -> None:
        self.on_request(request)

    async def on_response_async(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("/auth/signin"):
            await response.aread()
            if response.status_code == 200:
                self.tokens.add(response.json()["credentials"]["token"])

    def client(self) -> httpx.Client:
        return httpx.Client(
            event_hooks={"request": [self.on_request], "response": [self.on_response]}
        )

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            event_hooks={"request": [self.on_request_async], "response": [self.on_response_async]}
        )


class Workload:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.wire = Wire()
        self.events = Events()
        self.http = self.wire.client()
        self.tokens: set[str] = set()
        self.errors: list[BaseException] = []
        self.clients: list[Client | AsyncClient] = []
        self.credentials: list[Any] = []

    def snapshot_tokens(self) -> None:
        self.tokens |= live_tokens(self.emu)

    def client(self, auth: Any, **kwargs: Any) -> Client:
        kwargs.setdefault("on_event", self.events)
        tab = Client(self.emu.url, auth, http_client=self.http, **kwargs)
        self.clients.append(tab)
        self.credentials.append(auth)
        return tab

    def expect(self, error: type[BaseException], call: Any, *args: Any, **kwargs: Any) -> None:
        with pytest.raises(error) as caught:
            call(*args, **kwargs)
        self.errors.append(caught.value)
        self.snapshot_tokens()

    def run(self) -> None:
        emu = self.emu
        # PAT: sign-in, paging, a retry, an expiry and replay, a site mismatch, a killed session
        tab = self.client(pat(), site="marketing", breaker=Breaker(max_young_deaths=50))
        tab.get("projects")
        self.snapshot_tokens()
        assert len(list(tab.paginate("workbooks", page_size=3))) == 10
        emu.set_faults([{"kind": "status", "path": "users$", "status": 503, "times": 1}])
        with instant_waits():
            tab.get("users")
        emu.clear_faults()
        emu.expire_sessions()
        tab.get("projects")
        self.snapshot_tokens()
        self.expect(SiteMismatch, tab.get, f"/sites/{emu.site_id('')}/projects")
        emu.set_faults([{"kind": "kill_session", "path": "groups$"}])
        self.expect(SessionExpired, tab.get, "groups")
        emu.clear_faults()
        tab.get("projects")
        self.snapshot_tokens()
        tab.switch_site("")
        tab.get("projects")
        self.snapshot_tokens()

        # password: sign-in and use; a wrong password
        admin = self.client(Password("admin", ADMIN_PASSWORD))
        admin.post("projects", json={"project": {"name": "Leak check"}})
        self.snapshot_tokens()
        wrong = self.client(Password("admin", WRONG_PASSWORD))
        for _ in range(2):
            self.expect(SignInFailed, wrong.get, "projects")

        # connected app: sign-in, renewal with a new JWT; a wrong secret
        app = ConnectedAppJWT(APP.client_id, APP.secret_id, APP_SECRET, "admin")
        jwt_client = self.client(app)
        jwt_client.get("projects")
        self.snapshot_tokens()
        emu.expire_sessions()
        jwt_client.get("projects")
        self.snapshot_tokens()
        bad_app = ConnectedAppJWT(APP.client_id, APP.secret_id, WRONG_APP_SECRET, "admin")
        self.expect(SignInFailed, self.client(bad_app).sign_in)

        # async: a PAT client meeting an expiry
        asyncio.run(self._async())

        # nothing listening
        with instant_waits():
            refused = Client(
                f"http://127.0.0.1:{free_port()}", pat(), api_version="3.23",
                on_event=self.events,
            )  # fmt: skip
            self.clients.append(refused)
            self.expect(TransportError, refused.get, "projects")

    async def _async(self) -> None:
        http = self.wire.async_client()
        tab = AsyncClient(
            self.emu.url,
            Password("admin", ADMIN_PASSWORD),
            on_event=self.events,
            http_client=http,
        )
        self.clients.append(tab)
        await tab.get("projects")
        self.snapshot_tokens()
        self.emu.expire_sessions()
        await tab.get("workbooks")
        self.snapshot_tokens()
        await tab.close()
        await http.aclose()

    def close(self) -> None:
        for tab in self.clients:
            if isinstance(tab, Client):
                tab.close()
        self.http.close()


def texts_of_exception(error: BaseException) -> Iterable[str]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        if isinstance(current, TableauError):
            yield repr(vars(current))
        current = current.__cause__ or current.__context__


def texts_of_record(record: logging.LogRecord) -> Iterable[str]:
    yield record.getMessage()
    yield repr(record.args)
    yield repr(vars(record))  # the structured `extra` fields included
    yield logging.Formatter().format(record)


def test_no_secret_or_token_leaks_anywhere(tabsession_logs: pytest.LogCaptureFixture) -> None:
    tabsession_logs.set_level(logging.DEBUG, logger="httpcore")
    with emulator(sites=("marketing",), connected_apps=(APP,), seed_items=10) as emu:
        work = Workload(emu)
        try:
            work.run()
            work.snapshot_tokens()
        finally:
            work.close()
        stats = emu.stats()

    wire = work.wire
    tokens = work.tokens | wire.tokens
    secrets = {*SECRETS, WRONG_PASSWORD, WRONG_APP_SECRET, *wire.jwts}
    needles = secrets | tokens

    # the workload did what it claims, so the search below can fail
    assert stats["signins_by_kind"]["pat"] >= 3
    assert stats["signins_by_kind"]["password"] >= 3
    assert stats["signins_by_kind"]["jwt"] == 2
    assert stats["signin_failures"] == 2
    assert len(wire.tokens) >= 9
    assert tokens >= wire.tokens
    assert len(wire.jwts) == 3  # two good ones, one signed with the wrong secret
    bodies = b"".join(wire.signin_bodies)
    for secret in (*SECRETS, WRONG_PASSWORD):
        if secret != APP_SECRET:
            assert secret.encode() in bodies  # they really were used on the wire
    names = set(work.events.names())
    assert {"signin", "signin_failed", "replay", "retry", "wait", "signout"} <= names
    records = tabsession_logs.records
    assert any(getattr(r, "tabsession_event", None) == "replay" for r in records)
    assert any(r.name.startswith("httpx") for r in records)
    assert len(work.errors) == 6

    haystacks: list[tuple[str, str]] = []
    for record in records:
        haystacks += [(f"log {record.name}", text) for text in texts_of_record(record)]
    haystacks.append(("caplog.text", tabsession_logs.text))
    for tab in work.clients:
        haystacks += [
            ("client repr", repr(tab)),
            ("client str", str(tab)),
            ("session", repr(tab.session)),
            ("stats", repr(tab.stats)),
            ("store", repr(tab._store)),
            ("policy", repr(tab.policy)),
        ]
    for credential in work.credentials:
        haystacks += [("credential repr", repr(credential)), ("credential str", str(credential))]
    for error in work.errors:
        haystacks += [(f"error {type(error).__name__}", t) for t in texts_of_exception(error)]
    for name, fields in work.events.all:
        haystacks.append((f"event {name}", repr(fields)))

    leaks = sorted(
        {
            (where, needle[:6] + "…")
            for where, text in haystacks
            for needle in needles
            if needle in text
        }
    )
    assert leaks == []
