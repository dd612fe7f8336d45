"""The official Python client, tableauserverclient (TSC), unmodified, pointed at the proxy: it
signs in (XML, PAT or password), pages through a site across natural and forced expiries
without an error, and signs out of its local session only."""

from __future__ import annotations

import pytest

from tabsession import Breaker

from ._support import running_proxy, tapped_emulator

TSC = pytest.importorskip("tableauserverclient")

pytestmark = pytest.mark.tsc

N = 200
LIFETIME = 600.0
MANY = Breaker(max_young_deaths=50)  # emulated time jumps: sessions die seconds apart in real time


def test_tsc_pager_through_the_proxy_across_natural_and_forced_expiries() -> None:
    with (
        tapped_emulator(seed_items=N, session_lifetime=LIFETIME, lifetime_kind="absolute") as emu,
        running_proxy(emu, breaker=MANY) as proxy,
    ):
        server = TSC.Server(proxy.url, use_server_version=True)
        server.auth.sign_in(TSC.PersonalAccessTokenAuth("ci-pat", "pat-secret-7Hq2xZ", site_id=""))
        assert server.site_id == emu.site_id("")
        ids = []
        for number, workbook in enumerate(
            TSC.Pager(server.workbooks, TSC.RequestOptions(pagesize=10))
        ):
            if number in (50, 150):
                emu.advance(LIFETIME + 1)  # natural expiries
            if number == 100:
                emu.expire_sessions()  # a forced one
            ids.append(workbook.id)
        assert len(ids) == len(set(ids)) == N
        projects = list(TSC.Pager(server.projects))
        assert projects
        server.auth.sign_out()
        stats = emu.stats()
        assert stats["signins"] == 4  # the first, then one per expiry
        assert stats["signouts"] == 0  # TSC's sign-out ended its local token only
        assert stats["internal_errors"] == 0
        assert proxy.stats()["local_signouts"] == 1


def test_tsc_password_sign_in_and_wrong_password() -> None:
    from integration._support import password

    with tapped_emulator() as emu, running_proxy(emu, credential=password()) as proxy:
        server = TSC.Server(proxy.url, use_server_version=True)
        server.auth.sign_in(TSC.TableauAuth("admin", "admin-pw-Lm93vR", site_id=""))
        me = server.users.get_by_id(server.user_id)
        assert me.name == "admin"
        other = TSC.Server(proxy.url, use_server_version=True)
        with pytest.raises(TSC.FailedSignInError) as caught:
            other.auth.sign_in(TSC.TableauAuth("admin", "wrong", site_id=""))
        assert caught.value.code == "401001"
        assert emu.stats()["signin_failures"] == 0  # refused by the proxy, never sent
