"""The synchronous client against the emulator: lazy sign-in, CRUD round trips, URL building,
server info, version negotiation, explicit sign-in and sign-out, the environment, and closing."""

from __future__ import annotations

import warnings as warnings_module
from datetime import timedelta
from typing import Any

import pytest
from conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET

import tabsession
from tabsession import (
    AsyncMemoryStore,
    Client,
    ConfigurationError,
    MemoryStore,
    NotFound,
    ResponseError,
    TransportError,
    VersionNegotiationFailed,
)
from tabsession.emulator import PatSpec
from tabsession.errors import PatExpiryWarning
from tabsession.testing import instant_waits

from ._support import Events, counter, emulator, free_port, matched, password, pat


def test_constructing_a_client_sends_nothing() -> None:
    with emulator() as emu:
        client = Client(emu.url, pat(), site="")
        assert client.session is None
        assert "not signed in" in repr(client)
        assert client.server == emu.url
        assert client.site == ""
        client.close()  # nothing to sign out of
        stats = emu.stats()
        assert (stats["requests"], stats["signins"], stats["signouts"]) == (0, 0, 0)


def test_the_first_call_signs_in_once() -> None:
    with emulator(sites=("marketing",)) as emu, Client(emu.url, pat(), site="marketing") as tab:
        projects = tab.get("projects")
        tab.get("projects")
        tab.get("workbooks")
        assert projects["pagination"]["totalAvailable"] == "1"
        stats = emu.stats()
        # serverinfo (version), sign-in, then three calls
        assert (stats["signins"], stats["requests"]) == (1, 5)
        info = tab.session
        assert info is not None
        assert info.generation == 1
        assert info.site_id == emu.site_id("marketing")
        assert info.site_content_url == "marketing"
        assert info.api_version == "3.23"
        assert info.server == emu.url
        assert info.pat_expires_in is not None
        assert tab.stats.sign_ins == 1
        assert "generation 1" in repr(tab)


def test_round_trips_on_projects() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        created = tab.post("projects", json={"project": {"name": "Finance", "description": "d"}})
        project = created["project"]
        assert (project["name"], project["description"]) == ("Finance", "d")
        fetched = tab.get(f"projects/{project['id']}")
        assert fetched["project"]["name"] == "Finance"
        updated = tab.put(f"projects/{project['id']}", json={"project": {"name": "Money"}})
        assert updated["project"]["name"] == "Money"
        names = [p["name"] for p in tab.get("projects")["projects"]["project"]]
        assert "Money" in names
        assert tab.delete(f"projects/{project['id']}") is None  # 204: no body
        with pytest.raises(NotFound) as caught:
            tab.get(f"projects/{project['id']}")
        assert caught.value.code == "404005"
        counts = emu.stats()["status_counts"]
        assert (counts["201"], counts["204"], counts["404"]) == (1, 1, 1)


def test_round_trips_on_groups_and_users() -> None:
    with emulator(seed_items=25) as emu, Client(emu.url, password()) as tab:
        group = tab.post("groups", json={"group": {"name": "Analysts"}})["group"]
        assert group["name"] == "Analysts"
        renamed = tab.put(f"groups/{group['id']}", json={"group": {"name": "Data Analysts"}})
        assert renamed["group"]["name"] == "Data Analysts"
        user = tab.post("users", json={"user": {"name": "zoe", "siteRole": "Viewer"}})["user"]
        assert (user["name"], user["siteRole"]) == ("zoe", "Viewer")
        member = tab.post(f"groups/{group['id']}/users", json={"user": {"id": user["id"]}})
        assert member["user"]["id"] == user["id"]
        in_group = tab.get(f"groups/{group['id']}/users")["users"]["user"]
        assert [u["name"] for u in in_group] == ["zoe"]
        promoted = tab.put(f"users/{user['id']}", json={"user": {"siteRole": "Explorer"}})
        assert promoted["user"]["siteRole"] == "Explorer"
        assert tab.delete(f"users/{user['id']}") is None
        assert tab.delete(f"groups/{group['id']}") is None
        with pytest.raises(NotFound):
            tab.get(f"users/{user['id']}")
        assert emu.stats()["signins"] == 1


def test_patch_reaches_the_server_as_patch() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        project = tab.get("projects")["projects"]["project"][0]
        with pytest.raises(ResponseError) as caught:
            tab.patch(f"projects/{project['id']}", json={"project": {"name": "x"}})
        # the emulator has no PATCH route for projects: it answers 405 Method Not Allowed
        assert (caught.value.status, caught.value.code) == (405, "405000")
        assert caught.value.method == "PATCH"
        assert type(caught.value) is ResponseError


def test_xml_answers_have_the_same_shape_as_json_answers() -> None:
    with emulator(seed_items=20) as emu, Client(emu.url, password()) as tab:
        for path in ("projects", "workbooks", "users", "/sites", "/sessions/current"):
            as_json = tab.get(path)
            as_xml = tab.get(path, headers={"Accept": "application/xml"})
            assert as_xml == as_json, path


def test_relative_paths_use_the_sessions_current_site() -> None:
    with emulator(sites=("marketing",)) as emu:
        default_id, marketing_id = emu.site_id(""), emu.site_id("marketing")
        emu.set_faults(
            [counter(f"^sites/{default_id}/projects"), counter(f"^sites/{marketing_id}/projects")]
        )
        with Client(emu.url, password(), site="") as tab:
            on_default = tab.get("projects")
            assert matched(emu) == [1, 0]
            info = tab.switch_site("marketing")
            assert info.site_id == marketing_id
            assert info.site_content_url == "marketing"
            assert tab.site == "marketing"
            on_marketing = tab.get("projects")
            assert matched(emu) == [1, 1]
            ids = {p["id"] for p in on_default["projects"]["project"]}
            assert ids.isdisjoint(p["id"] for p in on_marketing["projects"]["project"])
            assert tab.get("/sessions/current")["session"]["site"]["id"] == marketing_id
        assert emu.stats()["site_switches"] == 1


def test_switching_to_the_current_site_changes_nothing() -> None:
    with (
        emulator(sites=("marketing",)) as emu,
        Client(emu.url, password(), site="marketing") as tab,
    ):
        before = tab.sign_in()
        assert tab.switch_site("marketing") == before  # Tableau's 403070: already there
        stats = emu.stats()
        assert (stats["signins"], stats["site_switches"]) == (1, 0)


def test_slash_paths_are_relative_to_the_api_version() -> None:
    with (
        emulator(sites=("marketing",)) as emu,
        Client(emu.url, password(), site="marketing") as tab,
    ):
        sites = tab.get("/sites")["sites"]["site"]
        assert {s["contentUrl"] for s in sites} == {"", "marketing"}
        current = tab.get("/sessions/current")["session"]
        assert current["site"]["id"] == emu.site_id("marketing")
        assert current["user"]["name"] == "admin"
        same = tab.get(f"/sites/{emu.site_id('marketing')}/projects")
        assert same == tab.get("projects")


def test_full_urls_on_the_server_work_and_others_are_refused() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        site = tab.sign_in().site_id
        url = f"{emu.url}/api/3.23/sites/{site}/projects"
        assert tab.get(url) == tab.get("projects")
        before = emu.stats()["requests"]
        other = f"http://localhost:{emu.url.rsplit(':', 1)[1]}/api/3.23/sites/{site}/projects"
        with pytest.raises(ConfigurationError, match="only ever sent to its own server"):
            tab.get(other)
        assert emu.stats()["requests"] == before


def test_a_caller_header_cannot_replace_the_token() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        answer = tab.get("projects", headers={"X-Tableau-Auth": "forged", "x-tableau-auth": "f"})
        assert answer["projects"]["project"]
        assert "401" not in emu.stats()["status_counts"]


# -- server info and the API version ---------------------------------------------------------------


def test_server_info_needs_no_sign_in() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        info = tab.server_info()
        assert info["restApiVersion"] == "3.23"
        assert info["productVersion"]["value"] == "2024.2.0"
        stats = emu.stats()
        assert (stats["signins"], stats["requests"]) == (0, 2)  # probe at 2.4, then at 3.23
        assert tab.session is None


def test_the_version_is_negotiated_once() -> None:
    with emulator(mode="cloud", sites=("acme",)) as emu:
        emu.set_faults([counter("^serverinfo$")])
        with Client(emu.url, pat(), site="acme") as tab:
            tab.get("projects")
            tab.get("workbooks")
            tab.server_info()
            session = tab.session
            assert session is not None
            assert session.api_version == "3.28"
        assert matched(emu) == [2]  # the probe, then server_info() itself


@pytest.mark.parametrize("version", ["3.23", "3.10"])
def test_an_explicit_api_version_skips_negotiation(version: str) -> None:
    with emulator() as emu:
        emu.set_faults([counter("serverinfo"), counter("auth/signin")])
        with Client(emu.url, pat(), api_version=version) as tab:
            tab.get("projects")
            session = tab.session
            assert session is not None
            assert session.api_version == version
            assert matched(emu) == [0, 1]
            assert tab.server_info()["restApiVersion"] == "3.23"
            assert matched(emu) == [1, 1]  # server_info() asks at the configured version only


def test_a_server_that_cannot_be_reached_is_a_transport_error_with_its_cause() -> None:
    port = free_port()
    with instant_waits(), Client(f"http://127.0.0.1:{port}", pat()) as tab:
        with pytest.raises(TransportError) as caught:
            tab.get("projects")
        message = str(caught.value)
        assert "ConnectError" in message
        assert "Connection refused" in message
        assert "api_version" not in message  # no advice about versions for a dead socket
        assert not isinstance(caught.value, VersionNegotiationFailed)
        assert caught.value.url == f"http://127.0.0.1:{port}/api/2.4/serverinfo"
        assert tab.session is None


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ({"kind": "status", "path": "serverinfo", "status": 404, "body": "json"}, "HTTP 404"),
        ({"kind": "status", "path": "serverinfo", "status": 404, "body": "html"}, "HTTP 404"),
        ({"kind": "status", "path": "serverinfo", "status": 503}, "503 Service Unavailable"),
        ({"kind": "status", "path": "serverinfo", "status": 500, "body": "empty"}, "HTTP 500"),
    ],
)
def test_negotiation_failure_says_what_the_server_answered(rule: dict[str, Any], said: str) -> None:
    with emulator() as emu:
        emu.set_faults([rule])
        with instant_waits(), Client(emu.url, pat()) as tab:
            with pytest.raises(VersionNegotiationFailed, match="api_version") as caught:
                tab.get("projects")
            assert said in str(caught.value)
            with pytest.raises(VersionNegotiationFailed):
                tab.server_info()
        assert emu.stats()["signins"] == 0


# -- sign_in, sign_out, session, stats -------------------------------------------------------------


def test_sign_in_and_sign_out() -> None:
    with emulator(sites=("marketing",)) as emu:
        tab = Client(emu.url, pat(), site="marketing")
        info = tab.sign_in()
        assert info.generation == 1
        assert info.site_id == emu.site_id("marketing")
        assert info.user_id
        assert tab.sign_in() == info  # already signed in: nothing sent
        assert emu.stats()["signins"] == 1

        forced = tab.sign_in(force=True)
        assert forced.generation == 2
        stats = emu.stats()
        assert (stats["signins"], stats["sessions_superseded"]) == (2, 1)  # the PAT rule
        assert tab.stats.sign_ins == 2

        assert tab.sign_out() is True
        assert tab.session is None
        stats = emu.stats()
        assert (stats["signouts"], stats["active_sessions"]) == (1, 0)
        assert tab.sign_out() is False  # nothing to end
        assert emu.stats()["signouts"] == 1
        tab.close()
        assert emu.stats()["signouts"] == 1


def test_after_sign_out_the_next_call_signs_in_without_sending_the_ended_token() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        tab.get("projects")
        tab.sign_out()
        tab.get("projects")
        stats = emu.stats()
        assert stats["signins"] == 2
        assert "401" not in stats["status_counts"]  # the ended token was not tried
        session = tab.session
        assert session is not None
        assert session.generation == 2
        assert (tab.stats.replays, tab.stats.refreshes) == (0, 0)  # a new session, not a refresh


def test_a_pat_near_its_expiry_is_warned_about_once() -> None:
    events = Events()
    spec = PatSpec(PAT_NAME, PAT_SECRET, expires_in_days=3)
    with emulator(pats=(spec,)) as emu, Client(emu.url, pat(), on_event=events) as tab:
        with pytest.warns(PatExpiryWarning, match="personal access token expires") as shown:
            session = tab.sign_in()
        assert session.pat_expires_in is not None
        assert timedelta(days=2, hours=23) < session.pat_expires_in <= timedelta(days=3)
        with warnings_module.catch_warnings():
            warnings_module.simplefilter("error", PatExpiryWarning)
            tab.sign_in(force=True)  # once per cause: no second warning
        assert len(shown) == 1
        warnings = events.named("pat_expiring")
        assert len(warnings) == 1
        assert warnings[0]["seconds"] == session.pat_expires_in.total_seconds()


# -- the environment -------------------------------------------------------------------------------


ENV = (
    "TABLEAU_SERVER",
    "TABLEAU_SITE",
    "TABLEAU_PAT_NAME",
    "TABLEAU_PAT_SECRET",
    "TABLEAU_USERNAME",
    "TABLEAU_PASSWORD",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_with_a_pat(clean_env: pytest.MonkeyPatch) -> None:
    with emulator(sites=("marketing",)) as emu:
        clean_env.setenv("TABLEAU_SERVER", emu.url + "/")
        clean_env.setenv("TABLEAU_SITE", "marketing")
        clean_env.setenv("TABLEAU_PAT_NAME", PAT_NAME)
        clean_env.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
        clean_env.setenv("TABLEAU_USERNAME", "admin")  # a PAT wins over a password
        clean_env.setenv("TABLEAU_PASSWORD", ADMIN_PASSWORD)
        with Client.from_env(page_concurrency=2) as tab:
            assert tab.get("projects")
            session = tab.session
            assert session is not None
            assert session.site_content_url == "marketing"
        assert emu.stats()["signins_by_kind"] == {"pat": 1}


def test_from_env_with_a_password_and_overrides(clean_env: pytest.MonkeyPatch) -> None:
    with emulator(sites=("marketing",)) as emu:
        clean_env.setenv("TABLEAU_SERVER", "http://127.0.0.1:1")  # overridden below
        clean_env.setenv("TABLEAU_SITE", "marketing")
        clean_env.setenv("TABLEAU_USERNAME", "admin")
        clean_env.setenv("TABLEAU_PASSWORD", ADMIN_PASSWORD)
        with Client.from_env(server=emu.url, site="") as tab:
            session = tab.sign_in()
            assert session.site_id == emu.site_id("")
        assert emu.stats()["signins_by_kind"] == {"password": 1}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TABLEAU_SERVER is not set"),
        ({"TABLEAU_SERVER": "https://t.example"}, "no credentials"),
        ({"TABLEAU_SERVER": "https://t.example", "TABLEAU_PAT_NAME": "n"}, "TABLEAU_PAT_SECRET"),
        ({"TABLEAU_SERVER": "https://t.example", "TABLEAU_PAT_SECRET": "s"}, "TABLEAU_PAT_NAME"),
        ({"TABLEAU_SERVER": "https://t.example", "TABLEAU_USERNAME": "u"}, "TABLEAU_PASSWORD"),
        ({"TABLEAU_SERVER": "https://t.example", "TABLEAU_PASSWORD": "p"}, "TABLEAU_USERNAME"),
        ({"TABLEAU_SERVER": "   ", "TABLEAU_PAT_NAME": "n", "TABLEAU_PAT_SECRET": "s"}, "SERVER"),
    ],
)
def test_from_env_missing_variables(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        Client.from_env()
    with pytest.raises(ConfigurationError, match=message):
        tabsession.AsyncClient.from_env()


# -- closing ---------------------------------------------------------------------------------------


def test_context_manager_signs_out_a_private_session() -> None:
    with emulator() as emu:
        with Client(emu.url, pat()) as tab:
            tab.get("projects")
        stats = emu.stats()
        assert (stats["signouts"], stats["active_sessions"]) == (1, 0)
        with pytest.raises(ConfigurationError, match="closed"):
            tab.get("projects")
        tab.close()  # closing twice is harmless
        assert emu.stats()["signouts"] == 1


def test_context_manager_keeps_a_shared_session() -> None:
    store = MemoryStore()
    with emulator() as emu:
        with Client(emu.url, pat(), store=store) as first:
            first.get("projects")
        assert emu.stats()["signouts"] == 0
        with Client(emu.url, pat(), store=store) as second:
            second.get("projects")  # reuses the shared session
        stats = emu.stats()
        assert (stats["signins"], stats["signouts"], stats["active_sessions"]) == (1, 0, 1)
        with Client(emu.url, pat(), store=store, sign_out_on_close=True) as third:
            third.get("projects")
        stats = emu.stats()
        assert (stats["signins"], stats["signouts"], stats["active_sessions"]) == (1, 1, 0)


def test_a_private_client_that_never_signed_in_sends_no_sign_out() -> None:
    with emulator() as emu:
        with Client(emu.url, pat()):
            pass
        assert emu.stats()["requests"] == 0


# -- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_concurrency": 0},
        {"page_concurrency": 1.5},
        {"lock_ttl": 0},
        {"wait_timeout": -1},
        {"failure_cooldown": -1},
        {"api_version": "v3"},
        {"site": None},
        {"store": AsyncMemoryStore()},
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Client("https://tableau.example.com", pat(), **kwargs)


def test_bad_server_or_credential_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Client("", pat())
    with pytest.raises(ConfigurationError, match="credential"):
        Client("https://tableau.example.com", ("name", "secret"))  # type: ignore[arg-type]
