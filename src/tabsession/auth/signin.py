"""Signing in (POST auth/signin) and choosing the API version (GET serverinfo), as flows.

Rule R4: a refused sign-in (401) is never retried here or anywhere: repeated failures can lock
an account. It raises `SignInFailed` naming the likely cause for the credential in use. Transient
failures (429, 5xx, connection errors) are retried: a repeated sign-in is harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tabsession._effects import Flow, Resolve
from tabsession._responses import (
    attempts_of,
    error_for_response,
    parse_error_body,
    parse_payload,
    read_payload,
)
from tabsession.auth.credentials import Credential
from tabsession.auth.secret import Secret
from tabsession.errors import (
    NotFound,
    ResponseError,
    SignInFailed,
    TableauError,
    TransportError,
    VersionNegotiationFailed,
)
from tabsession.transport.retry import RetryPolicy
from tabsession.transport.sender import Sender

__all__ = [
    "JSON_HEADERS",
    "PROBE_VERSION",
    "SignInResult",
    "negotiate_version_flow",
    "parse_d_hh_mm",
    "sign_in_flow",
    "unsupported_version_flow",
]

PROBE_VERSION = "2.4"
_VERSION = re.compile(r"^\d+\.\d+$")
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
ACCEPT_JSON = {"Accept": "application/json"}


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) else None


def negotiate_version_flow(sender: Sender, retry: RetryPolicy | None = None) -> Flow[str]:
    """The server's REST API version (`restApiVersion` from an unauthenticated serverinfo call).

    No silent fallback: if the server cannot say, `VersionNegotiationFailed` explains why.
    """
    url = f"{sender.server}/api/{PROBE_VERSION}/serverinfo"
    advice = "Check the server URL, or pass api_version='3.x' to skip this step."
    try:
        response = yield from sender.send_flow("GET", url, headers=ACCEPT_JSON, retry=retry)
    except TransportError:
        raise  # no server answered: the real cause, not advice about versions
    except TableauError as exc:
        raise VersionNegotiationFailed(
            f"could not read the API version: {exc}. {advice}", method="GET", url=url
        ) from exc
    if response.status_code != 200:
        body = parse_error_body(response.content, response.headers.get("content-type", ""))
        said = " ".join(p for p in (body.code, body.summary, body.detail) if p)
        raise VersionNegotiationFailed(
            f"serverinfo answered HTTP {response.status_code}{': ' + said if said else ''}. "
            f"{advice}",
            method="GET",
            url=url,
        )
    try:
        data = parse_payload(response.content, response.headers.get("content-type", ""))
        version = _text(data["serverInfo"]["restApiVersion"])
    except (ValueError, KeyError, TypeError):
        version = None
    if version is None or not _VERSION.match(version):
        raise VersionNegotiationFailed(
            f"serverinfo did not name a REST API version (is this a Tableau server?). {advice}",
            method="GET",
            url=url,
        )
    return version


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def unsupported_version_flow(
    sender: Sender, version: str, response: Any, *, method: str, url: str
) -> Flow[NotFound | None]:
    """After a 404 at `/api/{version}/...`: if the server's own version (from serverinfo) is
    older than `version`, the error that says so and which versions it supports; else None
    (the 404 is about something else)."""
    if response.status_code != 404 or not _VERSION.match(version):
        return None
    try:
        supported = yield from negotiate_version_flow(sender, RetryPolicy.none())
    except TableauError:
        return None
    if _version_key(supported) >= _version_key(version):
        return None
    body = parse_error_body(response.content, response.headers.get("content-type", ""))
    return NotFound(
        f"api_version {version} is not supported by this server: it supports REST API "
        f"versions up to {supported} (from {PROBE_VERSION}). Pass api_version={supported!r} "
        "or leave api_version unset to use the newest the server has.",
        status=404,
        code=body.code,
        summary=body.summary,
        detail=body.detail,
        method=method,
        url=url,
    )


def parse_d_hh_mm(text: str | None) -> float | None:
    """`estimatedTimeToExpiration` ("173:21:12" = days:hours:minutes) → seconds, or None."""
    if not text:
        return None
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    days, hours, minutes = (int(p) for p in parts)
    return float(((days * 24 + hours) * 60 + minutes) * 60)


@dataclass(frozen=True)
class SignInResult:
    token: str = field(repr=False)
    site_id: str
    site_content_url: str
    user_id: str
    api_version: str
    pat_expires_in: float | None = None


def read_credentials(data: Any, *, method: str, url: str, api_version: str) -> SignInResult:
    """The `credentials` element of a sign-in (or switch-site) answer."""
    credentials = data.get("credentials") if isinstance(data, dict) else None
    if not isinstance(credentials, dict):
        credentials = {}
    site, user, token = credentials.get("site"), credentials.get("user"), credentials.get("token")
    if not (isinstance(token, str) and token and isinstance(site, dict) and isinstance(user, dict)):
        raise ResponseError(
            "the sign-in answer has no credentials token, site or user",
            status=200,
            method=method,
            url=url,
        )
    return SignInResult(
        token=token,
        site_id=str(site.get("id", "")),
        site_content_url=str(site.get("contentUrl", "")),
        user_id=str(user.get("id", "")),
        api_version=api_version,
        pat_expires_in=parse_d_hh_mm(str(credentials.get("estimatedTimeToExpiration") or "")),
    )


def _revealed(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def signin_body(payload: Mapping[str, Any], site: str) -> Secret[bytes]:
    """The sign-in request body, as a Secret: the credential's secrets are revealed into it here
    and it stays masked until the sender builds the HTTP request."""
    credentials = {**payload, "site": {"contentUrl": site}}
    return Secret(json.dumps({"credentials": credentials}, default=_revealed).encode())


def sign_in_flow(
    sender: Sender,
    credential: Credential,
    site: str,
    api_version: str,
    now: float,
    retry: RetryPolicy | None = None,
) -> Flow[SignInResult]:
    """One sign-in attempt (with transport retries); `SignInFailed` on 401."""
    payload = yield Resolve(credential.payload())
    body = signin_body(payload, site)
    del payload  # its secrets stay out of this frame's locals (tracebacks with locals)
    url = f"{sender.server}/api/{api_version}/auth/signin"
    response = yield from sender.send_flow(
        "POST", url, content=body, headers=JSON_HEADERS, signin=True, idempotent=True, retry=retry
    )
    final_url = str(response.request.url)
    if response.status_code == 401:
        error = parse_error_body(response.content, response.headers.get("content-type", ""))
        raise SignInFailed(
            status=401,
            code=error.code,
            summary=error.summary,
            detail=error.detail,
            method="POST",
            url=final_url,
            likely_cause=credential.likely_failure_cause(site),
        )
    if response.status_code >= 400:
        version_error = yield from unsupported_version_flow(
            sender, api_version, response, method="POST", url=final_url
        )
        if version_error is not None:
            raise version_error
        raise error_for_response(
            response.status_code,
            response.headers,
            response.content,
            method="POST",
            url=final_url,
            now=now,
            attempts=attempts_of(response),
        )
    data = read_payload(response, method="POST", url=final_url)
    return read_credentials(data, method="POST", url=final_url, api_version=api_version)
