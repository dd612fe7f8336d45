"""Connected-app (direct trust) sign-in against the emulator: a fresh JWT for every sign-in, so
renewing a session never replays a token; refused JWTs are `SignInFailed`."""

from __future__ import annotations

import pytest
from conftest import APP_SECRET

from tabsession import JWT, Client, ConnectedAppJWT, SessionPolicy, SignInFailed
from tabsession.clock import ManualClock
from tabsession.emulator import ConnectedApp

from ._support import Events, emulator

APP = ConnectedApp("ca-client-7c1e", "ca-secret-id-91", APP_SECRET)


def credential(**kwargs: object) -> ConnectedAppJWT:
    options: dict[str, object] = {
        "client_id": APP.client_id,
        "secret_id": APP.secret_id,
        "secret_value": APP_SECRET,
        "username": "admin",
    }
    options.update(kwargs)
    return ConnectedAppJWT(**options)  # type: ignore[arg-type]


def test_connected_app_signs_in() -> None:
    with emulator(connected_apps=(APP,), sites=("marketing",)) as emu:
        with Client(emu.url, credential(), site="marketing") as tab:
            assert tab.get("projects")["projects"]
            session = tab.session
            assert session is not None
            assert session.site_id == emu.site_id("marketing")
            assert session.pat_expires_in is None  # only PAT sign-ins say that
        assert emu.stats()["signins_by_kind"] == {"jwt": 1}


def test_re_sign_in_after_expiry_uses_a_new_jwt() -> None:
    with emulator(connected_apps=(APP,)) as emu, Client(emu.url, credential()) as tab:
        tab.get("projects")
        for _ in range(3):
            emu.expire_sessions()
            assert tab.get("projects")
        stats = emu.stats()
        assert (stats["signins"], stats["signin_failures"], stats["jwt_replays_refused"]) == (
            4,
            0,
            0,
        )
        assert len(emu.state.auth._used_jti) == 4  # four distinct jti claims
        assert tab.stats.replays == 3


def test_proactive_refresh_on_a_shared_clock_mints_a_new_jwt() -> None:
    clock = ManualClock()
    events = Events()
    with emulator(
        connected_apps=(APP,), clock=clock, session_lifetime=600, lifetime_kind="absolute"
    ) as emu:
        app = credential(clock=clock.time)  # the JWT's iat/exp follow the shared clock
        policy = SessionPolicy.cloud(absolute=600)  # advisory: the last 75 s
        with Client(emu.url, app, policy=policy, clock=clock, on_event=events) as tab:
            tab.get("projects")
            clock.advance(540)  # 60 s left: one caller refreshes ahead of expiry
            tab.get("projects")
            assert tab.stats.refreshes == 1
            assert [f["proactive"] for f in events.named("signin")] == [False, True]
            clock.advance(540)
            tab.get("projects")
        stats = emu.stats()
        assert stats["signins"] == 3
        assert stats["jwt_replays_refused"] == 0
        assert "401" not in stats["status_counts"]  # never met an expired session


def test_a_wrong_secret_is_sign_in_failed() -> None:
    with emulator(connected_apps=(APP,)) as emu:
        with Client(emu.url, credential(secret_value="not-the-secret")) as tab:
            for _ in range(2):
                with pytest.raises(SignInFailed) as caught:
                    tab.get("projects")
            assert caught.value.code == "401001"
            assert "connected app" in caught.value.likely_cause
            assert APP_SECRET not in str(caught.value)
        stats = emu.stats()
        assert (stats["signins"], stats["signin_failures"]) == (0, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"username": "nobody"}, {"secret_id": "unknown-kid"}, {"client_id": "unknown-app"}],
)
def test_other_refused_jwts_are_sign_in_failed(kwargs: dict[str, str]) -> None:
    with emulator(connected_apps=(APP,)) as emu, Client(emu.url, credential(**kwargs)) as tab:
        with pytest.raises(SignInFailed):
            tab.sign_in()
        assert emu.stats()["signin_failures"] == 1


def test_a_provider_that_returns_the_same_jwt_twice_is_refused_the_second_time() -> None:
    token = credential().mint()
    calls = 0

    def provider() -> str:
        nonlocal calls
        calls += 1
        return token

    with emulator(connected_apps=(APP,)) as emu, Client(emu.url, JWT(provider)) as tab:
        assert tab.get("projects")
        emu.expire_sessions()
        with pytest.raises(SignInFailed) as caught:
            tab.get("projects")
        assert "reused" in caught.value.likely_cause
        assert token not in str(caught.value)
        stats = emu.stats()
        assert (stats["signins"], stats["signin_failures"], stats["jwt_replays_refused"]) == (
            1,
            1,
            1,
        )
        assert calls == 2


def test_a_provider_minting_fresh_jwts_renews_sessions() -> None:
    app = credential()
    with (
        emulator(connected_apps=(APP,)) as emu,
        Client(emu.url, JWT(app.mint, is_uat=False)) as tab,
    ):
        tab.get("projects")
        emu.expire_sessions()
        tab.get("projects")
        stats = emu.stats()
        assert (stats["signins"], stats["jwt_replays_refused"]) == (2, 0)
