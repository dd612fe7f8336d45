"""Sign-in, sign-out and switch-site (`/api/{v}/auth/...`)."""

from __future__ import annotations

from typing import Any

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node
from tabsession.emulator.state.auth import Session, SignInRequest
from tabsession.emulator.state.errors import ApiError, text_field

__all__ = ["sign_in", "sign_out", "switch_site"]


def _site_url(data: dict[str, Any]) -> str:
    site = data.get("site")
    if not isinstance(site, dict):
        raise ApiError.malformed_body("credentials need a 'site' element with a contentUrl")
    return text_field(site, "contentUrl") or ""


def read_sign_in(credentials: dict[str, Any]) -> SignInRequest:
    """Which credentials the body carries: password, PAT or JWT (exactly one)."""
    site_url = _site_url(credentials)
    user = credentials.get("user")
    impersonate = text_field(user, "id") if isinstance(user, dict) else None
    jwt = text_field(credentials, "jwt")
    pat_name = text_field(credentials, "personalAccessTokenName")
    pat_secret = text_field(credentials, "personalAccessTokenSecret")
    name = text_field(credentials, "name")
    password = text_field(credentials, "password")
    given = [jwt is not None, pat_name is not None or pat_secret is not None, name is not None]
    if sum(given) != 1:
        raise ApiError.malformed_body("credentials need exactly one of name, PAT or jwt")
    if jwt is not None:
        return SignInRequest("jwt", site_url, jwt=jwt, impersonate_user_id=impersonate)
    if pat_name is not None or pat_secret is not None:
        return SignInRequest(
            "pat",
            site_url,
            pat_name=pat_name or "",
            pat_secret=pat_secret or "",
            impersonate_user_id=impersonate,
        )
    return SignInRequest(
        "password", site_url, name=name or "", password=password or "",
        impersonate_user_id=impersonate,
    )  # fmt: skip


def credentials_node(call: Call, session: Session) -> Node:
    site = call.state.site_by_id(session.site_id)
    attrs = {"token": session.token}
    if session.pat_name is not None:
        attrs["estimatedTimeToExpiration"] = call.state.auth.pat_time_left(session.pat_name)
    site_attrs = {"id": session.site_id, "contentUrl": site.content_url if site else ""}
    return Node(
        "credentials",
        attrs,
        [Node("site", site_attrs), Node("user", {"id": session.user_id})],
    )


def sign_in(call: Call) -> Reply:
    redirect = call.state.config.signin_redirect_host
    hostname, _, port = call.host.rpartition(":") if ":" in call.host else (call.host, "", "")
    if redirect and hostname.lower() != redirect.lower():
        target_host = f"{redirect}:{port}" if port else redirect
        location = f"{call.scheme}://{target_host}/api/{call.version}/{call.path}"
        return Reply(301, headers={"Location": location})
    request = read_sign_in(call.element("credentials"))
    session = call.state.auth.sign_in(request, stale=call.stale_session)
    return Reply(200, [credentials_node(call, session)])


def sign_out(call: Call) -> Reply:
    call.state.auth.sign_out(call.token)
    return Reply(204)


def switch_site(call: Call) -> Reply:
    if call.state.config.mode != "server":
        raise ApiError.forbidden("Switch Site is not available on Tableau Cloud.")
    site = call.element("site")
    new = call.state.auth.switch_site(call.token, text_field(site, "contentUrl") or "")
    return Reply(200, [credentials_node(call, new)])
