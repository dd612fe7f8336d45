"""The sans-I/O client core: server URLs, request URLs, bodies and headers, and the sender's
redirect rules (R8), driven by a scripted interpreter instead of a network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession import Password, RetryPolicy
from tabsession._config import ClientConfig
from tabsession._core import USER_AGENT, ClientCore, normalize_server
from tabsession._events import Events
from tabsession.clock import ManualClock
from tabsession.errors import ConfigurationError, ResponseError
from tabsession.stores.base import StoredSession
from tabsession.transport.sender import Sender

from ._flows import Script

SERVER = "https://tableau.example.com"


def make_core(server: str = SERVER, **overrides: Any) -> ClientCore:
    options: dict[str, Any] = {
        "site": "marketing",
        "policy": None,
        "retry": None,
        "clock": ManualClock(),
        "api_version": None,
        "breaker": None,
        "shared_store": False,
        "lock_ttl": 90.0,
        "wait_timeout": 120.0,
        "failure_cooldown": 60.0,
    }
    options.update(overrides)
    return ClientCore(ClientConfig.build(server, Password("admin", "pw"), **options))


def record(site_id: str = "site-luid", api_version: str = "3.23") -> StoredSession:
    return StoredSession(
        token="TOKEN-abc",
        site_id=site_id,
        site_content_url="marketing",
        user_id="u",
        generation=1,
        signed_in_at=0.0,
        last_used_at=0.0,
        server=SERVER,
        credential_id="c",
        api_version=api_version,
    )


# -- normalize_server ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://tableau.example.com", "https://tableau.example.com"),
        ("https://tableau.example.com/", "https://tableau.example.com"),
        ("  https://tableau.example.com//  ", "https://tableau.example.com"),
        ("tableau.example.com", "https://tableau.example.com"),  # https unless told otherwise
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://tableau.example.com/api", "https://tableau.example.com"),
        ("https://tableau.example.com/api/", "https://tableau.example.com"),
        ("https://host.example/tableau/", "https://host.example/tableau"),  # a path prefix stays
        ("https://10ax.online.tableau.com:443", "https://10ax.online.tableau.com:443"),
    ],
)
def test_normalize_server(given: str, expected: str) -> None:
    assert normalize_server(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "ftp://tableau.example.com", "http://", "https:///x"])
def test_normalize_server_refuses_non_urls(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        normalize_server(bad)


# -- url_for ---------------------------------------------------------------------------------------


def test_relative_paths_are_site_scoped_with_the_records_site() -> None:
    core = make_core()
    assert core.url_for("workbooks", record()) == f"{SERVER}/api/3.23/sites/site-luid/workbooks"
    assert (
        core.url_for("workbooks/w-1/views", record("other-site"))
        == f"{SERVER}/api/3.23/sites/other-site/workbooks/w-1/views"
    )


def test_slash_paths_are_api_version_relative() -> None:
    core = make_core()
    assert core.url_for("/sites", record()) == f"{SERVER}/api/3.23/sites"
    assert core.url_for("/sessions/current", record(api_version="3.28")) == (
        f"{SERVER}/api/3.28/sessions/current"
    )


def test_a_record_without_a_version_uses_the_negotiated_one() -> None:
    core = make_core(api_version="3.19")
    assert core.url_for("/sites", record(api_version="")) == f"{SERVER}/api/3.19/sites"


def test_a_path_prefix_is_kept() -> None:
    core = make_core("https://host.example/tableau")
    assert core.url_for("projects", record()) == (
        "https://host.example/tableau/api/3.23/sites/site-luid/projects"
    )


def test_full_urls_on_the_same_server_are_used_as_they_are() -> None:
    core = make_core()
    url = f"{SERVER}/api/3.23/sites/x/workbooks?pageSize=5"
    assert core.url_for(url, record()) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/api/3.23/sites/x/workbooks",
        "http://tableau.example.com/api/3.23/sites",  # another scheme is another origin
        "https://tableau.example.com:8443/api/3.23/sites",  # another port too
        "https://tableau.example.com.evil.example/api/3.23/sites",
    ],
)
def test_full_urls_on_another_origin_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="only ever sent to its own server"):
        make_core().url_for(url, record())


# -- encode_body -----------------------------------------------------------------------------------


def test_json_bodies_are_encoded_and_replayable() -> None:
    body, content_type, replayable = ClientCore.encode_body({"project": {"name": "é"}}, None)
    assert json.loads(body) == {"project": {"name": "é"}}
    assert (content_type, replayable) == ("application/json", True)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, None),
        (b"<tsRequest/>", b"<tsRequest/>"),
        (bytearray(b"abc"), b"abc"),
        (memoryview(b"xyz"), b"xyz"),
        ("text é", "text é".encode()),
    ],
)
def test_bytes_like_bodies_are_replayable(content: Any, expected: bytes | None) -> None:
    body, content_type, replayable = ClientCore.encode_body(None, content)
    assert body == expected
    assert content_type is None
    assert replayable is True
    if expected is not None:
        assert isinstance(body, bytes)  # a copy that cannot change under a replay


def test_streams_are_not_replayable() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"

    stream = chunks()
    body, _, replayable = ClientCore.encode_body(None, stream)
    assert body is stream
    assert replayable is False


def test_json_and_content_together_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        ClientCore.encode_body({"a": 1}, b"b")


# -- headers ---------------------------------------------------------------------------------------


def test_headers_carry_the_token_and_ask_for_json() -> None:
    headers = ClientCore.headers("TOKEN", "application/json", None)
    assert headers == {
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "X-Tableau-Auth": "TOKEN",
    }
    assert "Content-Type" not in ClientCore.headers("TOKEN", None, None)


@pytest.mark.parametrize("name", ["X-Tableau-Auth", "x-tableau-auth", "X-TABLEAU-AUTH"])
def test_a_caller_can_never_override_the_token(name: str) -> None:
    headers = ClientCore.headers("REAL", None, {name: "FORGED", "Accept": "application/xml"})
    values = [v for k, v in headers.items() if k.lower() == "x-tableau-auth"]
    assert values == ["REAL"]
    assert headers["Accept"] == "application/xml"  # other headers may be set


def test_core_validates_its_arguments() -> None:
    with pytest.raises(ConfigurationError):
        ClientConfig.build(SERVER, "not a credential", **make_core_options())
    with pytest.raises(ConfigurationError):
        make_core(site=None)
    with pytest.raises(ConfigurationError):
        make_core(api_version="3")
    with pytest.raises(ConfigurationError):
        make_core(api_version="latest")


def make_core_options() -> dict[str, Any]:
    return {
        "site": "",
        "policy": None,
        "retry": None,
        "clock": ManualClock(),
        "api_version": None,
        "breaker": None,
        "shared_store": False,
        "lock_ttl": 90.0,
        "wait_timeout": 120.0,
        "failure_cooldown": 60.0,
    }


# -- the sender's redirect rules (R8) --------------------------------------------------------------


def sender(server: str = SERVER) -> Sender:
    return Sender(server, RetryPolicy.none(), ManualClock(), Events())


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


def scripted(*responses: httpx.Response) -> Script:
    queue = list(responses)
    return Script(lambda request: queue.pop(0))


def test_same_origin_redirect_is_followed_with_the_token() -> None:
    script = scripted(redirect("/api/3.23/sites/s/views?x=1"), httpx.Response(200))
    response = script.run(
        sender().send_flow("GET", f"{SERVER}/api/3.23/x", headers={"X-Tableau-Auth": "T"})
    )
    assert response.status_code == 200
    assert [str(r.url) for r in script.requests] == [
        f"{SERVER}/api/3.23/x",
        f"{SERVER}/api/3.23/sites/s/views?x=1",
    ]
    assert script.requests[1].headers["x-tableau-auth"] == "T"


def test_http_to_https_upgrade_on_the_same_host_is_followed() -> None:
    script = scripted(redirect("https://tableau.example.com/api/3.23/x", 301), httpx.Response(200))
    script.run(
        sender("http://tableau.example.com").send_flow(
            "GET", "http://tableau.example.com/api/3.23/x", headers={"X-Tableau-Auth": "T"}
        )
    )
    assert [r.url.scheme for r in script.requests] == ["http", "https"]


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/steal",
        "http://tableau.example.com/api/3.23/x",  # https → http downgrade
        "https://tableau.example.com:8443/api/3.23/x",  # same host name, another port
        "//evil.example/x",
    ],
)
def test_redirect_elsewhere_is_refused_and_never_sent(location: str) -> None:
    script = scripted(redirect(location), httpx.Response(200))
    with pytest.raises(ResponseError, match="never sends the session token") as caught:
        script.run(
            sender().send_flow("GET", f"{SERVER}/api/3.23/x", headers={"X-Tableau-Auth": "T"})
        )
    assert caught.value.status == 302
    assert len(script.requests) == 1  # nothing went to the other place


def test_redirect_between_ports_of_one_host_is_refused_for_plain_http() -> None:
    script = scripted(redirect("http://127.0.0.1:9999/api/3.23/x"), httpx.Response(200))
    with pytest.raises(ResponseError):
        script.run(
            sender("http://127.0.0.1:8000").send_flow(
                "GET", "http://127.0.0.1:8000/api/3.23/x", headers={"X-Tableau-Auth": "T"}
            )
        )
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirected_post_keeps_its_method_and_body(status: int) -> None:
    script = scripted(redirect(f"{SERVER}/api/3.23/other", status), httpx.Response(201))
    script.run(sender().send_flow("POST", f"{SERVER}/api/3.23/x", headers={}, content=b"body"))
    assert [(r.method, r.content) for r in script.requests] == [
        ("POST", b"body"),
        ("POST", b"body"),
    ]


def test_303_turns_into_get() -> None:
    script = scripted(redirect(f"{SERVER}/api/3.23/jobs/1", 303), httpx.Response(200))
    script.run(sender().send_flow("POST", f"{SERVER}/api/3.23/x", headers={}, content=b"b"))
    assert [r.method for r in script.requests] == ["POST", "GET"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_sign_in_redirect_to_a_pod_is_re_posted_and_moves_the_server(status: int) -> None:
    pod = "https://prod-useast-b.online.tableau.com"
    script = scripted(redirect(f"{pod}/api/3.28/auth/signin", status), httpx.Response(200))
    send = sender("https://online.tableau.com")
    script.run(
        send.send_flow(
            "POST",
            "https://online.tableau.com/api/3.28/auth/signin",
            headers={"Content-Type": "application/json"},
            content=b'{"credentials": {}}',
            signin=True,
        )
    )
    assert [(r.method, str(r.url), r.content) for r in script.requests] == [
        ("POST", "https://online.tableau.com/api/3.28/auth/signin", b'{"credentials": {}}'),
        ("POST", f"{pod}/api/3.28/auth/signin", b'{"credentials": {}}'),
    ]
    assert send.server == pod


def test_sign_in_is_never_redirected_from_https_to_http() -> None:
    script = scripted(redirect("http://pod.example/api/3.28/auth/signin"), httpx.Response(200))
    send = sender()
    with pytest.raises(ResponseError):
        script.run(
            send.send_flow(
                "POST",
                f"{SERVER}/api/3.28/auth/signin",
                headers={},
                content=b"secret",
                signin=True,
            )
        )
    assert len(script.requests) == 1  # the credentials never travelled in clear text
    assert send.server == SERVER


def test_redirect_without_location_and_redirect_loops_are_errors() -> None:
    script = scripted(httpx.Response(302))
    with pytest.raises(ResponseError, match="without a Location"):
        script.run(sender().send_flow("GET", f"{SERVER}/api/3.23/x", headers={}))
    loop = Script(lambda request: redirect(f"{SERVER}/api/3.23/x"))
    with pytest.raises(ResponseError, match="redirects"):
        loop.run(sender().send_flow("GET", f"{SERVER}/api/3.23/x", headers={}))
    assert len(loop.requests) == 6


def test_params_are_merged_with_a_query_in_the_url() -> None:
    script = scripted(httpx.Response(200), httpx.Response(200))
    send = sender()
    url = f"{SERVER}/api/3.23/sites/s/workbooks?filter=name:eq:A&pageSize=5"
    script.run(send.send_flow("GET", url, headers={}, params={"pageSize": 10, "pageNumber": 2}))
    script.run(send.send_flow("GET", url, headers={}, params={}))
    first, second = (dict(r.url.params) for r in script.requests)
    assert first == {"filter": "name:eq:A", "pageSize": "10", "pageNumber": "2"}
    assert second == {"filter": "name:eq:A", "pageSize": "5"}
