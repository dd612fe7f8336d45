"""Issue 7 acceptance: `switch_site` is atomic for every other caller of the client.

8 threads call while the main thread switches sites back and forth. Every call that starts after
`switch_site()` returned must go to the new site, no call may fail, and `switch_site` always
returns the site asked for — with a password, a PAT, and a PAT through a FileStore. With a PAT,
no sign-in happens at all beyond the first one (a switch is not a sign-in, and an extra sign-in
would end the live session).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import tabsession
from tabsession.stores import FileStore
from tests.integration._support import emulator, password, pat

SWITCHES = ("sales", "marketing", "sales", "marketing", "sales", "marketing")


@pytest.mark.parametrize("case", ["password", "pat", "pat-filestore"])
def test_switch_site_under_eight_threads(case: str, tmp_path: Path) -> None:
    auth = password() if case == "password" else pat()
    store = FileStore(tmp_path / "store") if case == "pat-filestore" else None
    with emulator(sites=("marketing", "sales"), seed_items=3) as emu:
        tab = tabsession.Client(emu.url, auth, site="marketing", store=store)
        tab.get("projects")
        expected = {"site": emu.site_id("marketing")}
        wrong: list[str] = []
        failures: list[BaseException] = []
        calls = [0]
        done = threading.Event()

        def work() -> None:
            while not done.is_set():
                site = expected["site"]  # the switch that returned before this call started
                try:
                    response = tab.request("GET", "projects", params={"pageSize": 1})
                except tabsession.TableauError as exc:
                    failures.append(exc)
                    continue
                calls[0] += 1
                if f"/sites/{site}/" not in str(response.request.url) and site == expected["site"]:
                    wrong.append(str(response.request.url))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            for site in SWITCHES:
                before = calls[0]
                info = tab.switch_site(site)
                assert info.site_content_url == site
                assert info.site_id == emu.site_id(site)
                expected["site"] = info.site_id
                while calls[0] < before + 40 and not failures:  # let the threads work a while
                    threading.Event().wait(0.002)
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=30)
        tab.close()
        assert [str(f) for f in failures[:3]] == []
        assert wrong == []
        stats = emu.stats()
        assert stats["site_switches"] == len(SWITCHES)
        assert stats["signins"] == 1
