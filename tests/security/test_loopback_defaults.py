"""Servers bind loopback unless told otherwise: the embedded emulator, `tabsession emulator`,
and (when it lands on main) the proxy."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys

import pytest

from tabsession.emulator import server as emulator_server
from tabsession.emulator.server import Emulator


def test_the_embedded_emulator_binds_loopback() -> None:
    with Emulator() as emu:
        assert re.match(r"http://127\.0\.0\.1:\d+$", emu.url)
        assert emu._running is not None
        assert emu._running.address[0] == "127.0.0.1"
    assert inspect.signature(emulator_server.serve).parameters["host"].default == "127.0.0.1"


def test_the_emulator_command_binds_loopback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tabsession.cli", "emulator", "--port", "0", "--exit-after", "1"],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    urls = re.findall(r"https?://[\w.\-\[\]:]+", done.stdout + done.stderr)
    assert urls, done.stdout
    assert all(re.match(r"http://127\.0\.0\.1:\d+", url) for url in urls), urls


# -- the proxy ---------------------------------------------------------------------------------
# Not on main yet (issue 13). When `tabsession.proxy` lands, this test checks its default bind
# address the same way; until then it is skipped, never silently passing.


@pytest.mark.skipif(
    importlib.util.find_spec("tabsession.proxy") is None, reason="the proxy is not on main yet"
)
def test_the_proxy_binds_loopback() -> None:  # pragma: no cover - until the proxy lands
    proxy = importlib.import_module("tabsession.proxy")
    defaults = [
        p.default
        for obj in vars(proxy).values()
        if callable(obj)
        for p in _parameters(obj)
        if p.name in ("host", "bind", "listen")
    ]
    assert defaults, "the proxy names no host/bind/listen parameter: update this test"
    assert all(default in ("127.0.0.1", "localhost", "::1") for default in defaults), defaults


def _parameters(obj: object) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(obj).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
