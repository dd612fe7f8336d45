"""Clients sign in to the proxy as to Tableau: XML or JSON, PAT or password, the proxy's own
credential or separate access keys. Answers are local (no upstream sign-in while a session is
live); refusals are Tableau's own 401s."""

from __future__ import annotations

import httpx
import pytest
from conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET

from tabsession._xml import xml_to_dict
from tabsession.proxy import AccessKey

from ._support import local_sign_in, password_body, pat_body, running_proxy, tapped_emulator

V = "3.23"


def _error_code(answer: httpx.Response) -> str:
    if "json" in answer.headers.get("content-type", ""):
        return str(answer.json()["error"]["code"])
    return str(xml_to_dict(answer.content)["error"]["code"])


def test_json_pat_sign_in_answers_with_a_local_token_and_the_real_ids() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        answer = httpx.post(
            f"{proxy.url}/api/{V}/auth/signin",
            json=pat_body(),
            headers={"Accept": "application/json"},
        )
        assert answer.status_code == 200
        credentials = answer.json()["credentials"]
        upstream = proxy.app.upstream.session
        assert upstream is not None
        assert credentials["site"] == {"id": emu.site_id(""), "contentUrl": ""}
        assert credentials["user"]["id"] == upstream.user_id
        assert credentials["token"].startswith("tsp-")
        assert credentials["token"] not in set(emu.state.auth._sessions)  # a local token only
        assert emu.stats()["signins"] == 1


def test_xml_password_sign_in_gets_an_xml_answer() -> None:
    from integration._support import password

    with tapped_emulator() as emu, running_proxy(emu, credential=password()) as proxy:
        answer = httpx.post(
            f"{proxy.url}/api/{V}/auth/signin",
            content=password_body(),
            headers={"Content-Type": "text/xml"},
        )
        assert answer.status_code == 200
        assert answer.content.startswith(b"<?xml")
        credentials = xml_to_dict(answer.content)["credentials"]
        assert credentials["site"]["id"] == emu.site_id("")
        assert credentials["token"].startswith("tsp-")


def test_many_sign_ins_cost_one_upstream_sign_in_and_sign_out_ends_only_the_local_token() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        tokens = [local_sign_in(proxy.url) for _ in range(10)]
        assert len(set(tokens)) == 10
        assert emu.stats()["signins"] == 1
        site = emu.site_id("")
        first, second = tokens[0], tokens[1]
        assert (
            httpx.post(
                f"{proxy.url}/api/{V}/auth/signout", headers={"X-Tableau-Auth": first}
            ).status_code
            == 204
        )
        after = httpx.get(
            f"{proxy.url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": first}
        )
        assert (after.status_code, _error_code(after)) == (401, "401002")
        still = httpx.get(
            f"{proxy.url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": second}
        )
        assert still.status_code == 200
        stats = emu.stats()
        assert (stats["signins"], stats["signouts"]) == (1, 0)  # Tableau never heard of it
        again = httpx.post(f"{proxy.url}/api/{V}/auth/signout", headers={"X-Tableau-Auth": first})
        assert (again.status_code, _error_code(again)) == (401, "401002")


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "401000"), ({"X-Tableau-Auth": "made-up-token"}, "401002")],
    ids=["no token", "made-up token"],
)
def test_requests_without_a_live_local_token_get_tableaus_401(
    headers: dict[str, str], code: str
) -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        local_sign_in(proxy.url)
        before = emu.stats()["requests"]
        for accept in ("application/json", "application/xml"):
            answer = httpx.get(
                f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/workbooks",
                headers={**headers, "Accept": accept},
            )
            assert (answer.status_code, _error_code(answer)) == (401, code)
        assert emu.stats()["requests"] == before  # nothing was forwarded


def test_an_upstream_token_is_not_a_local_token() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        local_sign_in(proxy.url)
        upstream_token = next(iter(emu.state.auth._sessions))
        answer = httpx.get(
            f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/workbooks",
            headers={"X-Tableau-Auth": upstream_token},
        )
        assert (answer.status_code, _error_code(answer)) == (401, "401002")


@pytest.mark.parametrize(
    "body",
    [
        pat_body(secret="wrong-secret"),
        pat_body(name="other-pat"),
        pat_body(site="another-site"),
        {"credentials": {"name": "admin", "password": ADMIN_PASSWORD, "site": {"contentUrl": ""}}},
        {"credentials": {"jwt": "eyJ.x.y", "site": {"contentUrl": ""}}},
    ],
    ids=["wrong secret", "wrong name", "wrong site", "not the proxy's credential", "jwt"],
)
def test_wrong_credentials_get_401001_and_no_upstream_call(body: dict[str, object]) -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        answer = httpx.post(
            f"{proxy.url}/api/{V}/auth/signin", json=body, headers={"Accept": "application/json"}
        )
        assert (answer.status_code, _error_code(answer)) == (401, "401001")
        assert answer.json()["error"]["summary"] == "Signin Error"
        assert emu.stats()["requests"] == 0
        assert proxy.stats()["local_signin_failures"] == 1


def test_malformed_sign_in_gets_400000() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        answer = httpx.post(f"{proxy.url}/api/{V}/auth/signin", content=b"<tsRequest><oops")
        assert (answer.status_code, _error_code(answer)) == (400, "400000")


def test_separate_access_keys_replace_the_upstream_credential() -> None:
    keys = (AccessKey("ci-job", "local-key-1"), AccessKey("laptop", "local-key-2"))
    with tapped_emulator() as emu, running_proxy(emu, access_keys=keys) as proxy:
        as_pat = httpx.post(
            f"{proxy.url}/api/{V}/auth/signin",
            json=pat_body("ci-job", "local-key-1"),
            headers={"Accept": "application/json"},
        )
        as_password = httpx.post(
            f"{proxy.url}/api/{V}/auth/signin", content=password_body("laptop", "local-key-2")
        )
        real = httpx.post(f"{proxy.url}/api/{V}/auth/signin", json=pat_body(PAT_NAME, PAT_SECRET))
        assert (as_pat.status_code, as_password.status_code, real.status_code) == (200, 200, 401)
        assert _error_code(real) == "401001"
        assert emu.stats()["signins"] == 1


def test_switch_site_is_refused_a_proxy_serves_one_site() -> None:
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        token = local_sign_in(proxy.url)
        headers = {"X-Tableau-Auth": token, "Accept": "application/json"}
        url = f"{proxy.url}/api/{V}/auth/switchSite"
        other = httpx.post(url, json={"site": {"contentUrl": "other"}}, headers=headers)
        same = httpx.post(
            url, content=b'<tsRequest><site contentUrl=""/></tsRequest>', headers=headers
        )
        # another site: a refusal no client takes for success; the same site: Tableau's
        # "already there" (TSC ignores it)
        assert (other.status_code, _error_code(other)) == (403, "403000")
        assert (same.status_code, _error_code(same)) == (403, "403070")
        assert emu.stats()["site_switches"] == 0


@pytest.mark.parametrize(
    "body", [b"{}", b'{"credentials": {}}', b'{"site": "x"}', b"[]", b'{"a":' * 50_000, b"<a/>"]
)
def test_switch_site_refuses_bodies_without_a_site_with_a_403(body: bytes) -> None:
    """Found by tests/fuzz/test_fuzz_proxy.py: a JSON body without a site object was a 500."""
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        token = local_sign_in(proxy.url)
        answer = httpx.post(
            f"{proxy.url}/api/{V}/auth/switchSite",
            content=body,
            headers={"X-Tableau-Auth": token, "Content-Type": "application/json"},
        )
        assert (answer.status_code, _error_code(answer)) == (403, "403000")
