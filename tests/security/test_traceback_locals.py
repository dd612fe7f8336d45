"""No secret and no session token in a traceback formatted WITH its locals.

Error reporters (Sentry, `traceback.TracebackException(..., capture_locals=True)`, pytest's
`--showlocals`) print the repr of every local of every frame. tabsession's frames hold the
credential (a dataclass that hides its secret), the sign-in body (a `Secret[bytes]`) and the
request headers (`MaskedHeaders`), so none of them shows a secret or the token. Each case
provokes a real failure over loopback HTTP and formats the traceback both ways."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from _pytest._code import ExceptionInfo
from conftest import ADMIN_PASSWORD, APP_SECRET, PAT_SECRET

from tabsession import AsyncClient, Client, ConnectedAppJWT, Password, TableauError
from tabsession.emulator import ConnectedApp
from tabsession.testing import instant_waits
from tests.integration._support import emulator, free_port, live_tokens, password, pat

APP = ConnectedApp("tb-app", "tb-kid", APP_SECRET)


class Quiet(set[str]):
    """A set of test needles whose repr does not show them (it sits in a traced frame)."""

    def __repr__(self) -> str:
        return f"Quiet({len(self)} items)"


def formatted(exc: BaseException) -> str:
    """The traceback with locals, as the stdlib and as pytest print it."""
    stdlib = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    info = ExceptionInfo.from_exception(exc)
    pytest_style = str(info.getrepr(showlocals=True, style="long", chain=True))
    return stdlib + "\n" + pytest_style


def failure_of(call: Callable[[], Any]) -> TableauError:
    with pytest.raises(TableauError) as caught:
        call()
    return caught.value


def assert_clean(text: str, *needles: str) -> None:
    assert len(text) > 2000  # a real, multi-frame traceback with locals
    for needle in needles:
        assert needle not in text


def test_a_sign_in_that_cannot_connect_shows_no_secret() -> None:
    for credential, secret in ((pat(), PAT_SECRET), (password(), ADMIN_PASSWORD)):
        with instant_waits(), Client(f"http://127.0.0.1:{free_port()}", credential) as tab:
            exc = failure_of(tab.sign_in)
        assert_clean(formatted(exc), secret)


def test_a_refused_sign_in_shows_no_secret() -> None:
    wrong = "wrong-pw-tb-3381"
    with emulator() as emu, Client(emu.url, Password("admin", wrong)) as tab:
        exc = failure_of(tab.sign_in)
    assert_clean(formatted(exc), wrong, ADMIN_PASSWORD)


def test_a_connected_app_sign_in_that_fails_shows_neither_secret_nor_jwt() -> None:
    with emulator(connected_apps=(APP,)) as emu:
        credential = ConnectedAppJWT("tb-app", "tb-kid", APP_SECRET, "nobody-here")
        with Client(emu.url, credential) as tab:
            exc = failure_of(tab.sign_in)
    text = formatted(exc)
    assert_clean(text, APP_SECRET)
    assert "eyJ" not in text  # no JWT (every JWT starts with base64 of '{"') anywhere


def test_a_failing_call_shows_no_token() -> None:
    with emulator(seed_items=3) as emu, instant_waits(), Client(emu.url, pat()) as tab:
        tab.sign_in()
        tokens = live_tokens(emu)
        emu.set_faults([{"kind": "status", "status": 500, "path": "/workbooks"}])
        exc = failure_of(lambda: tab.get("workbooks"))
        emu.set_faults([{"kind": "drop", "path": "/projects"}])
        dropped = failure_of(lambda: tab.get("projects"))
    assert tokens
    for error in (exc, dropped):
        assert_clean(formatted(error), PAT_SECRET, *tokens)


def test_the_async_client_shows_no_secret_nor_token() -> None:
    tokens = Quiet()  # the scenario's frame is in the traceback: its locals must not show tokens

    async def scenario(url: str) -> tuple[TableauError, TableauError]:
        async with AsyncClient(f"http://127.0.0.1:{free_port()}", pat()) as dead:
            try:
                await dead.sign_in()
            except TableauError as exc:
                unreachable = exc
        async with AsyncClient(url, pat()) as tab:
            await tab.sign_in()
            tokens.update(live_tokens(emu))
            try:
                await tab.get("workbooks")
            except TableauError as exc:
                failing = exc
        return unreachable, failing

    with emulator(seed_items=3) as emu, instant_waits():
        emu.set_faults([{"kind": "status", "status": 503, "path": "/workbooks"}])
        unreachable, failing = asyncio.run(scenario(emu.url))
    assert tokens
    for error in (unreachable, failing):
        assert_clean(formatted(error), PAT_SECRET, *tokens)
