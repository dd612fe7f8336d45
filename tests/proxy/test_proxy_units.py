"""Pure logic of the proxy, without HTTP: local sessions (injected clock), access keys, reading
sign-in bodies, the start-up checks, and Tableau-shaped answers."""

from __future__ import annotations

import json

import pytest

from tabsession import Password, PersonalAccessToken
from tabsession._xml import xml_to_dict
from tabsession.auth.credentials import JWT
from tabsession.errors import ConfigurationError
from tabsession.proxy import AccessKey, ProxyConfig
from tabsession.proxy.access import AccessCheck, MalformedSignIn, read_sign_in
from tabsession.proxy.config import is_loopback
from tabsession.proxy.local_sessions import LocalSessions
from tabsession.proxy.wire import credentials_body, d_hh_mm, error_body, format_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_sessions_end_after_idle_time_and_sign_out() -> None:
    clock = Clock()
    sessions = LocalSessions(idle_timeout=60, clock=clock)
    token = sessions.issue("key")
    clock.now += 59
    assert sessions.use(token) is not None  # use restarts the idle clock
    clock.now += 59
    assert sessions.use(token) is not None
    clock.now += 60
    assert sessions.use(token) is None
    assert sessions.expired == 1
    other = sessions.issue("key")
    assert sessions.end(other) is True
    assert sessions.end(other) is False
    assert sessions.use(None) is None
    assert sessions.use("") is None


def test_local_sessions_drop_the_least_recently_used_beyond_the_cap() -> None:
    sessions = LocalSessions(max_sessions=3, clock=Clock())
    first, second, third = (sessions.issue("k") for _ in range(3))
    sessions.use(first)  # now second is the least recently used
    fourth = sessions.issue("k")
    assert sessions.use(second) is None
    assert all(sessions.use(t) is not None for t in (first, third, fourth))
    assert (len(sessions), sessions.evicted) == (3, 1)


def test_tokens_are_distinct_and_prefixed() -> None:
    sessions = LocalSessions(clock=Clock())
    tokens = {sessions.issue("k") for _ in range(200)}
    assert len(tokens) == 200
    assert all(t.startswith("tsp-") and len(t) > 40 for t in tokens)
    assert "tsp-" not in repr(sessions)


def test_sign_in_bodies_in_json_and_xml() -> None:
    pat = read_sign_in(
        json.dumps(
            {
                "credentials": {
                    "personalAccessTokenName": "n",
                    "personalAccessTokenSecret": "s",
                    "site": {"contentUrl": "mkt"},
                }
            }
        ).encode(),
        "application/json",
    )
    assert (pat.kind, pat.name, pat.secret, pat.site) == ("pat", "n", "s", "mkt")
    xml = read_sign_in(
        b'<tsRequest><credentials name="u" password="p"><site contentUrl=""/>'
        b'<user id="someone"/></credentials></tsRequest>',
        "text/xml",
    )
    assert (xml.kind, xml.name, xml.secret, xml.site, xml.impersonate) == (
        "password", "u", "p", "", "someone",
    )  # fmt: skip
    assert "secret=" not in repr(xml)
    assert "secret=" not in repr(pat)


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"<tsRequest/>", b'{"credentials": {}}', b'{"credentials": {"site": {}}}',
     b"[" * 100_000, b'{"a":' * 100_000],  # nested too deeply: a 400, not a RecursionError
)  # fmt: skip
@pytest.mark.parametrize("content_type", ["", "application/json"])
def test_malformed_sign_in_bodies(body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedSignIn):
        read_sign_in(body, content_type)


def test_access_check_accepts_its_keys_in_either_form_and_never_a_jwt() -> None:
    check = AccessCheck.for_credential(PersonalAccessToken("ci", "s3cret"))
    good = read_sign_in(b'<tsRequest><credentials name="ci" password="s3cret"><site/>'
                        b"</credentials></tsRequest>", "")  # fmt: skip
    assert check.verify(good) == "ci"
    bad = read_sign_in(b'<tsRequest><credentials name="ci" password="s3cre"><site/>'
                       b"</credentials></tsRequest>", "")  # fmt: skip
    assert check.verify(bad) is None
    jwt = read_sign_in(b'{"credentials": {"jwt": "x", "site": {}}}', "")
    assert check.verify(jwt) is None
    assert "s3cret" not in repr(check)
    assert (
        AccessCheck.for_credential(Password("u", "p")).verify(
            read_sign_in(b'{"credentials": {"name": "u", "password": "p", "site": {}}}', "")
        )
        == "u"
    )
    with pytest.raises(ConfigurationError, match="access keys"):
        AccessCheck.for_credential(JWT(lambda: "token"))


def test_access_keys_parse() -> None:
    assert AccessKey.parse_many("a:1, b:2:3") == (AccessKey("a", "1"), AccessKey("b", "2:3"))
    assert "1" not in repr(AccessKey("a", "1")).replace("a", "")
    for bad in ("nocolon", ":secret", "name:"):
        with pytest.raises(ConfigurationError):
            AccessKey.parse(bad)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_start_up_checks() -> None:
    pat = PersonalAccessToken("n", "s")
    with pytest.raises(ConfigurationError, match="access keys"):
        ProxyConfig("https://t", pat, host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="both a certificate"):
        ProxyConfig("https://t", pat, tls_certfile="c.pem")
    with pytest.raises(ConfigurationError, match="port"):
        ProxyConfig("https://t", pat, port=70000)
    with pytest.raises(ConfigurationError, match="access keys"):
        ProxyConfig("https://t", JWT(lambda: "x"))
    secret = "Zq-distinctive-secret"
    config = ProxyConfig(
        "https://t",
        PersonalAccessToken("n", secret),
        access_keys=(AccessKey("k", secret + "2"),),
        tls_certfile=None,
    )
    assert secret not in repr(config)


def test_answers_in_tableaus_shapes() -> None:
    assert format_for("application/json") == "json"
    assert format_for(None) == format_for("*/*") == format_for("text/xml") == "xml"
    xml = error_body("401002", "Unauthorized Access", "Invalid <creds>", "xml", "3.23")
    assert xml_to_dict(xml) == {
        "error": {"code": "401002", "summary": "Unauthorized Access", "detail": "Invalid <creds>"}
    }
    assert b"ts-api_3_23.xsd" in xml
    assert json.loads(error_body("401000", "s", "d", "json", "3.23"))["error"]["code"] == "401000"
    body = credentials_body(
        token="tsp-x", site_id="S", content_url="mkt", user_id="U", fmt="xml", version="3.4",
        time_to_expiration="1:02:03",
    )  # fmt: skip
    assert xml_to_dict(body)["credentials"] == {
        "token": "tsp-x",
        "estimatedTimeToExpiration": "1:02:03",
        "site": {"id": "S", "contentUrl": "mkt"},
        "user": {"id": "U"},
    }
    assert d_hh_mm(((3 * 24 + 4) * 60 + 5) * 60 + 59) == "3:04:05"
