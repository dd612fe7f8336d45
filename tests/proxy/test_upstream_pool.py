"""The proxy's upstream connections over real HTTP: kept alive and reused, dropped when the
server closes them, chunked uploads, HEAD, and a clear 502 when Tableau is gone."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

import httpx

from tabsession.proxy.pool import ConnectionPool

from ._support import local_sign_in, running_proxy, tapped_emulator

V = "3.23"


def test_connections_are_reused_and_a_closed_one_is_replaced() -> None:
    async def scenario(url: str) -> list[int]:
        pool = ConnectionPool(url, tls=None, timeout=10, idle_expiry=60)
        statuses = []
        try:
            for pause in (0.0, 0.0, 1.6, 0.0):  # the server closes idle connections after 1 s
                await asyncio.sleep(pause)
                answer = await pool.send("GET", f"/api/{V}/serverinfo", [], None)
                await answer.read()
                statuses.append(answer.status_code)
            assert len(pool._idle) == 1
        finally:
            await pool.aclose()
        return statuses

    with tapped_emulator(keep_alive=1) as emu:
        assert asyncio.run(scenario(emu.url)) == [200, 200, 200, 200]
        assert emu.stats()["requests"] == 4


def test_chunked_uploads_under_and_over_the_replay_limit() -> None:
    part = bytes(range(256)) * 1024  # 256 KiB

    def parts(count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield part

    with tapped_emulator() as emu, running_proxy(emu, replay_limit=512 * 1024) as proxy:
        token = local_sign_in(proxy.url)
        url = f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/upload"
        for count in (1, 6):  # buffered (and replayable), then streamed as it comes
            emu.expire_sessions() if count == 1 else None
            answer = httpx.put(url, content=parts(count), headers={"X-Tableau-Auth": token})
            assert answer.status_code == 200
            assert answer.json() == {
                "received": count * len(part),
                "sha256": hashlib.sha256(part * count).hexdigest(),
            }
        assert proxy.stats()["replays"] == 1


def test_head_then_get_on_the_same_client_connection() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        token = local_sign_in(proxy.url)
        url = f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/projects"
        with httpx.Client(headers={"X-Tableau-Auth": token}) as http:
            head = http.head(url)  # the emulator answers HEAD with 405, with a body
            assert head.content == b""
            assert http.get(url).status_code == 200
        assert emu.stats()["status_counts"][str(head.status_code)] >= 1


def test_tableau_gone_gives_a_clear_502() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        token = local_sign_in(proxy.url)
        site = emu.site_id("")
        emu.stop()
        time.sleep(0.1)
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{site}/projects",
            headers={"X-Tableau-Auth": token, "Accept": "application/json"},
        )
        assert answer.status_code == 502
        assert answer.json()["error"]["summary"] == "Bad Gateway"
        assert proxy.stats()["upstream_errors"] == 1


def test_a_client_leaving_mid_download_ends_the_upstream_transfer() -> None:
    size = 200 * 1024 * 1024
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        token = local_sign_in(proxy.url)
        url = f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/download"
        with httpx.stream(
            "GET", url, params={"size": size}, headers={"X-Tableau-Auth": token}
        ) as r:
            first = next(r.iter_raw())
            assert first
        for _ in range(100):  # bounded: the transfer stops within moments
            before = emu.tap.downloaded
            time.sleep(0.05)
            if emu.tap.downloaded == before:
                break
        assert emu.tap.downloaded < size
        # and the proxy still serves
        assert httpx.get(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/projects",
            headers={"X-Tableau-Auth": token},
        ).is_success


def test_a_client_leaving_mid_upload_is_counted_and_the_proxy_goes_on() -> None:
    import socket

    with tapped_emulator() as emu, running_proxy(emu, replay_limit=1024) as proxy:
        token = local_sign_in(proxy.url)
        site = emu.site_id("")
        host, port = proxy.url.rsplit("/", 1)[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(
                f"PUT /api/{V}/sites/{site}/tap/upload HTTP/1.1\r\nHost: {host}\r\n"
                f"X-Tableau-Auth: {token}\r\nContent-Length: 10000000\r\n\r\n".encode()
                + b"z" * 200_000
            )
            time.sleep(0.2)
        for _ in range(100):  # bounded wait for the proxy to notice
            if proxy.stats()["requests_by_status"].get("499"):
                break
            time.sleep(0.05)
        assert proxy.stats()["requests_by_status"].get("499") == 1
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": token}
        )
        assert answer.status_code == 200
