"""The /_emulator/ control plane over real HTTP: JSON in, JSON out, bad input is 400 JSON."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.emulator import Account, PatSpec
from tabsession.emulator.server import Emulator

V = "3.23"
HTTP = httpx.Client(timeout=30)
"""One client for the module: creating an httpx client per call costs ~20 ms (its TLS setup)."""


@pytest.fixture(autouse=True, scope="module")
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


def control(
    emu: Emulator, method: str, name: str, body: Any = None, **kwargs: Any
) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return HTTP.request(method, f"{emu.url}/_emulator/{name}", **kwargs)


def ok(emu: Emulator, method: str, name: str, body: Any = None) -> dict[str, Any]:
    response = control(emu, method, name, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = response.json()
    return result


def sign_in(emu: Emulator, body: dict[str, Any] | None = None) -> str:
    body = body or {
        "credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}
    }
    response = HTTP.post(
        f"{emu.url}/api/{V}/auth/signin", json=body, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["credentials"]["token"])


def alive(emu: Emulator, token: str) -> bool:
    status = HTTP.get(
        f"{emu.url}/api/{V}/sessions/current", headers={"X-Tableau-Auth": token}
    ).status_code
    assert status in (200, 401)
    return status == 200


def test_health_and_config(tableau_emulator: Emulator) -> None:
    assert ok(tableau_emulator, "GET", "health") == {"ok": True}
    config = ok(tableau_emulator, "GET", "config")
    assert config["mode"] == "server"
    assert config["api_version"] == "3.23"
    assert config["session_lifetime_seconds"] == 14400
    assert config["lifetime_kind"] == "idle"
    assert config["sites"][0]["contentUrl"] == ""
    assert config["users"] == ["admin"]
    assert "admin:admin" not in str(config)


def test_stats_count_everything(tableau_emulator: Emulator) -> None:
    token = sign_in(tableau_emulator)
    HTTP.post(
        f"{tableau_emulator.url}/api/{V}/auth/signin",
        json={"credentials": {"name": "admin", "password": "no", "site": {"contentUrl": ""}}},
    )
    assert alive(tableau_emulator, token)
    HTTP.get(f"{tableau_emulator.url}/api/{V}/sessions/current")
    stats = ok(tableau_emulator, "GET", "stats")
    assert stats["signins"] == 1
    assert stats["signin_failures"] == 1
    assert stats["requests"] == 4 == sum(stats["status_counts"].values())
    assert stats["status_counts"] == {"200": 2, "401": 2}
    assert stats["error_codes"] == {"401000": 1, "401001": 1}
    assert stats["active_sessions"] == 1
    assert stats["internal_errors"] == 0
    assert stats == tableau_emulator.stats()


@pytest.mark.tableau_emulator(users=(Account("alice", "pw"),))
def test_sessions_and_kill_session(tableau_emulator: Emulator) -> None:
    admin = sign_in(tableau_emulator)
    alice = sign_in(
        tableau_emulator,
        {"credentials": {"name": "alice", "password": "pw", "site": {"contentUrl": ""}}},
    )
    sessions = ok(tableau_emulator, "GET", "sessions")["sessions"]
    assert sorted(s["user_name"] for s in sessions) == ["admin", "alice"]
    assert admin not in str(sessions)
    assert alice not in str(sessions)
    target = next(s["id"] for s in sessions if s["user_name"] == "alice")
    assert ok(tableau_emulator, "POST", "kill-session", {"session_id": target}) == {"killed": True}
    assert not alive(tableau_emulator, alice)
    assert alive(tableau_emulator, admin)
    again = control(tableau_emulator, "POST", "kill-session", {"session_id": target})
    assert again.status_code == 400
    assert "error" in again.json()


def test_expire_sessions(tableau_emulator: Emulator) -> None:
    tokens = [sign_in(tableau_emulator) for _ in range(3)]
    assert ok(tableau_emulator, "POST", "expire-sessions") == {"expired": 3}
    assert not any(alive(tableau_emulator, t) for t in tokens)
    assert tableau_emulator.expire_sessions() == 0
    stats = tableau_emulator.stats()
    assert (stats["sessions_expired"], stats["active_sessions"]) == (3, 0)


@pytest.mark.tableau_emulator(session_lifetime=600)
def test_advance_clock(tableau_emulator: Emulator) -> None:
    token = sign_in(tableau_emulator)
    before = ok(tableau_emulator, "POST", "advance-clock", {"seconds": 0})["now"]
    after = ok(tableau_emulator, "POST", "advance-clock", {"seconds": 599})["now"]
    assert after - before >= 599
    assert alive(tableau_emulator, token)
    ok(tableau_emulator, "POST", "advance-clock", {"seconds": 600.5})
    assert not alive(tableau_emulator, token)
    assert tableau_emulator.stats()["sessions_expired"] == 1


@pytest.mark.tableau_emulator(seed_items=20)
def test_reset(tableau_emulator: Emulator) -> None:
    token = sign_in(tableau_emulator)
    site = tableau_emulator.site_id()
    headers = {"X-Tableau-Auth": token}
    created = HTTP.post(
        f"{tableau_emulator.url}/api/{V}/sites/{site}/projects",
        json={"project": {"name": "Temp"}},
        headers=headers,
    )
    assert created.status_code == 201
    tableau_emulator.set_faults([{"kind": "latency", "latency_ms": 1}])
    assert ok(tableau_emulator, "POST", "reset") == {"reset": True}
    stats = tableau_emulator.stats()
    assert (stats["requests"], stats["signins"], stats["active_sessions"]) == (0, 0, 0)
    assert not alive(tableau_emulator, token)
    assert ok(tableau_emulator, "GET", "faults")["rules"] == []
    token = sign_in(tableau_emulator)
    listing = HTTP.get(
        f"{tableau_emulator.url}/api/{V}/sites/{site}/projects",
        params={"filter": "name:eq:Temp"},
        headers={"X-Tableau-Auth": token, "Accept": "application/json"},
    ).json()
    assert listing["pagination"]["totalAvailable"] == "0"


def test_faults_round_trip(tableau_emulator: Emulator) -> None:
    body = {
        "latency_ms": 2,
        "rules": [{"kind": "status", "status": 429, "retry_after": 5, "every": 2}],
    }
    described = ok(tableau_emulator, "POST", "faults", body)
    assert described["latency_ms"] == 2
    assert described["rules"][0]["retry_after"] == "5"
    appended = ok(
        tableau_emulator,
        "POST",
        "faults",
        {"rules": [{"kind": "drop", "path": "never"}], "append": True},
    )
    assert [r["kind"] for r in appended["rules"]] == ["status", "drop"]
    for _ in range(4):
        HTTP.get(f"{tableau_emulator.url}/api/{V}/serverinfo")
    listed = ok(tableau_emulator, "GET", "faults")
    assert (listed["rules"][0]["matched"], listed["rules"][0]["fired"]) == (4, 2)
    cleared = ok(tableau_emulator, "DELETE", "faults")
    assert cleared == {"latency_ms": 0.0, "rules": []}


@pytest.mark.tableau_emulator(pats=(PatSpec("ci", "s3cret"),))
def test_revoke_pat(tableau_emulator: Emulator) -> None:
    body = {
        "credentials": {
            "personalAccessTokenName": "ci",
            "personalAccessTokenSecret": "s3cret",
            "site": {"contentUrl": ""},
        }
    }
    token = sign_in(tableau_emulator, body)
    assert ok(tableau_emulator, "POST", "revoke-pat", {"name": "ci"}) == {"revoked": "ci"}
    assert not alive(tableau_emulator, token)
    refused = HTTP.post(
        f"{tableau_emulator.url}/api/{V}/auth/signin",
        json=body,
        headers={"Accept": "application/json"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "401001")
    unknown = control(tableau_emulator, "POST", "revoke-pat", {"name": "nope"})
    assert unknown.status_code == 400


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("POST", "advance-clock", {"content": b"not json"}),
        ("POST", "advance-clock", {"content": b"[1, 2]"}),
        ("POST", "advance-clock", {"content": b"[" * 50000}),
        ("POST", "advance-clock", {"json": {}}),
        ("POST", "advance-clock", {"json": {"seconds": -5}}),
        ("POST", "advance-clock", {"json": {"seconds": "60"}}),
        ("POST", "advance-clock", {"json": {"seconds": True}}),
        ("POST", "advance-clock", {"json": {"seconds": 1e300}}),
        ("POST", "advance-clock", {"content": b'{"seconds": NaN}'}),
        ("POST", "advance-clock", {"content": b'{"seconds": Infinity}'}),
        ("POST", "faults", {"json": {"rules": "all"}}),
        ("POST", "faults", {"json": {"rules": [{"kind": "explode"}]}}),
        ("POST", "faults", {"json": {"rules": [{"kind": "status", "status": 200}]}}),
        ("POST", "faults", {"json": {"rules": [{"kind": "status", "method": 5}]}}),
        ("POST", "faults", {"json": {"rules": [{"kind": "status", "retry_after": "1\nx"}]}}),
        ("POST", "faults", {"json": {"rules": [{"kind": "latency", "latency_ms": 1e12}]}}),
        ("POST", "faults", {"json": {"rules": ["status"]}}),
        ("POST", "faults", {"json": {"latency_ms": -1}}),
        ("POST", "faults", {"json": {"latency_ms": 1e12}}),
        ("POST", "faults", {"json": {"append": "yes"}}),
        ("POST", "faults", {"json": {"colour": "red"}}),
        ("POST", "kill-session", {"json": {}}),
        ("POST", "kill-session", {"json": {"session_id": 5}}),
        ("POST", "revoke-pat", {"json": {"name": ""}}),
    ],
)
def test_bad_input_is_400_json(
    tableau_emulator: Emulator, method: str, name: str, kwargs: dict[str, Any]
) -> None:
    response = control(tableau_emulator, method, name, **kwargs)
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["error"], str)
    assert tableau_emulator.stats()["internal_errors"] == 0


def test_unknown_endpoint_and_wrong_verb(tableau_emulator: Emulator) -> None:
    unknown = control(tableau_emulator, "GET", "nope")
    assert unknown.status_code == 404
    assert "health" in unknown.json()["error"]
    wrong = control(tableau_emulator, "GET", "reset")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert "error" in wrong.json()


def test_control_requests_are_not_api_requests(tableau_emulator: Emulator) -> None:
    for _ in range(3):
        ok(tableau_emulator, "GET", "health")
    assert tableau_emulator.stats()["requests"] == 0


# -- the pytest plugin, as a user's test suite sees it -------------------------------------------

PLUGIN_USER_SUITE = """
import httpx
import pytest


def test_default(tableau_emulator):
    assert httpx.get(tableau_emulator.url + "/api/3.23/serverinfo").status_code == 200
    assert tableau_emulator.config.mode == "server"


@pytest.mark.tableau_emulator(mode="cloud", seed_items=3, session_lifetime=90)
def test_marker(tableau_emulator):
    assert (tableau_emulator.config.mode, tableau_emulator.config.lifetime) == ("cloud", 90)


def test_factory(tableau_emulator_factory):
    a = tableau_emulator_factory(mode="server")
    b = tableau_emulator_factory(mode="cloud", sites=("x",))
    assert a.url != b.url
    assert b.site_id("x")


@pytest.mark.tableau_emulator(no_such_field=1)
def test_bad_marker(tableau_emulator):
    pass


@pytest.mark.tableau_emulator("positional")
def test_positional_marker(tableau_emulator):
    pass
"""


def test_pytest_plugin_in_a_users_suite(tmp_path: Any) -> None:
    (tmp_path / "test_user.py").write_text(PLUGIN_USER_SUITE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert "3 passed" in summary, result.stdout
    assert "2 error" in summary, result.stdout
    assert "bad emulator configuration" in result.stdout
    assert "takes keywords only" in result.stdout


def test_plugin_import_does_not_load_the_server() -> None:
    code = (
        "import sys, tabsession.emulator.pytest_plugin; "
        "print(sorted(m for m in ('uvicorn', 'starlette') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
