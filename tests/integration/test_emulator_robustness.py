"""Whatever a client sends, the emulator answers like Tableau: never a 500, never a traceback.

Property-based (hypothesis) over real HTTP: random verbs, paths, query strings, headers and bodies;
then a list of known-nasty inputs (XML bombs, external entities, deep nesting, huge numbers,
invalid UTF-8, unicode). Every answer must be a well-formed Tableau error (XML with the namespace,
or JSON with a string code) or a well-formed success, and the emulator's own count of internal
errors must stay at zero.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tabsession.emulator.server import Emulator

V = "3.23"
NS = "{http://tableau.com/api}"
CODE = re.compile(r"^\d{6}$")
HTTP = httpx.Client(timeout=30)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True, scope="module")
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


def sign_in(emu: Emulator) -> str:
    body = {"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}}
    response = HTTP.post(
        f"{emu.url}/api/{V}/auth/signin", json=body, headers={"Accept": "application/json"}
    )
    return str(response.json()["credentials"]["token"])


def assert_tableau_answer(response: httpx.Response, method: str) -> None:
    """A 2xx/3xx with a parseable body, or a 4xx carrying a Tableau error. Never a 5xx."""
    status = response.status_code
    assert status < 500, (status, response.request.url, response.text[:300])
    if method == "HEAD" or not response.content:
        assert status in (204, 301) or method == "HEAD", (status, response.request.url)
        return
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if is_json:
        body = response.json()
        if status >= 400:
            error = body["error"]
            assert isinstance(error["code"], str)
            assert CODE.match(error["code"])
            assert isinstance(error["summary"], str)
            assert isinstance(error["detail"], str)
        return
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}tsResponse"
    if status >= 400:
        error = root.find(f"{NS}error")
        assert error is not None
        assert CODE.match(error.get("code", ""))
        assert error.find(f"{NS}summary") is not None
        assert error.find(f"{NS}detail") is not None


# -- strategies ---------------------------------------------------------------------------------

segment = st.one_of(
    st.sampled_from(["", ".", "..", "current", "0", "-1", "%", "users", "views", "x" * 300]),
    st.text(max_size=40),
    st.uuids().map(str),
)
kinds = st.sampled_from(
    ["projects", "users", "groups", "workbooks", "views", "datasources", "jobs", "sites"]
)
versions = st.one_of(
    st.just("3.23"),
    st.just("3.23"),
    st.just("3.23"),
    st.sampled_from(["2.4", "3.0", "9.9", "-", "3", "3.23.1", ""]),
    st.text(max_size=8),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
element = st.sampled_from(["credentials", "site", "project", "group", "user", "tsRequest"])
attr_names = st.sampled_from(
    [
        "name",
        "password",
        "contentUrl",
        "id",
        "siteRole",
        "parentProjectId",
        "jwt",
        "personalAccessTokenName",
        "x",
    ]
)


@st.composite
def xml_bodies(draw: Any) -> bytes:
    tag = draw(element)
    attrs = draw(st.dictionaries(attr_names, st.text(max_size=20), max_size=3))
    rendered = "".join(f' {k}="{_attr_escape(v)}"' for k, v in attrs.items())
    inner = draw(
        st.sampled_from(["", '<site contentUrl=""/>', "<user/>", "text", "<a><b><c/></b></a>"])
    )
    body = f"<tsRequest><{tag}{rendered}>{inner}</{tag}></tsRequest>"
    return body.encode("utf-8", "surrogatepass")


def _attr_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


@st.composite
def json_bodies(draw: Any) -> bytes:
    value = draw(st.one_of(json_values, st.dictionaries(element, json_values, max_size=2)))
    return json.dumps(value).encode()


bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    xml_bodies(),
    json_bodies(),
)
params = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [
                "pageSize",
                "pageNumber",
                "filter",
                "sort",
                "fields",
                "includeUsageStatistics",
                "mapAssetsTo",
            ]
        ),
        st.text(max_size=10),
    ),
    st.one_of(
        st.text(max_size=40),
        st.integers().map(str),
        st.sampled_from(["name:eq:x", "size:in:[1,2", "a:b:c:d", "_all_", "1001", "0"]),
    ),
    max_size=4,
)


@st.composite
def paths(draw: Any, site_id: str) -> str:
    site = draw(st.one_of(st.just(site_id), segment))
    shape = draw(st.integers(min_value=0, max_value=9))
    kind, a, b = draw(kinds), draw(segment), draw(segment)
    q = lambda s: quote(s, safe="")  # noqa: E731
    return [
        "serverinfo",
        "auth/signin",
        "auth/signout",
        "auth/switchSite",
        f"sessions/{q(a)}",
        f"sites/{q(site)}",
        f"sites/{q(site)}/{kind}",
        f"sites/{q(site)}/{kind}/{q(a)}",
        f"sites/{q(site)}/groups/{q(a)}/users/{q(b)}",
        "/".join(q(s) for s in (a, b)),
    ][shape]


@given(data=st.data())
@SETTINGS
def test_random_requests_get_tableau_answers(tableau_emulator: Emulator, data: Any) -> None:
    emu = tableau_emulator
    method = data.draw(
        st.sampled_from(["GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    )
    version = data.draw(versions)
    path = data.draw(paths(emu.site_id()))
    headers = {
        "Content-Type": data.draw(
            st.sampled_from(["text/xml", "application/json", "application/xml", "text/plain", ""])
        ),
        "Accept": data.draw(
            st.sampled_from(["*/*", "application/json", "text/html", "", "application/xml;q=0.9"])
        ),
    }
    token_kind = data.draw(st.sampled_from(["valid", "none", "junk"]))
    if token_kind == "valid":
        headers["X-Tableau-Auth"] = sign_in(emu)
    elif token_kind == "junk":
        headers["X-Tableau-Auth"] = data.draw(
            st.text(
                alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
            )
        )
    content = data.draw(bodies) if method in ("POST", "PUT", "PATCH") else b""
    response = HTTP.request(
        method,
        f"{emu.url}/api/{quote(version, safe='')}/{path}",
        params=data.draw(params),
        content=content,
        headers=headers,
    )
    assert_tableau_answer(response, method)
    assert emu.stats()["internal_errors"] == 0


@given(data=st.data())
@SETTINGS
def test_random_control_plane_input_is_json(tableau_emulator: Emulator, data: Any) -> None:
    emu = tableau_emulator
    name = data.draw(
        st.one_of(
            st.sampled_from(
                [
                    "health",
                    "stats",
                    "config",
                    "sessions",
                    "expire-sessions",
                    "advance-clock",
                    "reset",
                    "faults",
                    "kill-session",
                    "revoke-pat",
                ]
            ),
            st.text(max_size=12).map(lambda s: quote(s, safe="")),
        )
    )
    method = data.draw(st.sampled_from(["GET", "POST", "DELETE", "PUT"]))
    keys = st.sampled_from(
        ["seconds", "rules", "latency_ms", "append", "session_id", "name", "kind", "x"]
    )
    body = data.draw(
        st.one_of(
            st.binary(max_size=50),
            st.dictionaries(keys, json_values, max_size=3).map(lambda d: json.dumps(d).encode()),
        )
    )
    response = HTTP.request(method, f"{emu.url}/_emulator/{name}", content=body)
    assert response.status_code in (200, 400, 404, 405), response.text
    payload = response.json()
    if response.status_code != 200:
        assert isinstance(payload["error"], str)
    assert emu.stats()["internal_errors"] == 0


# -- known nasty inputs ---------------------------------------------------------------------------

BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "' + b"&lol;" * 10 + b'">'
    b'<!ENTITY lol3 "' + b"&lol2;" * 10 + b'">]>\n'
    b'<tsRequest><credentials name="&lol3;" password="x"><site contentUrl=""/></credentials>'
    b"</tsRequest>"
)
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<tsRequest><credentials name="&x;" password="x"><site contentUrl=""/></credentials></tsRequest>"""
NASTY_BODIES = [
    BOMB,
    XXE,
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://example.invalid/x.dtd"><tsRequest/>',
    b"<a>" * 20000 + b"</a>" * 20000,
    b"[" * 100000,
    b'{"credentials": ' * 5000 + b"1" + b"}" * 5000,
    b'{"credentials": {"name": ' + b"9" * 20000 + b"}}",
    b'{"credentials": {"name": 1e999, "password": -1e999, "site": {"contentUrl": NaN}}}',
    b"\xff\xfe\x00<\x00t\x00s\x00",
    b"<tsRequest>\x00</tsRequest>",
    '<tsRequest><credentials name="ü名🚀" password="x">'.encode()
    + '<site contentUrl="ü"/></credentials></tsRequest>'.encode(),
    b'{"credentials": {"name": "\\ud800", "password": "\\u0000", '
    b'"site": {"contentUrl": "\\ud800"}}}',
    b'{"credentials": {"name": ["a"], "password": {"b": 1}, "site": "x"}}',
    b'{"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}, '
    b'"user": {"id": {"x": 1}}}}',
    b"x" * (2 * 1024 * 1024),
]


@pytest.mark.parametrize("content", NASTY_BODIES, ids=lambda c: repr(c[:24]))
@pytest.mark.parametrize("content_type", ["text/xml", "application/json"])
def test_nasty_sign_in_bodies(
    tableau_emulator: Emulator, content: bytes, content_type: str
) -> None:
    response = HTTP.post(
        f"{tableau_emulator.url}/api/{V}/auth/signin",
        content=content,
        headers={"Content-Type": content_type},
    )
    assert response.status_code in (400, 401), response.text[:200]
    assert_tableau_answer(response, "POST")
    assert b"root:" not in response.content  # no external entity was read
    assert tableau_emulator.stats()["internal_errors"] == 0


@pytest.mark.parametrize(
    "name",
    [
        "Café ü 名前 🚀",
        "a\x01b",
        "\ud800 lone surrogate",
        "<tag> & \"quotes\" 'x'",
        "x" * 5000,
        " \t\n",
    ],
)
def test_unicode_and_control_characters_in_content(tableau_emulator: Emulator, name: str) -> None:
    token = sign_in(tableau_emulator)
    site = tableau_emulator.site_id()
    created = HTTP.post(
        f"{tableau_emulator.url}/api/{V}/sites/{site}/projects",
        content=json.dumps({"project": {"name": name}}).encode(),
        headers={"X-Tableau-Auth": token, "Content-Type": "application/json"},
    )
    assert_tableau_answer(created, "POST")
    if created.status_code == 201:
        project = ET.fromstring(created.content).find(f"{NS}project")
        assert project is not None
        shown = project.get("name", "")
        assert len(shown) == len(name) or name.isspace()
        if name.isprintable():
            assert shown == name
        for accept in ("*/*", "application/json"):
            listing = HTTP.get(
                f"{tableau_emulator.url}/api/{V}/sites/{site}/projects",
                headers={"X-Tableau-Auth": token, "Accept": accept},
            )
            assert listing.status_code == 200
            assert_tableau_answer(listing, "GET")
    assert tableau_emulator.stats()["internal_errors"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "sites/%00/workbooks",
        "sites/%01%02/projects/%ff",
        "sites/" + "a" * 8000 + "/workbooks",
        "%E2%80%AE/%F0%9F%9A%80",
        "sessions/%0d%0aSet-Cookie:x",
    ],
)
def test_strange_paths(tableau_emulator: Emulator, path: str) -> None:
    token = sign_in(tableau_emulator)
    for accept in ("*/*", "application/json"):
        response = HTTP.get(
            f"{tableau_emulator.url}/api/{V}/{path}",
            headers={"X-Tableau-Auth": token, "Accept": accept},
        )
        assert response.status_code in (401, 403, 404, 405), response.text[:200]
        assert_tableau_answer(response, "GET")
        assert "set-cookie" not in response.headers


def test_strange_query_values(tableau_emulator: Emulator) -> None:
    token = sign_in(tableau_emulator)
    url = f"{tableau_emulator.url}/api/{V}/sites/{tableau_emulator.site_id()}/workbooks"
    for query in (
        {"pageSize": "9" * 5000},
        {"pageNumber": "9" * 5000},
        {"pageSize": "１２"},
        {"filter": "name:in:[" * 1000},
        {"filter": "," * 1000},
        {"sort": ":" * 100},
        {"fields": "\x00"},
        {"filter": "createdAt:gt:\ud800".encode("utf-8", "surrogatepass").decode("latin-1")},
    ):
        response = HTTP.get(url, params=query, headers={"X-Tableau-Auth": token})
        assert_tableau_answer(response, "GET")
    assert tableau_emulator.stats()["internal_errors"] == 0
