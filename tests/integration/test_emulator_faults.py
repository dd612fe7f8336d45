"""Injected faults over real HTTP: what a client actually sees, counted by the emulator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.emulator import FaultRule
from tabsession.emulator.server import Emulator

V = "3.23"
NS = {"t": "http://tableau.com/api"}
SIGNIN = {"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}}
HTTP = httpx.Client(timeout=30)
"""One client for the module: creating an httpx client per call costs ~20 ms (its TLS setup)."""


@pytest.fixture(autouse=True, scope="module")
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


def url(emu: Emulator, path: str) -> str:
    return f"{emu.url}/api/{V}/{path}"


def token(emu: Emulator) -> str:
    response = HTTP.post(
        url(emu, "auth/signin"), json=SIGNIN, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["credentials"]["token"])


def current(emu: Emulator, tok: str, **headers: str) -> httpx.Response:
    return HTTP.get(url(emu, "sessions/current"), headers={"X-Tableau-Auth": tok, **headers})


def serverinfo(emu: Emulator, **headers: str) -> httpx.Response:
    return HTTP.get(url(emu, "serverinfo"), headers=headers)


def test_latency_rule_fires_and_is_counted(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults([{"kind": "latency", "latency_ms": 5, "path": "serverinfo"}])
    for _ in range(3):
        assert serverinfo(tableau_emulator).status_code == 200
    rule = tableau_emulator.state.faults.describe()["rules"][0]
    assert (rule["matched"], rule["fired"]) == (3, 3)
    assert tableau_emulator.stats()["faults_fired"] == 3


@pytest.mark.tableau_emulator(latency_ms=1)
def test_global_latency_is_not_a_fault(tableau_emulator: Emulator) -> None:
    assert serverinfo(tableau_emulator).status_code == 200
    assert tableau_emulator.stats()["faults_fired"] == 0
    assert tableau_emulator.state.faults.describe()["latency_ms"] == 1


@pytest.mark.parametrize(
    ("body", "accept", "content_type"),
    [
        ("xml", "*/*", "application/xml"),
        ("json", "*/*", "application/json"),
        ("html", "*/*", "text/html"),
        ("auto", "application/json", "application/json"),
        ("auto", "*/*", "application/xml"),
    ],
)
def test_429_bodies(tableau_emulator: Emulator, body: str, accept: str, content_type: str) -> None:
    tableau_emulator.set_faults(
        [{"kind": "status", "status": 429, "retry_after": "7", "body": body}]
    )
    response = serverinfo(tableau_emulator, Accept=accept)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"].startswith(content_type)
    if content_type == "application/json":
        assert response.json()["error"]["code"] == "429000"
    elif content_type == "application/xml":
        error = ET.fromstring(response.content).find("t:error", NS)
        assert error is not None
        assert error.get("code") == "429000"
    else:
        assert b"<html>" in response.content


def test_429_without_retry_after_and_http_date(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults([{"kind": "status", "status": 429, "times": 1}])
    plain = serverinfo(tableau_emulator)
    assert plain.status_code == 429
    assert "retry-after" not in plain.headers
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    tableau_emulator.set_faults([{"kind": "status", "status": 429, "retry_after": date}])
    assert serverinfo(tableau_emulator).headers["retry-after"] == date


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(tableau_emulator: Emulator, status: int) -> None:
    tableau_emulator.set_faults([{"kind": "status", "status": status, "times": 1}])
    response = serverinfo(tableau_emulator)
    assert response.status_code == status
    if status == 500:
        assert ET.fromstring(response.content).find("t:error", NS).get("code") == "500000"  # type: ignore[union-attr]
    else:
        assert response.headers["content-type"].startswith("text/html")  # a proxy's page
    assert serverinfo(tableau_emulator).status_code == 200
    stats = tableau_emulator.stats()
    assert stats["status_counts"] == {str(status): 1, "200": 1}
    assert stats["faults_fired"] == 1


def test_empty_body(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults(
        [{"kind": "status", "status": 503, "body": "empty", "retry_after": "1"}]
    )
    response = serverinfo(tableau_emulator)
    assert (response.status_code, response.content) == (503, b"")


def test_dropped_connection_is_a_transport_error(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults([{"kind": "drop", "path": "serverinfo", "times": 2}])
    for _ in range(2):
        with pytest.raises(httpx.TransportError) as caught:
            serverinfo(tableau_emulator)
        assert isinstance(caught.value, (httpx.RemoteProtocolError, httpx.ReadError))
    assert serverinfo(tableau_emulator).status_code == 200
    stats = tableau_emulator.stats()
    assert stats["connections_dropped"] == 2
    assert stats["requests"] == sum(stats["status_counts"].values()) == 1


def test_dropped_connection_on_a_pooled_client(tableau_emulator: Emulator) -> None:
    with httpx.Client(base_url=tableau_emulator.url) as client:
        assert client.get(f"/api/{V}/serverinfo").status_code == 200
        tableau_emulator.set_faults([{"kind": "drop", "times": 1}])
        with pytest.raises(httpx.TransportError):
            client.get(f"/api/{V}/serverinfo")
        assert client.get(f"/api/{V}/serverinfo").status_code == 200


def test_kill_session(tableau_emulator: Emulator) -> None:
    tok = token(tableau_emulator)
    tableau_emulator.set_faults(
        [FaultRule("kill_session", path="sessions/current", after=1, times=1)]
    )
    assert current(tableau_emulator, tok).status_code == 200
    killed = current(tableau_emulator, tok)
    assert killed.status_code == 401
    assert ET.fromstring(killed.content).find("t:error", NS).get("code") == "401002"  # type: ignore[union-attr]
    fresh = token(tableau_emulator)
    assert current(tableau_emulator, fresh).status_code == 200
    assert tableau_emulator.stats()["sessions_killed"] == 1


def test_stale_session_is_refused_once(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults([{"kind": "stale_session", "times": 1}])
    stale = token(tableau_emulator)
    assert current(tableau_emulator, stale).status_code == 401
    assert current(tableau_emulator, stale).status_code == 200
    fine = token(tableau_emulator)
    assert current(tableau_emulator, fine).status_code == 200
    assert tableau_emulator.stats()["status_counts"] == {"200": 4, "401": 1}


def test_every_after_times_by_method_and_path(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults(
        [
            {
                "kind": "status",
                "status": 503,
                "method": "GET",
                "path": "^serverinfo$",
                "every": 2,
                "after": 1,
                "times": 2,
            }
        ]
    )
    statuses = [serverinfo(tableau_emulator).status_code for _ in range(8)]
    assert statuses == [200, 200, 503, 200, 503, 200, 200, 200]
    tok = token(tableau_emulator)  # a POST and another path: never matched
    assert current(tableau_emulator, tok).status_code == 200
    rule = tableau_emulator.state.faults.describe()["rules"][0]
    assert (rule["matched"], rule["fired"]) == (8, 2)


def _pattern(emu: Emulator) -> list[int]:
    emu.set_faults([{"kind": "status", "status": 500, "probability": 0.25}])
    return [serverinfo(emu).status_code for _ in range(40)]


def test_probability_is_seeded(tableau_emulator_factory: Any) -> None:
    first = _pattern(tableau_emulator_factory(random_seed=11))
    assert first == _pattern(tableau_emulator_factory(random_seed=11))
    assert 0 < first.count(500) < 40
    assert first != _pattern(tableau_emulator_factory(random_seed=12))


def test_faults_set_through_the_control_plane(tableau_emulator: Emulator) -> None:
    control = f"{tableau_emulator.url}/_emulator/faults"
    rules = {"rules": [{"kind": "status", "status": 502, "path": "serverinfo"}]}
    assert HTTP.post(control, json=rules).status_code == 200
    assert serverinfo(tableau_emulator).status_code == 502
    assert HTTP.get(f"{tableau_emulator.url}/_emulator/health").status_code == 200  # never faulted
    assert HTTP.delete(control).json()["rules"] == []
    assert serverinfo(tableau_emulator).status_code == 200


def test_sign_in_can_be_faulted(tableau_emulator: Emulator) -> None:
    tableau_emulator.set_faults(
        [{"kind": "status", "status": 503, "path": "auth/signin", "times": 1}]
    )
    response = HTTP.post(url(tableau_emulator, "auth/signin"), json=SIGNIN)
    assert response.status_code == 503
    assert token(tableau_emulator)
    stats = tableau_emulator.stats()
    assert (stats["signins"], stats["signin_failures"]) == (1, 0)
