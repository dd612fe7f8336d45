"""Sign-in, sign-out, switch-site, sessions and the session rules, over real HTTP."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.auth.jwt import encode_hs256
from tabsession.clock import ManualClock
from tabsession.emulator import Account, ConnectedApp, PatSpec
from tabsession.emulator.server import Emulator

V = "3.23"
NS = {"t": "http://tableau.com/api"}
JSON = {"Accept": "application/json"}
SCHEMA = re.compile(r"^http://tableau\.com/api https://\S+/ts-api_\d+_\d+\.xsd$")
HTTP = httpx.Client(timeout=30)
"""One client for the module: creating an httpx client per call costs ~20 ms (its TLS setup)."""


@pytest.fixture(autouse=True, scope="module")
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


def api(emu: Emulator, path: str, version: str = V) -> str:
    return f"{emu.url}/api/{version}/{path}"


def password_body(name: str = "admin", password: str = "admin", site: str = "") -> dict[str, Any]:
    return {"credentials": {"name": name, "password": password, "site": {"contentUrl": site}}}


def sign_in(emu: Emulator, body: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """(token, site id, user id) of a JSON sign-in."""
    response = HTTP.post(api(emu, "auth/signin"), json=body or password_body(), headers=JSON)
    assert response.status_code == 200, response.text
    creds = response.json()["credentials"]
    return creds["token"], creds["site"]["id"], creds["user"]["id"]


def get(emu: Emulator, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"X-Tableau-Auth": token} if token is not None else {}
    return HTTP.get(api(emu, path), headers={**headers, **JSON}, **kwargs)


def xml_error(response: httpx.Response) -> str:
    root = ET.fromstring(response.content)
    assert root.tag == "{http://tableau.com/api}tsResponse"
    schema = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation")
    assert schema is not None
    assert SCHEMA.match(schema)
    error = root.find("t:error", NS)
    assert error is not None
    assert error.findtext("t:summary", namespaces=NS)
    assert error.findtext("t:detail", namespaces=NS)
    return error.get("code", "")


def json_error(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert error["summary"]
    assert error["detail"]
    return str(error["code"])


def error_code(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return json_error(response)
    return xml_error(response)


# -- server info ----------------------------------------------------------------------------------


def test_serverinfo_needs_no_token(tableau_emulator: Emulator) -> None:
    response = HTTP.get(api(tableau_emulator, "serverInfo", "2.4"))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.findtext("t:serverInfo/t:restApiVersion", namespaces=NS) == "3.23"
    product = root.find("t:serverInfo/t:productVersion", NS)
    assert product is not None
    assert product.get("build")
    as_json = HTTP.get(api(tableau_emulator, "serverinfo"), headers=JSON).json()
    assert as_json["serverInfo"]["restApiVersion"] == "3.23"
    assert as_json["serverInfo"]["productVersion"]["value"] == product.text


@pytest.mark.tableau_emulator(mode="cloud")
def test_cloud_advertises_its_version(tableau_emulator: Emulator) -> None:
    body = HTTP.get(api(tableau_emulator, "serverinfo"), headers=JSON).json()
    assert body["serverInfo"]["restApiVersion"] == "3.28"


# -- sign-in ------------------------------------------------------------------------------------


def test_password_sign_in_xml(tableau_emulator: Emulator) -> None:
    body = (
        b'<tsRequest><credentials name="admin" password="admin">'
        b'<site contentUrl="" /></credentials></tsRequest>'
    )
    response = HTTP.post(
        api(tableau_emulator, "auth/signin", "2.4"),
        content=body,
        headers={"Content-Type": "text/xml"},
    )
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    creds = root.find("t:credentials", NS)
    assert creds is not None
    assert creds.get("token")
    assert creds.get("estimatedTimeToExpiration") is None  # PAT sign-ins only
    site = creds.find("t:site", NS)
    assert site is not None
    assert site.get("id") == tableau_emulator.site_id("")
    assert site.get("contentUrl") == ""
    user = creds.find("t:user", NS)
    assert user is not None
    assert user.get("id")
    current = HTTP.get(
        api(tableau_emulator, "sessions/current"),
        headers={"X-Tableau-Auth": creds.get("token", "")},
    )
    assert current.status_code == 200


def test_password_sign_in_json(tableau_emulator: Emulator) -> None:
    response = HTTP.post(
        api(tableau_emulator, "auth/signin"),
        content=json.dumps(password_body()),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    creds = response.json()["credentials"]
    assert set(creds) == {"token", "site", "user"}
    assert creds["site"]["id"] == tableau_emulator.site_id()


@pytest.mark.tableau_emulator(pats=(PatSpec("ci", "s3cret"),), clock=ManualClock())
def test_pat_sign_in_reports_the_pat_expiry(tableau_emulator: Emulator) -> None:
    body = {
        "credentials": {
            "personalAccessTokenName": "ci",
            "personalAccessTokenSecret": "s3cret",
            "site": {"contentUrl": ""},
        }
    }
    response = HTTP.post(api(tableau_emulator, "auth/signin"), json=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()["credentials"]["estimatedTimeToExpiration"] == "365:00:00"
    xml = HTTP.post(
        api(tableau_emulator, "auth/signin"),
        content=(
            b'<tsRequest><credentials personalAccessTokenName="ci" '
            b'personalAccessTokenSecret="s3cret"><site contentUrl="" /></credentials></tsRequest>'
        ),
    )
    creds = ET.fromstring(xml.content).find("t:credentials", NS)
    assert creds is not None
    assert re.fullmatch(r"\d+:\d\d:\d\d", creds.get("estimatedTimeToExpiration", ""))
    assert tableau_emulator.stats()["signins_by_kind"] == {"pat": 2}


@pytest.mark.tableau_emulator(connected_apps=(ConnectedApp("cid", "kid", "value"),))
def test_jwt_sign_in(tableau_emulator: Emulator) -> None:
    claims = {
        "iss": "cid",
        "sub": "admin",
        "aud": "tableau",
        "jti": "one",
        "exp": int(time.time()) + 300,
        "scp": ["tableau:content:read"],
    }
    jwt = encode_hs256(claims, "value", kid="kid")
    body = {"credentials": {"jwt": jwt, "isUat": False, "site": {"contentUrl": ""}}}
    response = HTTP.post(api(tableau_emulator, "auth/signin"), json=body, headers=JSON)
    assert response.status_code == 200
    assert "estimatedTimeToExpiration" not in response.json()["credentials"]
    replay = HTTP.post(api(tableau_emulator, "auth/signin"), json=body, headers=JSON)
    assert replay.status_code == 401
    assert json_error(replay) == "401001"
    stats = tableau_emulator.stats()
    assert (stats["signins"], stats["signin_failures"], stats["jwt_replays_refused"]) == (1, 1, 1)


@pytest.mark.tableau_emulator(sites=("mkt",))
@pytest.mark.parametrize(
    "body",
    [
        password_body(password="wrong"),
        password_body(name="ghost"),
        password_body(site="nosuchsite"),
        {
            "credentials": {
                "personalAccessTokenName": "nope",
                "personalAccessTokenSecret": "x",
                "site": {"contentUrl": ""},
            }
        },
        {"credentials": {"jwt": "a.b.c", "site": {"contentUrl": ""}}},
    ],
)
def test_sign_in_failures_are_401001(tableau_emulator: Emulator, body: dict[str, Any]) -> None:
    response = HTTP.post(api(tableau_emulator, "auth/signin"), json=body)
    assert response.status_code == 401
    assert xml_error(response) == "401001"
    as_json = HTTP.post(api(tableau_emulator, "auth/signin"), json=body, headers=JSON)
    assert json_error(as_json) == "401001"
    assert tableau_emulator.stats()["signin_failures"] == 2


@pytest.mark.tableau_emulator(mode="cloud", sites=("acme",))
def test_cloud_has_no_default_site(tableau_emulator: Emulator) -> None:
    response = HTTP.post(api(tableau_emulator, "auth/signin", "3.28"), json=password_body())
    assert response.status_code == 401
    assert xml_error(response) == "401001"
    response = HTTP.post(
        api(tableau_emulator, "auth/signin", "3.28"), json=password_body(site="acme")
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "text/xml"),
        (b"not xml at all", "text/xml"),
        (b"<tsRequest><credentials name='admin'>", "text/xml"),
        (b"<tsRequest/>", "text/xml"),
        (b"<tsRequest><credentials name='admin' password='admin'/></tsRequest>", "text/xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><tsRequest>&a;</tsRequest>',
            "text/xml",
        ),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"credentials": "admin"}', "application/json"),
        (
            b'{"credentials": {"name": "a", "personalAccessTokenName": "b", "site": {}}}',
            "application/json",
        ),
        (b'{"credentials": {"name": {"x": 1}, "site": {"contentUrl": ""}}}', "application/json"),
    ],
)
def test_malformed_sign_in_is_400000(
    tableau_emulator: Emulator, content: bytes, content_type: str
) -> None:
    response = HTTP.post(
        api(tableau_emulator, "auth/signin"),
        content=content,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 400
    assert xml_error(response) == "400000"


@pytest.mark.tableau_emulator(signin_redirect_host="localhost")
def test_sign_in_redirect_keeps_post(tableau_emulator: Emulator) -> None:
    response = HTTP.post(api(tableau_emulator, "auth/signin"), json=password_body())
    assert response.status_code == 301
    location = response.headers["location"]
    port = tableau_emulator.url.rsplit(":", 1)[1]
    assert location == f"http://localhost:{port}/api/{V}/auth/signin"
    followed = HTTP.post(
        location.replace("localhost", "127.0.0.1"),
        json=password_body(),
        headers={"Host": f"localhost:{port}"},
    )
    assert followed.status_code == 200
    assert tableau_emulator.stats()["status_counts"] == {"200": 1, "301": 1}


# -- sign-out, switch site, sessions ------------------------------------------------------------


def test_sign_out_ends_the_session_at_once(tableau_emulator: Emulator) -> None:
    token, _, _ = sign_in(tableau_emulator)
    assert get(tableau_emulator, "sessions/current", token).status_code == 200
    out = HTTP.post(
        api(tableau_emulator, "auth/signout"),
        headers={"X-Tableau-Auth": token, "Content-Type": "text/xml"},
    )
    assert out.status_code == 204
    assert out.content == b""
    after = get(tableau_emulator, "sessions/current", token)
    assert after.status_code == 401
    assert json_error(after) == "401002"
    again = HTTP.post(api(tableau_emulator, "auth/signout"), headers={"X-Tableau-Auth": token})
    assert again.status_code == 401
    assert xml_error(again) == "401002"
    no_header = HTTP.post(api(tableau_emulator, "auth/signout"))
    assert xml_error(no_header) == "401000"
    stats = tableau_emulator.stats()
    assert (stats["signouts"], stats["active_sessions"]) == (1, 0)


def test_sessions_current(tableau_emulator: Emulator) -> None:
    token, site_id, user_id = sign_in(tableau_emulator)
    session = get(tableau_emulator, "sessions/current", token).json()["session"]
    assert session["site"]["id"] == site_id
    assert session["user"]["id"] == user_id
    assert session["user"]["name"] == "admin"
    assert session["user"]["siteRole"] == "ServerAdministrator"


@pytest.mark.tableau_emulator(sites=("mkt",))
def test_switch_site(tableau_emulator: Emulator) -> None:
    token, site_id, _ = sign_in(tableau_emulator)
    body = {"site": {"contentUrl": "mkt"}}
    headers = {"X-Tableau-Auth": token, **JSON}
    switched = HTTP.post(api(tableau_emulator, "auth/switchSite"), json=body, headers=headers)
    assert switched.status_code == 200
    creds = switched.json()["credentials"]
    assert creds["site"]["id"] == tableau_emulator.site_id("mkt") != site_id
    assert creds["token"] != token
    assert get(tableau_emulator, "sessions/current", token).status_code == 401
    new_headers = {"X-Tableau-Auth": creds["token"], **JSON}
    same = HTTP.post(api(tableau_emulator, "auth/switchSite"), json=body, headers=new_headers)
    assert same.status_code == 403
    assert json_error(same) == "403070"
    unknown = HTTP.post(
        api(tableau_emulator, "auth/switchSite"),
        json={"site": {"contentUrl": "zzz"}},
        headers=new_headers,
    )
    assert json_error(unknown) == "401001"
    assert tableau_emulator.stats()["site_switches"] == 1


@pytest.mark.tableau_emulator(mode="cloud", sites=("a", "b"))
def test_switch_site_is_server_only(tableau_emulator: Emulator) -> None:
    token, _, _ = sign_in(tableau_emulator, password_body(site="a"))
    response = HTTP.post(
        api(tableau_emulator, "auth/switchSite"),
        json={"site": {"contentUrl": "b"}},
        headers={"X-Tableau-Auth": token},
    )
    assert response.status_code == 403
    assert xml_error(response) == "403004"


@pytest.mark.tableau_emulator(users=(Account("alice", "pw"),))
def test_delete_session_is_for_admins(tableau_emulator: Emulator) -> None:
    admin, _, _ = sign_in(tableau_emulator)
    alice, _, _ = sign_in(tableau_emulator, password_body("alice", "pw"))
    sessions = HTTP.get(f"{tableau_emulator.url}/_emulator/sessions").json()["sessions"]
    assert alice not in json.dumps(sessions)  # never the tokens
    ids = {s["user_name"]: s["id"] for s in sessions}
    refused = HTTP.delete(
        api(tableau_emulator, f"sessions/{ids['admin']}"), headers={"X-Tableau-Auth": alice}
    )
    assert refused.status_code == 403
    assert xml_error(refused) == "403004"
    deleted = HTTP.delete(
        api(tableau_emulator, f"sessions/{ids['alice']}"), headers={"X-Tableau-Auth": admin}
    )
    assert deleted.status_code == 204
    assert get(tableau_emulator, "sessions/current", alice).status_code == 401
    missing = HTTP.delete(
        api(tableau_emulator, f"sessions/{ids['alice']}"), headers={"X-Tableau-Auth": admin}
    )
    assert missing.status_code == 404
    assert xml_error(missing) == "404029"
    assert tableau_emulator.stats()["sessions_killed"] == 1


# -- lifetimes ----------------------------------------------------------------------------------


@pytest.mark.tableau_emulator(session_lifetime=60, lifetime_kind="idle", clock=ManualClock())
def test_idle_lifetime_slides_with_use(tableau_emulator: Emulator) -> None:
    token, _, _ = sign_in(tableau_emulator)
    for _ in range(3):
        tableau_emulator.advance(50)
        assert get(tableau_emulator, "sessions/current", token).status_code == 200
    tableau_emulator.advance(60)
    expired = get(tableau_emulator, "sessions/current", token)
    assert expired.status_code == 401
    assert json_error(expired) == "401002"
    assert tableau_emulator.stats()["sessions_expired"] == 1


@pytest.mark.tableau_emulator(session_lifetime=60, lifetime_kind="absolute", clock=ManualClock())
def test_absolute_lifetime_ignores_use(tableau_emulator: Emulator) -> None:
    token, _, _ = sign_in(tableau_emulator)
    tableau_emulator.advance(50)
    assert get(tableau_emulator, "sessions/current", token).status_code == 200
    tableau_emulator.advance(10)
    assert json_error(get(tableau_emulator, "sessions/current", token)) == "401002"


def test_shared_clock_moves_client_and_emulator_together(tableau_emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = tableau_emulator_factory(session_lifetime=120, lifetime_limit=200, clock=clock)
    token, _, _ = sign_in(emu)
    for _ in range(3):
        clock.advance(60)
        assert get(emu, "sessions/current", token).status_code == 200
    clock.advance(20)  # idle only 20 s, but 200 s since sign-in: the absolute cap
    assert json_error(get(emu, "sessions/current", token)) == "401002"


@pytest.mark.tableau_emulator(pats=(PatSpec("ci", "s3cret"),))
def test_pat_allows_one_session(tableau_emulator: Emulator) -> None:
    body = {
        "credentials": {
            "personalAccessTokenName": "ci",
            "personalAccessTokenSecret": "s3cret",
            "site": {"contentUrl": ""},
        }
    }
    first, _, _ = sign_in(tableau_emulator, body)
    password, _, _ = sign_in(tableau_emulator)
    second, _, _ = sign_in(tableau_emulator, body)
    old = get(tableau_emulator, "sessions/current", first)
    assert old.status_code == 401
    assert json_error(old) == "401002"
    assert get(tableau_emulator, "sessions/current", second).status_code == 200
    assert get(tableau_emulator, "sessions/current", password).status_code == 200
    stats = tableau_emulator.stats()
    assert (stats["signins"], stats["sessions_superseded"], stats["active_sessions"]) == (3, 1, 2)


# -- request pipeline errors --------------------------------------------------------------------


@pytest.mark.tableau_emulator(sites=("mkt",))
def test_token_on_another_sites_url_is_403999(tableau_emulator: Emulator) -> None:
    token, _, _ = sign_in(tableau_emulator)
    other = tableau_emulator.site_id("mkt")
    response = get(tableau_emulator, f"sites/{other}/workbooks", token)
    assert response.status_code == 403
    assert json_error(response) == "403999"
    unknown = get(tableau_emulator, "sites/00000000-0000-0000-0000-000000000000/workbooks", token)
    assert unknown.status_code == 404
    assert json_error(unknown) == "404000"


def test_site_mismatch_status_is_configurable(tableau_emulator_factory: Any) -> None:
    emu = tableau_emulator_factory(sites=("mkt",), site_mismatch_status=401)
    token, _, _ = sign_in(emu)
    response = get(emu, f"sites/{emu.site_id('mkt')}/projects", token)
    assert response.status_code == 401
    assert json_error(response) == "401002"


def test_pipeline_error_codes(tableau_emulator: Emulator) -> None:
    token, site_id, _ = sign_in(tableau_emulator)
    cases = [
        (get(tableau_emulator, f"sites/{site_id}/workbooks", None), 401, "401000"),
        (get(tableau_emulator, f"sites/{site_id}/workbooks", ""), 401, "401000"),
        (get(tableau_emulator, f"sites/{site_id}/workbooks", "forged|token"), 401, "401002"),
        (get(tableau_emulator, "no/such/thing", token), 404, "404003"),
        (
            HTTP.get(
                api(tableau_emulator, "sessions/current", "9.0"), headers={"X-Tableau-Auth": token}
            ),
            404,
            "404003",
        ),
        (HTTP.get(api(tableau_emulator, "serverinfo", "1.0")), 404, "404003"),
        (HTTP.get(api(tableau_emulator, "serverinfo", "abc")), 404, "404003"),
        (HTTP.get(f"{tableau_emulator.url}/nothing/here"), 404, "404003"),
        (HTTP.get(api(tableau_emulator, "auth/signin")), 405, "405000"),
        (
            HTTP.put(
                api(tableau_emulator, f"sites/{site_id}/workbooks"),
                headers={"X-Tableau-Auth": token},
            ),
            405,
            "405000",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.request.url
        assert error_code(response) == code
    stats = tableau_emulator.stats()
    assert stats["requests"] == sum(stats["status_counts"].values()) == 11
    assert stats["error_codes"]["404003"] == 5


# -- why a sign-in was refused, and the code for an expired token (issue 9)


def test_refusal_reasons_are_counted_while_the_client_sees_plain_401001() -> None:
    app = ConnectedApp("client-9", "kid-9", "secret-9")
    pat = PatSpec("revoked-pat", "s3cret", revoked=True)
    with (
        Emulator(connected_apps=(app,), pats=(pat,)) as emu,
        httpx.Client(
            base_url=f"{emu.url}/api/{V}/", headers={"Accept": "application/json"}
        ) as http,
    ):
        expired_jwt = encode_hs256(
            {"iss": "client-9", "sub": "admin", "aud": "tableau", "exp": 1, "jti": "j",
             "scp": ["tableau:content:read"]},
            "secret-9",
            kid="kid-9",
        )  # fmt: skip
        bodies = [
            {"credentials": {"name": "admin", "password": "wrong", "site": {"contentUrl": ""}}},
            {"credentials": {"personalAccessTokenName": "revoked-pat",
                             "personalAccessTokenSecret": "s3cret", "site": {"contentUrl": ""}}},
            {"credentials": {"jwt": expired_jwt, "site": {"contentUrl": ""}}},
        ]  # fmt: skip
        for body in bodies:
            answer = http.post("auth/signin", json=body)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "401001"
            assert "pat_revoked" not in answer.text
            assert "jwt_expired" not in answer.text
        stats = emu.stats()
        assert stats["signin_failures"] == 3
        assert stats["signin_refusals"] == {"jwt_expired": 1, "pat_revoked": 1, "wrong_password": 1}


@pytest.mark.parametrize("code", ["401002", "401000"])
def test_the_expired_session_code_is_a_knob(code: str) -> None:
    with (
        Emulator(expired_code=code) as emu,
        httpx.Client(
            base_url=f"{emu.url}/api/{V}/", headers={"Accept": "application/json"}
        ) as http,
    ):
        body = {"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}}
        creds = http.post("auth/signin", json=body).json()["credentials"]
        headers = {"X-Tableau-Auth": creds["token"]}
        assert http.get("sessions/current", headers=headers).status_code == 200
        emu.expire_sessions()
        answer = http.get("sessions/current", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == code
        unknown = http.get("sessions/current", headers={"X-Tableau-Auth": "no-such-token"})
        assert unknown.json()["error"]["code"] == code
        assert http.get("sessions/current").json()["error"]["code"] == "401000"  # no token
        assert httpx.get(f"{emu.url}/_emulator/config").json()["expired_code"] == code
