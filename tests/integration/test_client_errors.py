"""Errors over real HTTP: each status becomes its class with Tableau's code, summary and detail;
which ones lead to a new sign-in (only a 401 on a call), and how many sign-ins each costs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import PAT_NAME, PAT_SECRET

import tabsession
from tabsession import (
    BadRequest,
    BodyNotReplayable,
    Breaker,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    Password,
    ResponseError,
    SessionContention,
    SessionExpired,
    SignInFailed,
    SiteMismatch,
)

from ._support import Events, counter, emulator, matched, password, pat


def test_400_is_bad_request_and_never_a_sign_in() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        with pytest.raises(BadRequest) as caught:
            tab.post("projects", json={"project": {"description": "no name"}})
        error = caught.value
        assert (error.status, error.code, error.summary) == (400, "400000", "Bad Request")
        assert error.detail is not None
        assert "needs a name" in error.detail
        assert error.method == "POST"
        assert error.url is not None
        assert error.url.endswith("/projects")
        with pytest.raises(BadRequest) as bad_filter:
            tab.get("workbooks", params={"filter": "nosuchfield:eq:x"})
        assert bad_filter.value.code == "400065"
        stats = emu.stats()
        assert (stats["signins"], stats["status_counts"]["400"]) == (1, 2)
        assert tab.stats.replays == 0


def test_404_is_not_found() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        with pytest.raises(NotFound) as caught:
            tab.get("workbooks/00000000-0000-0000-0000-000000000000")
        assert (caught.value.status, caught.value.code) == (404, "404006")
        with pytest.raises(NotFound) as unknown:
            tab.get("no/such/resource")
        assert unknown.value.code == "404003"
        assert emu.stats()["signins"] == 1


def test_409_is_conflict() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        tab.post("projects", json={"project": {"name": "Twice"}})
        with pytest.raises(Conflict) as caught:
            tab.post("projects", json={"project": {"name": "Twice"}})
        assert (caught.value.status, caught.value.code) == (409, "409006")
        assert caught.value.summary == "Project name conflict"
        assert emu.stats()["signins"] == 1


def test_405_is_a_plain_response_error() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        with pytest.raises(ResponseError) as caught:
            tab.delete("workbooks")
        assert type(caught.value) is ResponseError
        assert (caught.value.status, caught.value.code) == (405, "405000")
        assert caught.value.method == "DELETE"


def test_403_on_the_sessions_own_site_is_forbidden_not_a_mismatch() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        groups = tab.get("groups")["groups"]["group"]
        all_users = next(g for g in groups if g["name"] == "All Users")
        emu.set_faults([counter("sessions/current")])
        with pytest.raises(Forbidden) as caught:
            tab.delete(f"groups/{all_users['id']}")
        assert type(caught.value) is Forbidden
        assert (caught.value.status, caught.value.code) == (403, "403004")
        assert matched(emu) == [0]  # no site diagnosis needed: the URL names the session's site
        assert emu.stats()["signins"] == 1


# -- site mismatch (R5) ----------------------------------------------------------------------------


def test_another_sites_url_is_a_site_mismatch_naming_both_sites() -> None:
    with emulator(sites=("marketing",)) as emu, Client(emu.url, pat(), site="marketing") as tab:
        default_id, marketing_id = emu.site_id(""), emu.site_id("marketing")
        tab.get("projects")
        for path in (
            f"/sites/{default_id}/projects",
            f"{emu.url}/api/3.23/sites/{default_id}/workbooks",
        ):
            with pytest.raises(SiteMismatch) as caught:
                tab.get(path)
            error = caught.value
            assert (error.status, error.code) == (403, "403999")
            assert error.requested_site_id == default_id
            assert error.session_site_id == marketing_id
            assert error.session_site_content_url == "marketing"
            text = str(error)
            assert default_id in text
            assert marketing_id in text
            assert "'marketing'" in text
        assert emu.stats()["signins"] == 1  # a 403 never costs a sign-in


def test_a_site_mismatch_answered_with_401_costs_no_sign_in() -> None:
    """A 401 on another site's URL is probed with GET sessions/current first: the session is
    alive, so it is a site problem. No sign-in (with a PAT it would end the session for everyone
    sharing it), no replay."""
    with (
        emulator(sites=("marketing",), site_mismatch_status=401) as emu,
        Client(emu.url, pat(), site="marketing") as tab,
    ):
        tab.get("projects")
        with pytest.raises(SiteMismatch) as caught:
            tab.get(f"/sites/{emu.site_id('')}/projects")
        error = caught.value
        assert (error.status, error.code) == (401, "401002")
        assert error.requested_site_id == emu.site_id("")
        assert error.session_site_id == emu.site_id("marketing")
        assert error.session_site_content_url == "marketing"
        stats = emu.stats()
        assert stats["signins"] == 1
        assert tab.stats.replays == 0
        assert tab.get("projects")  # the session was never disturbed
        assert emu.stats()["signins"] == 1


def test_a_401_on_another_sites_url_with_a_dead_session_signs_in_and_then_diagnoses() -> None:
    """When the session really is dead, the 401 path runs (one sign-in, one replay) and the
    replay's 401 is then diagnosed as a site mismatch with the fresh session."""
    with (
        emulator(sites=("marketing",), site_mismatch_status=401) as emu,
        Client(emu.url, pat(), site="marketing") as tab,
    ):
        tab.get("projects")
        emu.expire_sessions()
        with pytest.raises(SiteMismatch) as caught:
            tab.get(f"/sites/{emu.site_id('')}/projects")
        assert caught.value.session_site_content_url == "marketing"
        assert emu.stats()["signins"] == 2
        assert tab.stats.replays == 1


# -- refused sign-ins (R4) -------------------------------------------------------------------------


def test_wrong_password_is_one_sign_in_attempt_however_often_called() -> None:
    with emulator() as emu, Client(emu.url, Password("admin", "wrong-password-9")) as tab:
        errors = []
        for _ in range(3):
            with pytest.raises(SignInFailed) as caught:
                tab.get("projects")
            errors.append(caught.value)
        stats = emu.stats()
        assert (stats["signin_failures"], stats["signins"]) == (1, 0)
        first = errors[0]
        assert (first.status, first.code) == (401, "401001")
        assert first.url is not None
        assert first.url.endswith("/auth/signin")
        assert "'admin'" in first.likely_cause
        assert "password" in first.likely_cause
        assert all(e.likely_cause == first.likely_cause for e in errors)
        assert "Likely cause" in str(first)
        assert tab.stats.sign_in_failures == 1
        assert tab.session is None


def test_revoked_pat_is_one_sign_in_attempt() -> None:
    with emulator() as emu, Client(emu.url, pat()) as tab:
        tab.get("projects")
        emu.revoke_pat(PAT_NAME)  # also ends its session
        for _ in range(3):
            with pytest.raises(SignInFailed) as caught:
                tab.get("projects")
        assert PAT_NAME in caught.value.likely_cause
        assert "revoked" in caught.value.likely_cause
        stats = emu.stats()
        assert (stats["signins"], stats["signin_failures"]) == (1, 1)


def test_unknown_site_is_sign_in_failed_naming_the_site() -> None:
    with emulator() as emu, Client(emu.url, pat(), site="nosuchsite") as tab:
        with pytest.raises(SignInFailed) as caught:
            tab.sign_in()
        assert "'nosuchsite'" in caught.value.likely_cause
        assert caught.value.code == "401001"
        assert emu.stats()["signin_failures"] == 1


# -- 401 on a call (R2) ----------------------------------------------------------------------------


def test_a_killed_session_is_renewed_and_the_call_replayed_once() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        tab.get("projects")
        emu.set_faults([{"kind": "kill_session", "path": "projects$", "times": 1}])
        assert (
            tab.post("projects", json={"project": {"name": "After"}})["project"]["name"] == "After"
        )
        stats = emu.stats()
        assert stats["signins"] == 2
        assert stats["status_counts"]["401"] == 1
        assert stats["status_counts"]["201"] == 1  # created once: the 401 happened before it
        assert tab.stats.replays == 1
        session = tab.session
        assert session is not None
        assert session.generation == 2


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"kind": "status", "status": 401, "body": "json"}, "401000"),  # "no credentials"
        ({"kind": "kill_session"}, "401002"),  # "invalid credentials"
    ],
)
def test_both_401_codes_mean_the_session_is_dead(rule: dict[str, object], code: str) -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        tab.get("projects")
        emu.set_faults([{**rule, "path": "workbooks$", "times": 1}])
        assert tab.get("workbooks")["workbooks"]
        stats = emu.stats()
        assert stats["error_codes"] == {code: 1}
        assert stats["signins"] == 2
        assert tab.stats.replays == 1


def test_a_request_killed_on_every_replay_gives_up_after_three_replays() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        tab.get("workbooks")
        emu.set_faults([{"kind": "kill_session", "path": "projects$"}])  # every time
        with pytest.raises(SessionExpired) as caught:
            tab.get("projects")
        assert (caught.value.status, caught.value.code) == (401, "401002")
        assert "4 sessions in a row refused it" in str(caught.value)
        stats = emu.stats()
        assert stats["signins"] == 4  # three re-sign-ins, never a loop
        assert stats["status_counts"]["401"] == 4
        assert tab.stats.replays == 3


def test_a_replay_survives_a_second_independent_kill() -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        tab.get("workbooks")
        # the first two attempts meet a killed session, the third goes through
        emu.set_faults([{"kind": "kill_session", "path": "projects$", "times": 2}])
        assert tab.get("projects")["pagination"]["totalAvailable"] == "1"
        stats = emu.stats()
        assert stats["signins"] == 3
        assert stats["status_counts"]["401"] == 2
        assert tab.stats.replays == 2


def test_a_streamed_body_meeting_a_401_is_not_replayable() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"project": '
        yield b'{"name": "Streamed"}}'

    with emulator() as emu, Client(emu.url, password()) as tab:
        created = tab.post(
            "projects", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert created["project"]["name"] == "Streamed"  # streaming works with a live session
        emu.set_faults([counter("projects$", method="POST")])
        emu.expire_sessions()
        with pytest.raises(BodyNotReplayable) as caught:
            tab.post("projects", content=chunks(), headers={"Content-Type": "application/json"})
        assert caught.value.method == "POST"
        assert matched(emu) == [1]  # the server saw it once
        assert emu.stats()["signins"] == 1  # no sign-in for a replay that cannot happen
        assert tab.post("projects", content=b'{"project": {"name": "Bytes"}}')  # bytes: fine
        assert emu.stats()["signins"] == 2


# -- another process signing in with the same PAT (R10) --------------------------------------------


def raw_pat_sign_in(url: str) -> None:
    body = {
        "credentials": {
            "personalAccessTokenName": PAT_NAME,
            "personalAccessTokenSecret": PAT_SECRET,
            "site": {"contentUrl": ""},
        }
    }
    assert httpx.post(f"{url}/api/3.23/auth/signin", json=body).status_code == 200


def test_a_pat_session_killed_by_another_sign_in_is_reported_then_the_breaker_trips() -> None:
    events = Events()
    with emulator() as emu:
        tab = Client(
            emu.url, pat(), on_event=events, breaker=Breaker(max_young_deaths=3, window=600)
        )
        tab.get("projects")
        raw_pat_sign_in(emu.url)  # "another job" with the same PAT ends our session
        tab.get("projects")
        assert tab.stats.contention_warnings == 0  # once proves nothing
        raw_pat_sign_in(emu.url)
        with pytest.warns(tabsession.ContentionWarning):
            tab.get("projects")  # twice in a row: reported; third sign-in: still allowed
        assert tab.stats.contention_warnings == 1
        assert [f["generation"] for f in events.named("contention")] == [2]
        raw_pat_sign_in(emu.url)
        with pytest.raises(SessionContention, match=PAT_NAME):
            tab.get("projects")
        stats = emu.stats()
        assert stats["signins"] == 3 + 3  # the client's three, the other job's three
        tab.close()
