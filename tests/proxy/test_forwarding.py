"""Forwarding through the proxy over real HTTP: the upstream session is renewed once per expiry
for every client at once, requests are replayed, big bodies stream, downloads stream, and no
token crosses from one side to the other."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tabsession import Breaker

from ._support import local_sign_in, pat_body, running_proxy, tapped_emulator

V = "3.23"
MANY = Breaker(max_young_deaths=50)  # these tests end sessions seconds apart, many times
CLIENTS = 8
CALLS_PER_PHASE = 5
PHASES = 4


def _listing(url: str, token: str, site: str) -> int:
    with httpx.Client(headers={"X-Tableau-Auth": token, "Accept": "application/json"}) as http:
        failures = 0
        for _ in range(CALLS_PER_PHASE):
            answer = http.get(f"{url}/api/{V}/sites/{site}/workbooks", params={"pageSize": 5})
            failures += answer.status_code != 200
        return failures


@pytest.mark.parametrize("how", ["forced", "natural"])
def test_many_clients_across_expiries_cost_one_upstream_sign_in_per_expiry(how: str) -> None:
    with tapped_emulator(session_lifetime=600) as emu, running_proxy(emu, breaker=MANY) as proxy:
        tokens = [local_sign_in(proxy.url) for _ in range(CLIENTS)]
        site = emu.site_id("")
        failures = 0
        with ThreadPoolExecutor(CLIENTS) as pool:
            for phase in range(PHASES):
                if phase:
                    emu.expire_sessions() if how == "forced" else emu.advance(601)
                failures += sum(pool.map(lambda t: _listing(proxy.url, t, site), tokens))
        stats = emu.stats()
        assert failures == 0
        assert stats["signins"] == PHASES  # the first sign-in plus one per expiry
        assert stats["status_counts"].get("401", 0) >= PHASES - 1
        assert proxy.stats()["upstream_signins"] == PHASES
        assert proxy.stats()["replays"] >= PHASES - 1


def test_a_download_streams_through_and_survives_an_expiry() -> None:
    size = 5 * 1024 * 1024 + 17
    with tapped_emulator() as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        emu.expire_sessions()
        url = f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/download"
        received = 0
        with httpx.stream(
            "GET", url, params={"size": size}, headers={"X-Tableau-Auth": token}
        ) as r:
            assert r.status_code == 200
            assert "content-length" not in r.headers  # relayed as it came, not buffered
            for chunk in r.iter_raw():
                received += len(chunk)
        assert received == size
        assert emu.stats()["signins"] == 2


def test_a_body_under_the_replay_limit_is_replayed_after_an_expiry() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    with (
        tapped_emulator() as emu,
        running_proxy(emu, breaker=MANY, replay_limit=2 * 1024 * 1024) as proxy,
    ):
        token = local_sign_in(proxy.url)
        emu.expire_sessions()
        answer = httpx.put(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/upload",
            content=body,
            headers={"X-Tableau-Auth": token},
        )
        assert answer.status_code == 200
        assert answer.json() == {"received": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        assert proxy.stats()["replays"] == 1


def test_a_body_over_the_replay_limit_streams_and_fails_clearly_when_it_needs_a_replay() -> None:
    body = b"y" * (3 * 1024 * 1024)
    with (
        tapped_emulator() as emu,
        running_proxy(emu, breaker=MANY, replay_limit=1024 * 1024) as proxy,
    ):
        token = local_sign_in(proxy.url)
        url = f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/upload"
        headers = {"X-Tableau-Auth": token, "Accept": "application/json"}
        assert httpx.put(url, content=body, headers=headers).json()["received"] == len(body)
        emu.expire_sessions()
        refused = httpx.put(url, content=body, headers=headers)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "0"
        assert "replay limit" in refused.json()["error"]["detail"]
        again = httpx.put(url, content=body, headers=headers)  # the session was renewed
        assert again.json()["received"] == len(body)
        assert emu.stats()["signins"] == 2
        assert proxy.stats()["not_replayable"] == 1


def test_the_metadata_api_is_forwarded_with_the_upstream_token() -> None:
    with tapped_emulator() as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        emu.expire_sessions()
        answer = httpx.post(
            f"{proxy.url}/api/metadata/graphql",
            json={"query": "{ workbooks { name } }"},
            headers={"X-Tableau-Auth": token},
        )
        assert answer.status_code == 200
        assert answer.json() == {"data": {"echo": "{ workbooks { name } }"}}
        assert emu.stats()["signins"] == 2


def test_no_token_or_cookie_crosses_the_proxy() -> None:
    with tapped_emulator() as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        site = emu.site_id("")
        headers = {"X-Tableau-Auth": token, "Cookie": "workgroup_session_id=client-cookie"}
        cookie = httpx.get(f"{proxy.url}/api/{V}/sites/{site}/tap/cookie", headers=headers)
        for _ in range(3):  # Tableau's cookie is neither passed on nor kept and sent back
            httpx.get(f"{proxy.url}/api/{V}/sites/{site}/projects", headers=headers)
            emu.expire_sessions()
        seen = emu.tap.tokens_seen()
        assert seen
        assert not any(t.startswith("tsp-") for t in seen)
        assert all("cookie" not in h for _, _, h in emu.tap.seen)
        assert cookie.status_code == 200
        assert "set-cookie" not in cookie.headers


def test_a_redirect_to_tableau_itself_points_back_at_the_proxy() -> None:
    with tapped_emulator() as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/tap/redirect",
            headers={"X-Tableau-Auth": token},
        )
        assert answer.status_code == 302
        assert answer.headers["location"] == f"{proxy.url}/api/3.23/serverinfo"


def test_another_sites_luid_is_refused_with_a_clear_403() -> None:
    with tapped_emulator(sites=("other",)) as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        before = emu.stats()["requests"]
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('other')}/workbooks",
            headers={"X-Tableau-Auth": token, "Accept": "application/json"},
        )
        assert answer.status_code == 403
        assert emu.site_id("") in answer.json()["error"]["detail"]
        assert emu.stats()["requests"] == before


def test_tableau_errors_pass_through_unchanged() -> None:
    with tapped_emulator() as emu, running_proxy(emu, breaker=MANY) as proxy:
        token = local_sign_in(proxy.url)
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/workbooks/no-such-workbook",
            headers={"X-Tableau-Auth": token, "Accept": "application/json"},
        )
        assert answer.status_code == 404
        assert answer.json()["error"]["code"].startswith("404")
        assert proxy.stats()["replays"] == 0


def test_a_site_named_by_content_url_is_pinned_too() -> None:
    with (
        tapped_emulator(sites=("mkt", "other")) as emu,
        running_proxy(emu, site="mkt", breaker=MANY) as proxy,
    ):
        token = local_sign_in(proxy.url, pat_body(site="mkt"))
        headers = {"X-Tableau-Auth": token, "Accept": "application/json"}
        other = httpx.get(f"{proxy.url}/api/{V}/sites/other?key=contentUrl", headers=headers)
        own = httpx.get(f"{proxy.url}/api/{V}/sites/mkt?key=contentUrl", headers=headers)
        by_id = httpx.get(f"{proxy.url}/api/{V}/sites/{emu.site_id('mkt')}", headers=headers)
        assert other.status_code == 403
        assert by_id.status_code == 200
        assert own.status_code != 403 or "tabsession proxy" not in own.text
        assert proxy.stats()["refused_other_site"] == 1
