"""Nothing secret reaches a log: not the PAT secret or password the proxy holds, not an access
key, not a local token, not an upstream token. Checked on every record the proxy, httpx and
uvicorn log at DEBUG during sign-ins, refusals, forwarding, an expiry and sign-outs."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import SECRETS

from tabsession.proxy import AccessKey

from ._support import local_sign_in, pat_body, running_proxy, tapped_emulator

V = "3.23"
KEY_SECRET = "access-key-secret-Pq81"


def test_no_secret_or_token_in_any_log(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("tabsession", "httpx", "httpcore", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
    upstream_tokens: set[str] = set()
    with (
        tapped_emulator() as emu,
        running_proxy(emu, access_keys=(AccessKey("ci", KEY_SECRET),)) as proxy,
    ):
        token = local_sign_in(proxy.url, pat_body("ci", KEY_SECRET))
        httpx.post(f"{proxy.url}/api/{V}/auth/signin", json=pat_body("ci", KEY_SECRET + "x"))
        site = emu.site_id("")
        for _ in range(2):
            httpx.get(
                f"{proxy.url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": token}
            )
            upstream_tokens |= set(emu.state.auth._sessions)
            emu.expire_sessions()
        httpx.get(f"{proxy.url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": token})
        upstream_tokens |= set(emu.state.auth._sessions)
        httpx.post(f"{proxy.url}/api/{V}/auth/signout", headers={"X-Tableau-Auth": token})
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert "projects" in text  # the log did capture the traffic
    for secret in (*SECRETS, KEY_SECRET, token, *upstream_tokens):
        assert secret not in text


def test_concurrent_first_sign_ins_cost_one_upstream_sign_in() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        with ThreadPoolExecutor(16) as pool:
            tokens = list(pool.map(lambda _: local_sign_in(proxy.url), range(32)))
        assert len(set(tokens)) == 32
        assert emu.stats()["signins"] == 1
