"""Emulator configuration, seeding and the session rules of its state, without HTTP."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from tabsession.auth.jwt import encode_hs256
from tabsession.clock import ManualClock
from tabsession.emulator.config import (
    Account,
    ConnectedApp,
    EmulatorConfig,
    PatSpec,
    parse_duration,
    parse_version,
)
from tabsession.emulator.state.auth import SignInRequest, format_d_hh_mm
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.query import Query
from tabsession.emulator.state.seed import iso, seed_site
from tabsession.emulator.state.world import EmulatorState

# -- parsing


@pytest.mark.parametrize(
    ("text", "unit", "seconds"),
    [
        ("240m", "m", 14400.0),
        ("90s", "m", 90.0),
        ("2h", "s", 7200.0),
        ("1.5d", "s", 129600.0),
        ("500ms", "s", 0.5),
        ("30min", "s", 1800.0),
        ("240", "m", 14400.0),
        ("20", "s", 20.0),
        (" 5 m ", "s", 300.0),
    ],
)
def test_parse_duration(text: str, unit: str, seconds: float) -> None:
    assert parse_duration(text, default_unit=unit) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "-5m", "m", "1e3s", "5 m s"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_version() -> None:
    assert parse_version("3.23") == (3, 23)
    assert parse_version("2.4") < parse_version("3.10") < parse_version("3.23")
    for bad in ("3", "3.", ".1", "a.b", "3.2.1", ""):
        with pytest.raises(ValueError, match="API version"):
            parse_version(bad)


def test_account_pat_and_app_parsing() -> None:
    assert Account.parse("alice:pw:with:colons") == Account("alice", "pw:with:colons")
    assert (
        Account.parse("root:x", site_role="ServerAdministrator").site_role == "ServerAdministrator"
    )
    assert PatSpec.parse("ci:s3cret") == PatSpec("ci", "s3cret")
    assert PatSpec.parse("ci:s3cret@alice").owner == "alice"
    assert ConnectedApp.parse("cid:kid:v:al:ue") == ConnectedApp("cid", "kid", "v:al:ue")
    for parse, bad in [
        (Account.parse, "nocolon"),
        (Account.parse, ":pw"),
        (Account.parse, "name:"),
        (PatSpec.parse, "nocolon"),
        (PatSpec.parse, "name:"),
        (ConnectedApp.parse, "a:b"),
        (ConnectedApp.parse, "a::c"),
    ]:
        with pytest.raises(ValueError, match="expected"):
            parse(bad)


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(
        (Account("a", "pw-XYZ"), PatSpec("p", "sec-XYZ"), ConnectedApp("c", "k", "val-XYZ"))
    )
    assert "XYZ" not in text


# -- configuration


def test_mode_defaults() -> None:
    server, cloud = EmulatorConfig(), EmulatorConfig(mode="cloud")
    assert (server.lifetime, server.kind, server.api_version) == (14400.0, "idle", "3.23")
    assert (cloud.lifetime, cloud.kind, cloud.api_version) == (7200.0, "absolute", "3.28")
    assert server.site_urls == ("",)
    assert cloud.site_urls == ("emulated",)
    assert EmulatorConfig(sites=("a", "b")).site_urls == ("", "a", "b")
    assert EmulatorConfig(mode="cloud", sites=("", "a")).site_urls == ("a",)
    assert server.admin == Account("admin", "admin", "ServerAdministrator")
    assert server.mismatch_code == "403999"
    assert EmulatorConfig(site_mismatch_status=401).mismatch_code == "401002"
    assert EmulatorConfig(site_mismatch_status=404).mismatch_code == "404999"
    overridden = EmulatorConfig(
        session_lifetime=90, lifetime_kind="absolute", max_api_version="3.9"
    )
    assert (overridden.lifetime, overridden.kind, overridden.api_version) == (90, "absolute", "3.9")


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "desktop"},
        {"session_lifetime": 0},
        {"lifetime_kind": "forever"},
        {"seed_items": -1},
        {"time_scale": 0},
        {"latency_ms": -1},
        {"site_mismatch_status": 99},
        {"max_api_version": "three"},
        {"sites": ("bad/url",)},
        {"users": (Account("admin", "x"),)},
        {"pats": (PatSpec("p", "s", owner="ghost"),)},
    ],
)
def test_bad_configuration_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        EmulatorConfig(**fields)  # type: ignore[arg-type]


# -- seeding


@pytest.mark.parametrize("n", [0, 1, 10, 99, 250])
def test_seed_proportions(n: int) -> None:
    accounts = [Account("admin", "admin"), Account("alice", "pw")]
    items = seed_site("s", n, accounts)
    assert len(items["workbooks"]) == n
    assert len(items["views"]) == 2 * n
    assert len(items["datasources"]) == n // 2
    assert len(items["projects"]) == 1 + n // 20
    assert len(items["users"]) == 2 + n // 5
    assert len(items["groups"]) == 1 + n // 25
    assert len(items["jobs"]) == n // 4


def test_seed_is_deterministic_and_per_site() -> None:
    accounts = [Account("admin", "admin")]

    def without_revisions(items: dict[str, Any]) -> dict[str, Any]:
        return {
            kind: {i: {k: v for k, v in item.items() if k != "_rev"} for i, item in by_id.items()}
            for kind, by_id in items.items()
        }

    first, second = seed_site("s", 40, accounts), seed_site("s", 40, accounts)
    assert without_revisions(first) == without_revisions(second)
    assert first["workbooks"].keys() == second["workbooks"].keys()
    assert set(seed_site("s", 40, accounts)["workbooks"]).isdisjoint(
        seed_site("t", 40, accounts)["workbooks"]
    )


def test_iso_is_tableau_format_even_far_in_the_future() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1e300) == "9999-12-31T23:59:59Z"


def test_format_d_hh_mm() -> None:
    assert format_d_hh_mm(365 * 86400) == "365:00:00"
    assert format_d_hh_mm(86400 + 3600 * 2 + 60 * 3 + 59) == "1:02:03"
    assert format_d_hh_mm(-5) == "0:00:00"


# -- session rules on the state


def _state(**fields: object) -> tuple[EmulatorState, ManualClock]:
    clock = ManualClock(start=1_700_000_000.0)
    config = EmulatorConfig(**fields)  # type: ignore[arg-type]
    return EmulatorState(config, clock), clock


def _password(site: str = "", name: str = "admin", password: str = "admin") -> SignInRequest:
    return SignInRequest("password", site, name=name, password=password)


def _pat(name: str = "p", secret: str = "s", site: str = "") -> SignInRequest:
    return SignInRequest("pat", site, pat_name=name, pat_secret=secret)


def _code(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code


def test_idle_sessions_slide() -> None:
    state, clock = _state(session_lifetime=60)
    token = state.auth.sign_in(_password()).token
    for _ in range(5):
        clock.advance(59)
        state.auth.authenticate(token)
    clock.advance(60)
    assert _code(state.auth.authenticate, token) == "401002"
    assert state.stats_snapshot()["sessions_expired"] == 1


def test_absolute_sessions_do_not_slide() -> None:
    state, clock = _state(session_lifetime=60, lifetime_kind="absolute")
    token = state.auth.sign_in(_password()).token
    clock.advance(59)
    state.auth.authenticate(token)
    clock.advance(1)
    assert _code(state.auth.authenticate, token) == "401002"


def test_lifetime_limit_caps_an_idle_session() -> None:
    state, clock = _state(session_lifetime=60, lifetime_limit=100)
    token = state.auth.sign_in(_password()).token
    clock.advance(50)
    state.auth.authenticate(token)
    clock.advance(49)
    state.auth.authenticate(token)
    clock.advance(1)
    assert _code(state.auth.authenticate, token) == "401002"


def test_missing_token_is_401000() -> None:
    state, _ = _state()
    assert _code(state.auth.authenticate, None) == "401000"
    assert _code(state.auth.authenticate, "") == "401000"
    assert _code(state.auth.authenticate, "made-up") == "401002"


def test_pat_single_session_and_estimated_expiry() -> None:
    state, clock = _state(
        pats=(PatSpec("p", "s"),), users=(Account("alice", "pw"),), session_lifetime=7 * 86400
    )
    first = state.auth.sign_in(_pat())
    password = state.auth.sign_in(_password(name="alice", password="pw"))
    assert state.auth.pat_time_left("p") == "365:00:00"
    clock.advance(86400 + 61)
    second = state.auth.sign_in(_pat())
    assert state.auth.pat_time_left("p") == "363:23:58"
    assert _code(state.auth.authenticate, first.token) == "401002"
    state.auth.authenticate(second.token)
    state.auth.authenticate(password.token)  # password sessions are not affected
    stats = state.stats_snapshot()
    assert (stats["sessions_superseded"], stats["signins"]) == (1, 3)
    assert stats["signins_by_kind"] == {"pat": 2, "password": 1}


def test_pat_sessions_can_coexist_when_told() -> None:
    state, _ = _state(pats=(PatSpec("p", "s"),), pat_single_session=False)
    a, b = state.auth.sign_in(_pat()), state.auth.sign_in(_pat())
    state.auth.authenticate(a.token)
    state.auth.authenticate(b.token)


def test_pat_refusals_are_all_401001() -> None:
    state, clock = _state(
        pats=(
            PatSpec("p", "s"),
            PatSpec("old", "s", expires_in_days=1),
            PatSpec("gone", "s", revoked=True),
        )
    )
    assert _code(state.auth.sign_in, _pat(secret="wrong")) == "401001"
    assert _code(state.auth.sign_in, _pat(name="unknown")) == "401001"
    assert _code(state.auth.sign_in, _pat(name="gone")) == "401001"
    assert state.auth.pat_time_left("old") == "1:00:00"
    state.auth.sign_in(_pat(name="old"))
    clock.advance(86400)
    assert _code(state.auth.sign_in, _pat(name="old")) == "401001"  # past its absolute expiry
    clock.advance(15 * 86400)
    assert _code(state.auth.sign_in, _pat()) == "401001"  # 15 idle days
    assert state.stats_snapshot()["signin_failures"] == 5


def test_revoking_a_pat_ends_its_sessions() -> None:
    state, _ = _state(pats=(PatSpec("p", "s"),))
    token = state.auth.sign_in(_pat()).token
    assert state.auth.revoke_pat("p")
    assert not state.auth.revoke_pat("nope")
    assert _code(state.auth.authenticate, token) == "401002"
    assert _code(state.auth.sign_in, _pat()) == "401001"


def test_password_and_site_refusals() -> None:
    state, _ = _state(sites=("mkt",))
    assert _code(state.auth.sign_in, _password(password="nope")) == "401001"
    assert _code(state.auth.sign_in, _password(name="ghost")) == "401001"
    assert _code(state.auth.sign_in, _password(site="nosuchsite")) == "401001"
    assert state.auth.sign_in(_password(site="MKT")).site_id == state.site_by_url("mkt").id  # type: ignore[union-attr]
    cloud, _ = _state(mode="cloud")
    assert _code(cloud.auth.sign_in, _password(site="")) == "401001"
    cloud.auth.sign_in(_password(site="emulated"))


def test_jwt_rules() -> None:
    state, clock = _state(connected_apps=(ConnectedApp("cid", "kid", "secret-value"),))
    now = clock.time()

    def jwt(**claims: object) -> SignInRequest:
        payload = {
            "iss": "cid",
            "sub": "admin",
            "aud": "tableau",
            "jti": "j1",
            "exp": now + 300,
            "scp": ["tableau:content:read"],
        }
        payload.update(claims)
        key = str(payload.pop("_key", "secret-value"))
        kid = str(payload.pop("_kid", "kid"))
        return SignInRequest("jwt", "", jwt=encode_hs256(payload, key, kid=kid))

    session = state.auth.sign_in(jwt())
    assert session.scopes == ("tableau:content:read",)
    assert _code(state.auth.sign_in, jwt()) == "401001"  # the same jti again
    for bad in (
        jwt(jti="a", _key="other"),
        jwt(jti="b", _kid="other"),
        jwt(jti="c", iss="other"),
        jwt(jti="d", aud="someone"),
        jwt(jti="e", sub="ghost"),
        jwt(jti="f", exp=now + 3600),
        jwt(jti="g", exp=now - 1),
        jwt(jti="h", exp="soon"),
        jwt(jti=""),
        jwt(jti="i", scp="read"),
        SignInRequest("jwt", "", jwt="not.a.jwt"),
        SignInRequest("jwt", "", jwt="ünïcode.ä.ö"),
    ):
        assert _code(state.auth.sign_in, bad) == "401001"
    assert state.stats_snapshot()["jwt_replays_refused"] == 1
    reuse = replace(state.config, jti_single_use=False)
    relaxed = EmulatorState(reuse, clock)
    relaxed.auth.sign_in(jwt(jti="z"))
    relaxed.auth.sign_in(jwt(jti="z"))


def test_switch_site_and_delete_session() -> None:
    state, _ = _state(sites=("mkt",))
    session = state.auth.sign_in(_password())
    assert _code(state.auth.switch_site, session.token, "") == "403070"
    moved = state.auth.switch_site(session.token, "mkt")
    assert moved.site_id != session.site_id
    assert _code(state.auth.authenticate, session.token) == "401002"
    assert _code(state.auth.switch_site, moved.token, "nope") == "401001"
    state.auth.delete_session(moved.id)
    assert _code(state.auth.authenticate, moved.token) == "401002"
    assert _code(state.auth.delete_session, moved.id) == "404029"


def test_stale_session_refuses_its_first_use_once() -> None:
    state, _ = _state()
    token = state.auth.sign_in(_password(), stale=True).token
    assert _code(state.auth.authenticate, token) == "401002"
    state.auth.authenticate(token)


def test_reset_returns_to_the_start() -> None:
    state, _ = _state(seed_items=20)
    site = state.sites()[0]
    site.content.create_group({"name": "Extra"})
    state.auth.sign_in(_password())
    state.reset()
    assert state.stats_snapshot()["active_sessions"] == 0
    assert state.stats_snapshot()["signins"] == 0
    page = state.sites()[0].content.list_page("groups", Query())
    assert [g["name"] for g in page.items] == ["All Users"]


def test_scaled_clock_runs_faster() -> None:
    fresh = EmulatorState(EmulatorConfig(time_scale=1000.0, session_lifetime=1 / 60))  # 1 s
    token = fresh.auth.sign_in(_password()).token
    time.sleep(0.01)  # 10 s of emulated time
    assert _code(fresh.auth.authenticate, token) == "401002"
