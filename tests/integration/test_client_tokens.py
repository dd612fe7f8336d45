"""`token()` and `renew()`: a live token for tools that send their own requests, and one
sign-in per expiry however many of them report the same dead token."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx

from tabsession import AsyncClient, Client

from ._support import emulator, pat


def _status(url: str, token: str) -> int:
    return httpx.get(
        f"{url}/api/3.23/sessions/current", headers={"X-Tableau-Auth": token}
    ).status_code


def test_token_signs_in_once_and_renew_replaces_a_dead_token_once() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        first = tab.token()
        assert tab.token() == first
        assert _status(emu.url, first) == 200
        emu.expire_sessions()
        assert _status(emu.url, first) == 401
        with ThreadPoolExecutor(8) as pool:
            renewed = set(pool.map(lambda _: tab.renew(first), range(16)))
        assert len(renewed) == 1
        assert first not in renewed
        (token,) = renewed
        assert _status(emu.url, token) == 200
        assert tab.renew(first) == token  # an older token: the current one, no sign-in
        assert emu.stats()["signins"] == 2


def test_async_token_and_renew() -> None:
    async def main(url: str) -> tuple[str, list[str]]:
        async with AsyncClient(url, pat()) as tab:
            first = await tab.token()
            emu.expire_sessions()
            tokens = await asyncio.gather(*(tab.renew(first) for _ in range(20)))
            return first, tokens

    with emulator() as emu:
        first, tokens = asyncio.run(main(emu.url))
        assert len(set(tokens)) == 1
        assert tokens[0] != first
        assert emu.stats()["signins"] == 2
