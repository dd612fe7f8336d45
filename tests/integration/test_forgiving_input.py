"""Forgiving input against the emulator: server URLs as people paste them, versions the server
does not have, and errors that say what happened (attempts, real causes)."""

from __future__ import annotations

import pytest

from tabsession import Client, ConfigurationError, NotFound, ServerError
from tabsession.testing import instant_waits

from ._support import counter, emulator, matched, pat


def test_a_browser_address_names_the_server_and_the_site() -> None:
    with emulator(sites=("marketing",)) as emu:
        with Client(f"{emu.url}/#/site/marketing/home", pat()) as tab:
            assert tab.server == emu.url
            assert tab.site == "marketing"
            session = tab.sign_in()
            assert session.site_content_url == "marketing"
            assert tab.get("projects")["projects"]
        with Client(f"{emu.url}/t/marketing/views/Sales/Overview", pat()) as tab:
            assert tab.sign_in().site_content_url == "marketing"


def test_a_browser_address_naming_another_site_than_site_is_refused() -> None:
    with emulator(sites=("marketing", "sales")) as emu:
        with pytest.raises(ConfigurationError, match="names site 'marketing'"):
            Client(f"{emu.url}/#/site/marketing/home", pat(), site="sales")
        assert emu.stats()["signins"] == 0


def test_an_api_url_gives_its_version_and_skips_negotiation() -> None:
    with emulator() as emu:
        emu.set_faults([counter("serverinfo")])
        with Client(f"{emu.url}/api/3.19/", pat()) as tab:
            assert tab.server == emu.url
            assert tab.sign_in().api_version == "3.19"
            assert tab.get("projects")["projects"]
        assert matched(emu) == [0]  # the URL said which version: no serverinfo call
        with Client(f"{emu.url}/api", pat(), api_version="3.20") as tab:
            assert tab.sign_in().api_version == "3.20"  # an explicit version wins


def test_an_unsupported_api_version_names_what_the_server_supports() -> None:
    with emulator() as emu, Client(emu.url, pat(), api_version="9.99") as tab:
        with pytest.raises(NotFound) as caught:
            tab.get("projects")
        message = str(caught.value)
        assert "api_version 9.99 is not supported" in message
        assert "up to 3.23" in message
        assert caught.value.code == "404003"
        assert emu.stats()["signins"] == 0
        with pytest.raises(NotFound, match=r"up to 3\.23"):
            tab.server_info()


def test_a_404_that_is_not_about_the_version_stays_a_plain_not_found() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        with pytest.raises(NotFound) as caught:
            tab.get("workbooks/00000000-0000-0000-0000-000000000000")
        assert "not supported" not in str(caught.value)


def test_a_server_error_says_how_many_attempts_over_how_long() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        tab.sign_in()
        emu.set_faults([{"kind": "status", "path": "projects$", "status": 500}])
        with instant_waits(), pytest.raises(ServerError) as caught:
            tab.get("projects")
        assert caught.value.attempts == 5  # the retry policy's default
        assert caught.value.elapsed is not None
        assert "after 5 attempts over" in str(caught.value)
        with pytest.raises(ServerError) as once:
            tab.post("projects", json={"project": {"name": "x"}})  # a POST is not retried
        assert once.value.attempts == 1
        assert "after 1 attempt over" in str(once.value)
