"""Different tools through one proxy (TSC, curl and plain httpx), across expiries: one
upstream sign-in per expiry for all of them."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession import Breaker

from ._support import local_sign_in, running_proxy, tapped_emulator
from ._tools import curl

TSC = pytest.importorskip("tableauserverclient")

V = "3.23"
EXPIRIES = 3


def test_every_tool_shares_one_upstream_session_per_expiry() -> None:
    with (
        tapped_emulator(seed_items=30) as emu,
        running_proxy(emu, breaker=Breaker(max_young_deaths=50)) as proxy,
    ):
        site = emu.site_id("")
        server = TSC.Server(proxy.url, use_server_version=True)
        server.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=""))
        token = local_sign_in(proxy.url)
        binary = curl()
        results: list[bool] = []
        with httpx.Client(headers={"X-Tableau-Auth": token}) as http:
            for phase in range(EXPIRIES + 1):
                if phase:
                    emu.expire_sessions()
                results.append(len(list(TSC.Pager(server.workbooks))) == 30)
                results.append(http.get(f"{proxy.url}/api/{V}/sites/{site}/users").is_success)
                fetched = subprocess.run(
                    [binary, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                     "-H", f"X-Tableau-Auth: {token}",
                     f"{proxy.url}/api/{V}/sites/{site}/projects"],
                    capture_output=True, text=True, timeout=60, check=True,
                )  # fmt: skip
                results.append(fetched.stdout == "200")
        assert all(results), results
        assert emu.stats()["signins"] == EXPIRIES + 1
