"""TLS certificates are verified by default: against a self-signed loopback HTTPS server,
Client, AsyncClient, the CLI and TSC with `keep_signed_in` refuse the connection before any
request (the credential included) gets through; opting out (`verify=False`) reaches it, which
shows that the server itself works."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import tableauserverclient as TSC

from tabsession import AsyncClient, Client, TableauError, TransportError
from tabsession.testing import instant_waits
from tabsession.tsc import keep_signed_in
from tests.cli.conftest import Cli
from tests.integration._support import pat

from ._tls import _Server, https_server, url_of


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    with https_server(tmp_path) as running:
        yield running


def test_client_verifies_by_default(server: _Server) -> None:
    with instant_waits(), Client(url_of(server), pat()) as tab, pytest.raises(TransportError):
        tab.sign_in()
    assert server.requests == 0
    with Client(url_of(server), pat(), verify=False) as tab, pytest.raises(TableauError) as got:
        tab.sign_in()
    assert not isinstance(got.value, TransportError)
    assert server.requests >= 1


def test_async_client_verifies_by_default(server: _Server) -> None:
    async def sign_in(**options: bool) -> BaseException:
        async with AsyncClient(url_of(server), pat(), **options) as tab:  # type: ignore[arg-type]
            try:
                await tab.sign_in()
            except TableauError as exc:
                return exc
        raise AssertionError("the sign-in should have failed")

    with instant_waits():
        assert isinstance(asyncio.run(sign_in()), TransportError)
    assert server.requests == 0
    assert not isinstance(asyncio.run(sign_in(verify=False)), TransportError)
    assert server.requests >= 1


def test_the_cli_verifies(cli: Cli, server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLEAU_SERVER", url_of(server))
    monkeypatch.setenv("TABLEAU_PAT_NAME", "ci-pat")
    monkeypatch.setenv("TABLEAU_PAT_SECRET", "pat-secret-7Hq2xZ")
    with instant_waits():
        result = cli("api", "projects")
    assert result.exit_code == 9, result.output  # UNREACHABLE in the CLI's exit-code table
    assert server.requests == 0


def test_tsc_keep_signed_in_verifies_by_default(server: _Server) -> None:
    tsc_server = TSC.Server(url_of(server))
    tsc_server.version = "3.21"
    with instant_waits(), pytest.raises(TransportError):
        keep_signed_in(tsc_server, pat(), site="")
    assert server.requests == 0
    insecure = TSC.Server(url_of(server))
    insecure.version = "3.21"
    insecure.add_http_options({"verify": False})
    with pytest.raises(TableauError) as got:
        keep_signed_in(insecure, pat(), site="")
    assert not isinstance(got.value, TransportError)
    assert server.requests >= 1
