"""The proxy as an ASGI app: local sign-in, sign-out and switch-site, forwarding of every other
`/api` request, and `/_tabsession/{stats,health}`.

    POST /api/{v}/auth/signin     answered here: the client's access key is checked, a local
                                  token is issued with the real site id, contentUrl and user id
                                  (the upstream session is signed in only if none is live)
    POST /api/{v}/auth/signout    ends that local token only
    POST /api/{v}/auth/switchSite refused: a proxy serves one site
    GET  /api/{v}/serverinfo      forwarded without any token (Tableau needs none)
    *    /api/...                 needs a live local token; forwarded with the upstream token
                                  (Metadata API `/api/metadata/graphql` included); a URL naming
                                  another site LUID is refused with 403
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from tabsession._httpx import AsyncClient as HttpAsyncClient
from tabsession._httpx import Timeout, create_ssl_context
from tabsession.async_client import AsyncClient
from tabsession.proxy.asgi import Send, header, send_body, send_relayed
from tabsession.proxy.config import ProxyConfig
from tabsession.proxy.forward import (
    ClientGone,
    Forwarder,
    NotReplayable,
    UpstreamFailed,
    read_body,
    response_headers,
)
from tabsession.proxy.local_auth import LocalAuth
from tabsession.proxy.local_sessions import LocalSessions
from tabsession.proxy.pool import UpstreamError
from tabsession.proxy.stats import ProxyStats
from tabsession.proxy.wire import BAD_TOKEN, NO_TOKEN, ErrorAnswer, Format, error_body, format_for
from tabsession.proxy.wire import media_type as media_type_of
from tabsession.transport.sender import origin_of

__all__ = ["ProxyApp"]

access_log = logging.getLogger("tabsession.proxy.access")
log = logging.getLogger("tabsession.proxy")

SESSION_TIMEOUT = 60.0
_SITE_IN_PATH = re.compile(r"^/api/[^/]+/sites/([^/]+)", re.IGNORECASE)
_VERSION = re.compile(r"^\d+\.\d+$")
DEFAULT_SCHEMA_VERSION = "3.23"
"""The schema version named in error bodies for URLs without one (the Metadata API's)."""


class ProxyApp:
    """The proxy's ASGI application. Upstream clients are opened by the ASGI lifespan (so they
    belong to the serving event loop) and closed, signing out a private session, at shutdown."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.stats = ProxyStats()
        self.access = config.access()
        self.sessions = LocalSessions(
            idle_timeout=config.local_idle_timeout, max_sessions=config.max_local_sessions
        )
        self._auth = LocalAuth(
            config, self.access, self.sessions, self.stats, lambda: self.upstream
        )
        self._upstream: AsyncClient | None = None
        self._site: tuple[str, str] | None = None
        self._forwarder: Forwarder | None = None
        self._starlette = Starlette(
            routes=[
                Route("/_tabsession/stats", self._stats_endpoint),
                Route("/_tabsession/health", self._health_endpoint),
            ],
            lifespan=self._lifespan,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        config = self.config
        verify = config.verify
        tls = (
            create_ssl_context(verify=verify)
            if isinstance(verify, bool)
            else ssl.create_default_context(cafile=verify)
        )
        # The session's own calls (sign-in under the store's lock) keep a 60 s timeout, which
        # the lock's lease is sized for; forwarding, with its own pool, allows long transfers.
        session_http = HttpAsyncClient(
            timeout=Timeout(SESSION_TIMEOUT, connect=10.0), verify=tls, follow_redirects=False
        )
        upstream = AsyncClient(
            config.server,
            config.credential,
            site=config.site,
            store=config.store,
            api_version=config.api_version,
            policy=config.policy,
            breaker=config.breaker,
            timeout=SESSION_TIMEOUT,
            http_client=session_http,
        )
        self._upstream = upstream
        forwarder = Forwarder(upstream, self.stats, tls=tls, timeout=config.timeout)
        self._forwarder = forwarder
        try:
            yield
        finally:
            self._forwarder = None
            try:
                await upstream.close()
            finally:
                await forwarder.aclose()
                await session_http.aclose()

    @property
    def upstream(self) -> AsyncClient:
        if self._upstream is None:
            raise RuntimeError("the proxy is not running")
        return self._upstream

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self._api(scope, receive, send)
        else:
            await self._starlette(scope, receive, send)  # type: ignore[arg-type]

    async def _api(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        headers = scope["headers"]
        version, _, rest = path[5:].partition("/")
        if not _VERSION.match(version):  # /api/metadata/graphql, /api/-/...
            version = DEFAULT_SCHEMA_VERSION
        fmt = format_for(header(headers, b"accept"))
        status = 500
        try:
            status = await self._dispatch(scope, receive, send, rest.rstrip("/").lower(), fmt)
        except ErrorAnswer as answer:
            status = answer.status
            await send_body(
                send,
                status,
                error_body(answer.code, answer.summary, answer.detail, fmt, version),
                media_type_of(fmt),
                answer.extra,
            )
        except ClientGone:
            status = 499
        finally:
            self.stats.answered(status)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d %.1fms",
                    method,
                    path,
                    status,
                    (time.perf_counter() - started) * 1000,
                    extra={"method": method, "path": path, "status": status},
                )

    async def _dispatch(
        self, scope: dict[str, Any], receive: Any, send: Send, rest: str, fmt: Format
    ) -> int:
        method = scope["method"]
        if method == "POST" and rest == "auth/signin":
            return await self._auth.sign_in(scope, receive, send, fmt)
        if method == "POST" and rest == "auth/signout":
            return await self._auth.sign_out(scope, send)
        if rest == "serverinfo":
            return await self._forward(scope, receive, send, anonymous=True)
        if self.sessions.use(header(scope["headers"], b"x-tableau-auth")) is None:
            missing = not header(scope["headers"], b"x-tableau-auth")
            self.stats.add("refused_no_token" if missing else "refused_unknown_token")
            raise ErrorAnswer(401, *(NO_TOKEN if missing else BAD_TOKEN))
        if method == "POST" and rest == "auth/switchsite":
            await self._auth.switch_site(scope, receive)
        self._check_site(scope)
        return await self._forward(scope, receive, send, anonymous=False)

    # -- forwarding ------------------------------------------------------------------------------

    def _check_site(self, scope: dict[str, Any]) -> None:
        """Site pinning: a URL naming another site than the proxy's is refused here, clearly,
        before Tableau answers it with a bare 403."""
        found = _SITE_IN_PATH.match(scope["path"])
        if found is None:
            return
        if self._site is None:  # the site (LUID, contentUrl) never changes: read it once
            info = self.upstream.session
            if info is None:
                return
            self._site = (info.site_id, info.site_content_url)
        site_id, content_url = self._site
        named = found.group(1)
        raw_query: bytes = scope.get("query_string", b"")
        key = "id"
        if b"key=" in raw_query:  # GET sites/{name}?key=contentUrl names a site by its URL
            key = (parse_qs(raw_query.decode("latin-1")).get("key") or ["id"])[0].lower()
        expected = content_url if key == "contenturl" else site_id
        if key in ("id", "contenturl") and named.lower() != expected.lower():
            self.stats.add("refused_other_site")
            raise ErrorAnswer(
                403,
                "403000",
                "Forbidden",
                f"tabsession proxy: this proxy serves site {site_id} ('{content_url}') only, "
                f"not {named}",
            )

    async def _forward(
        self, scope: dict[str, Any], receive: Any, send: Send, *, anonymous: bool
    ) -> int:
        forwarder = self._forwarder
        if forwarder is None:
            raise ErrorAnswer(503, "503000", "Service Unavailable", "tabsession proxy: stopping")
        headers = scope["headers"]
        body = await read_body(
            receive, self.config.replay_limit, header(headers, b"content-length")
        )
        target = scope.get("raw_path") or scope["path"].encode()
        if isinstance(target, bytes):
            target = target.decode("latin-1")
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        method = scope["method"]
        try:
            if anonymous:
                response = await forwarder.forward_anonymous(method, target, headers, body)
            else:
                response = await forwarder.forward(method, target, headers, body)
        except NotReplayable:
            raise ErrorAnswer(
                503,
                "503000",
                "Request Not Replayable",
                "tabsession proxy: the Tableau session ended while a request body larger than "
                f"the replay limit ({self.config.replay_limit} bytes) was being sent, so it "
                "could not be sent again. The session is renewed: send the request again, or "
                "start the proxy with a higher --replay-limit.",
                ((b"retry-after", b"0"),),
            ) from None
        except UpstreamFailed as failure:
            raise failure.answer() from None
        out = response_headers(
            response,
            upstream_origin=self._origin(),
            proxy_origin=self._proxy_origin(scope),
        )
        try:
            await send_relayed(send, receive, response, out, head=method == "HEAD")
        except UpstreamError as exc:  # the head is sent: all that is left is to stop
            self.stats.add("upstream_errors")
            log.warning("answer cut short: %s", exc, extra={"path": scope["path"]})
        return response.status_code

    def _origin(self) -> str:
        return origin_of(self.upstream.server)

    def _proxy_origin(self, scope: dict[str, Any]) -> str:
        host = header(scope["headers"], b"host")
        if host is None:
            server = scope.get("server") or (self.config.host, self.config.port)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}"

    # -- observability ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The counters behind `/_tabsession/stats`."""
        out = self.stats.snapshot()
        upstream = self._upstream
        client = upstream.stats if upstream is not None else None
        out["upstream_signins"] = client.sign_ins if client else 0
        out["upstream_signin_failures"] = client.sign_in_failures if client else 0
        out["upstream_refreshes"] = client.refreshes if client else 0
        out["local_sessions"] = len(self.sessions)
        out["local_sessions_created"] = self.sessions.created
        out["local_sessions_expired"] = self.sessions.expired + self.sessions.evicted
        return out

    async def _stats_endpoint(self, request: StarletteRequest) -> JSONResponse:
        return JSONResponse(self.snapshot())

    async def _health_endpoint(self, request: StarletteRequest) -> JSONResponse:
        upstream = self._upstream
        info = upstream.session if upstream is not None else None
        return JSONResponse(
            {
                "status": "ok" if upstream is not None else "starting",
                "server": self.config.server,
                "site": self.config.site,
                "upstream_session": info is not None,
                "generation": info.generation if info is not None else None,
                "local_sessions": len(self.sessions),
            },
            status_code=200 if upstream is not None else 503,
        )
