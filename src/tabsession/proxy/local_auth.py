"""Sign-in, sign-out and switch-site at the proxy: answered here, never sent to Tableau.

A client proves an access key (by default the proxy's own credential) and gets a local token
with the real site LUID, contentUrl and user LUID of the upstream session, which is signed in
only if none is live. Refusals are Tableau's own: 400000 for a malformed body, 401001 for
wrong credentials (or another site, a JWT, an impersonation), 401000/401002 at sign-out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from tabsession._responses import load_json
from tabsession._xml import XmlError, xml_to_dict
from tabsession.async_client import AsyncClient
from tabsession.proxy.access import AccessCheck, MalformedSignIn, read_sign_in
from tabsession.proxy.asgi import Send, header, send_body
from tabsession.proxy.config import ProxyConfig
from tabsession.proxy.forward import read_body, upstream_failure
from tabsession.proxy.local_sessions import LocalSessions
from tabsession.proxy.stats import ProxyStats
from tabsession.proxy.wire import (
    BAD_TOKEN,
    NO_TOKEN,
    SIGN_IN_ERROR,
    ErrorAnswer,
    Format,
    credentials_body,
    d_hh_mm,
    media_type,
)

__all__ = ["SIGN_IN_LIMIT", "LocalAuth"]

SIGN_IN_LIMIT = 64 * 1024
"""Sign-in and switch-site bodies are small; anything larger is refused (400000)."""


class LocalAuth:
    """The proxy's answers to `auth/signin`, `auth/signout` and `auth/switchSite`."""

    def __init__(
        self,
        config: ProxyConfig,
        access: AccessCheck,
        sessions: LocalSessions,
        stats: ProxyStats,
        upstream: Callable[[], AsyncClient],
    ) -> None:
        self.config, self.access, self.sessions, self.stats = config, access, sessions, stats
        self._upstream = upstream

    async def switch_site(self, scope: dict[str, Any], receive: Any) -> None:
        """Always refused: a proxy serves one site. To the site it serves, with Tableau's own
        "already signed in to that site" (403070, which TSC treats as success); to another,
        with a 403 that says why (and that no client mistakes for success)."""
        body = await read_body(receive, SIGN_IN_LIMIT, header(scope["headers"], b"content-length"))
        wanted = None
        data: Any = None
        with contextlib.suppress(ValueError, XmlError, UnicodeDecodeError):
            text = (body.data or b"").strip()
            data = load_json(text) if text[:1] == b"{" else xml_to_dict(text)
        site = data.get("site") if isinstance(data, dict) else None
        if isinstance(site, dict):
            wanted = str(site.get("contentUrl", ""))
        if wanted is not None and wanted.lower() == self.config.site.lower():
            raise ErrorAnswer(403, "403070", "Forbidden", "Already signed in to that site.")
        raise ErrorAnswer(
            403,
            "403000",
            "Forbidden",
            f"tabsession proxy: this proxy serves site '{self.config.site}' only; "
            "run another proxy for another site",
        )

    async def sign_in(self, scope: dict[str, Any], receive: Any, send: Send, fmt: Format) -> int:
        headers = scope["headers"]
        body = await read_body(receive, SIGN_IN_LIMIT, header(headers, b"content-length"))
        if body.data is None:
            raise ErrorAnswer(400, "400000", "Bad Request", "The sign-in body is too large.")
        try:
            attempt = read_sign_in(body.data, header(headers, b"content-type") or "")
        except MalformedSignIn as exc:
            raise ErrorAnswer(400, "400000", "Bad Request", str(exc)) from None
        key = self.access.verify(attempt)
        if (
            key is None
            or attempt.site.lower() != self.config.site.lower()
            or attempt.impersonate is not None
        ):
            self.stats.add("local_signin_failures")
            raise ErrorAnswer(401, *SIGN_IN_ERROR)
        upstream = self._upstream()
        try:
            await upstream.token()  # no I/O while the upstream session is live
        except Exception as exc:
            raise upstream_failure(exc).answer() from None
        info = upstream.session
        if info is None:  # pragma: no cover - token() always leaves a session
            raise ErrorAnswer(502, "502000", "Bad Gateway", "tabsession proxy: no upstream session")
        token = self.sessions.issue(key)
        self.stats.add("local_signins")
        expiry = None
        if attempt.kind == "pat" and info.pat_expires_in is not None:
            expiry = d_hh_mm(info.pat_expires_in.total_seconds())
        version = scope["path"][5:].partition("/")[0]
        answer = credentials_body(
            token=token,
            site_id=info.site_id,
            content_url=info.site_content_url,
            user_id=info.user_id,
            fmt=fmt,
            version=version,
            time_to_expiration=expiry,
        )
        await send_body(send, 200, answer, media_type(fmt))
        return 200

    async def sign_out(self, scope: dict[str, Any], send: Send) -> int:
        token = header(scope["headers"], b"x-tableau-auth")
        if not token:
            raise ErrorAnswer(401, *NO_TOKEN)
        if not self.sessions.end(token):
            raise ErrorAnswer(401, *BAD_TOKEN)
        self.stats.add("local_signouts")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return 204
