"""Everything `Client` and `AsyncClient` share: configuration, URL building and the flows for
requests (re-sign-in and one replay on 401, site-mismatch diagnosis on 403), sign-out, server
info and site switching. I/O-free: flows yield effects that the clients perform."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from tabsession._effects import Flow, StoreOp
from tabsession._events import EventHook, Events
from tabsession._httpx import Response
from tabsession._responses import (
    attempts_of,
    error_for_response,
    parse_error_body,
    parse_payload,
    read_payload,
)
from tabsession._urls import parse_server_url
from tabsession._version import __version__
from tabsession.auth.credentials import Credential
from tabsession.auth.manager import Breaker, LiveSession, SessionManager
from tabsession.auth.policy import SessionPolicy
from tabsession.auth.signin import read_credentials, unsupported_version_flow
from tabsession.clock import Clock
from tabsession.errors import (
    BodyNotReplayable,
    ConfigurationError,
    Forbidden,
    ResponseError,
    SessionExpired,
    SiteMismatch,
    TableauError,
)
from tabsession.session import SessionInfo
from tabsession.stores.base import StoredSession, session_key
from tabsession.transport.retry import RetryPolicy
from tabsession.transport.sender import Sender, origin_of

__all__ = ["ClientCore", "normalize_server"]

USER_AGENT = f"tabsession/{__version__}"
_SITE_IN_URL = re.compile(r"/api/[^/]+/sites/([^/?#]+)")
_NO_RETRY = RetryPolicy.none()


def normalize_server(server: str) -> str:
    """`tableau.example.com/` → `https://tableau.example.com` (https unless a scheme is given);
    `/api[/3.x]` and browser paths are dropped (see `tabsession._urls`)."""
    return parse_server_url(server).server


class ClientCore:
    """The sans-I/O client. One per `Client`/`AsyncClient`."""

    def __init__(
        self,
        server: str,
        auth: Credential,
        *,
        site: str,
        policy: SessionPolicy | None,
        retry: RetryPolicy | None,
        clock: Clock,
        api_version: str | None,
        breaker: Breaker | None,
        shared_store: bool,
        on_event: EventHook | None,
        lock_ttl: float,
        wait_timeout: float,
        failure_cooldown: float,
        signin_retry: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(auth, Credential):
            raise ConfigurationError(
                "auth must be a credential: tabsession.PersonalAccessToken(name, secret), "
                "Password(user, password), ConnectedAppJWT(...) or JWT(provider)"
            )
        if not isinstance(site, str):
            raise ConfigurationError("site is the site's contentUrl, a string ('' = Default)")
        if api_version is not None and not re.fullmatch(r"\d+\.\d+", api_version):
            raise ConfigurationError(f"api_version must look like '3.23', not {api_version!r}")
        self.server = normalize_server(server)
        self.clock = clock
        self.events = Events(on_event)
        self.retry = retry or RetryPolicy()
        self.sender = Sender(self.server, self.retry, clock, self.events)
        self.auth = auth
        self.manager = SessionManager(
            sender=self.sender,
            credential=auth,
            site=site,
            key=session_key(self.server, site, auth.identity),
            owner=uuid.uuid4().hex,
            policy=policy or SessionPolicy.for_server_url(self.server),
            clock=clock,
            events=self.events,
            breaker=breaker,
            api_version=api_version,
            shared_store=shared_store,
            lock_ttl=lock_ttl,
            wait_timeout=wait_timeout,
            failure_cooldown=failure_cooldown,
            signin_retry=signin_retry,
        )

    # -- reading state -------------------------------------------------------------------------

    @property
    def site(self) -> str:
        return self.manager.site

    def session_info(self) -> SessionInfo | None:
        live = self.manager.live
        if live is None:
            return None
        record = live.record
        expires = live.pat_expires_in
        return SessionInfo(
            server=record.origin or record.server,
            site_id=record.site_id,
            site_content_url=record.site_content_url,
            user_id=record.user_id,
            api_version=record.api_version,
            generation=record.generation,
            signed_in_at=datetime.fromtimestamp(record.signed_in_at, tz=timezone.utc),
            pat_expires_in=None if expires is None else timedelta(seconds=expires),
        )

    # -- building requests -----------------------------------------------------------------------

    def url_for(self, path: str, record: StoredSession) -> str:
        """Relative paths are site-scoped (the session's CURRENT site); `/x` is `/api/{v}/x`;
        a full URL must be on this client's server."""
        if path.startswith(("http://", "https://")):
            if origin_of(path) != origin_of(self.sender.server):
                raise ConfigurationError(
                    f"{origin_of(path)} is not this client's server ({self.sender.server}); "
                    "the session token is only ever sent to its own server"
                )
            return path
        version = record.api_version or self.manager.api_version
        base = f"{self.sender.server}/api/{version}"
        if path.startswith("/"):
            return base + path
        return f"{base}/sites/{record.site_id}/{path}"

    @staticmethod
    def encode_body(json_body: Any, content: Any) -> tuple[Any, str | None, bool]:
        """(content, content type, replayable). JSON and bytes can be replayed after a 401;
        iterators and streams cannot."""
        if json_body is not None and content is not None:
            raise ConfigurationError("pass json= or content=, not both")
        if json_body is not None:
            return json.dumps(json_body).encode(), "application/json", True
        if content is None or isinstance(content, bytes):
            return content, None, True
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content), None, True
        if isinstance(content, str):
            return content.encode(), None, True
        return content, None, False

    @staticmethod
    def headers(
        token: str, content_type: str | None, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        if extra:
            headers.update({k: v for k, v in extra.items() if k.lower() != "x-tableau-auth"})
        headers["X-Tableau-Auth"] = token
        return headers

    def _error(self, response: Response, method: str, url: str) -> ResponseError:
        return error_for_response(
            response.status_code,
            response.headers,
            response.content,
            method=method,
            url=url,
            now=self.clock.time(),
            attempts=attempts_of(response),
        )

    # -- flows -----------------------------------------------------------------------------------

    def session_flow(self) -> Flow[LiveSession]:
        """The held session if fresh (no I/O), else one from the manager's single flight."""
        live = self.manager.fresh()
        if live is not None:
            return live
        return (yield from self.manager.session_flow())

    def token_flow(self) -> Flow[str]:
        """A live session token (signing in when there is none): for callers that send requests
        themselves (the TSC adapter, the proxy, `tabsession token`)."""
        live = yield from self.session_flow()
        return live.record.token

    def renew_flow(self, stale_token: str) -> Flow[str]:
        """After a 401 on `stale_token`: a newer session's token (single flight, R3). If the
        held session is already newer than `stale_token`'s, it is returned without I/O."""
        live = self.manager.live
        if live is None or live.record.token != stale_token:
            return (yield from self.token_flow())
        self.manager.note_rejected(live)
        renewed = yield from self.manager.session_flow(failed=live.record)
        return renewed.record.token

    def sign_in_flow(self, *, force: bool) -> Flow[SessionInfo]:
        """Make sure a session exists; `force` replaces the held one with a new sign-in."""
        live = self.manager.live
        if force and live is not None:
            yield from self.manager.session_flow(failed=live.record)
        else:
            yield from self.session_flow()
        info = self.session_info()
        assert info is not None  # a session flow always ends holding a session
        return info

    def request_flow(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Flow[Response]:
        """One API call: lazy sign-in, send with retries, on 401 a new session (single flight)
        and one replay; errors raised as `tabsession.errors` classes."""
        method = method.upper()
        body, content_type, replayable = self.encode_body(json_body, content)
        retry = None if replayable else _NO_RETRY
        manager = self.manager
        live = yield from self.session_flow()
        replayed = False
        while True:
            url = self.url_for(path, live.record)
            sent_at = self.clock.monotonic()
            response = yield from self.sender.send_flow(
                method,
                url,
                headers=self.headers(live.record.token, content_type, headers),
                params=params,
                content=body,
                retry=retry,
            )
            touch = manager.used(live, sent_at)
            if touch is not None:
                yield from self._touch(touch)
            status = response.status_code
            if status < 400:
                return response
            if status == 401:
                # A live session refused on another site's URL is a site problem, not an
                # expiry: say so without signing in (with a PAT that would end the session).
                yield from self._diagnose_site(response, method, url, live, need_alive=True)
                if replayed:
                    raise SessionExpired(
                        "the request was refused again after its session was renewed "
                        f"(generation {live.record.generation}; tabsession replays a request "
                        "once): the session ended again meanwhile (another process signing in "
                        "with the same PAT, or an administrator), or the credentials lack access "
                        f"to this resource. {self._error(response, method, url)}",
                        status=401,
                        code=parse_error_body(response.content, "").code,
                        method=method,
                        url=url,
                    )
                if not replayable:
                    raise BodyNotReplayable(
                        "the session ended while sending a streamed body, which cannot be sent "
                        "again; pass bytes to get automatic replay",
                        method=method,
                        url=url,
                    )
                manager.note_rejected(live)
                live = yield from manager.session_flow(failed=live.record)
                self.events.emit(
                    "replay",
                    f"replaying {method} {url} with session generation {live.record.generation}",
                    method=method,
                    url=url,
                    generation=live.record.generation,
                )
                replayed = True
                continue
            if status == 403:
                yield from self._diagnose_site(response, method, url, live)
            raise self._error(response, method, url)

    def _touch(self, touch: StoreOp) -> Flow[None]:
        try:
            yield touch
        except TableauError as exc:  # best effort: a missed touch only costs an early refresh
            self.events.emit("touch_failed", f"could not record session use: {exc}")

    def _diagnose_site(
        self,
        response: Response,
        method: str,
        url: str,
        live: LiveSession,
        *,
        need_alive: bool = False,
    ) -> Flow[None]:
        """Rule R5: if the URL names another site than the session's, raise SiteMismatch,
        confirmed with GET sessions/current (whose answer names the session's real site).

        `need_alive`: raise only if that probe shows the session alive (for a 401, which may
        just as well mean the session ended); otherwise return and let the caller go on.
        """
        found = _SITE_IN_URL.search(urlsplit(url).path)
        if found is None or found.group(1) == live.record.site_id:
            return
        session_site, session_url = live.record.site_id, live.record.site_content_url
        probe = self.url_for("/sessions/current", live.record)
        alive = False
        try:
            answer = yield from self.sender.send_flow(
                "GET", probe, headers=self.headers(live.record.token, None, None), retry=_NO_RETRY
            )
            if answer.status_code == 200:
                alive = True
                site = parse_payload(answer.content, answer.headers.get("content-type", ""))
                site = site["session"]["site"]
                session_site = str(site.get("id", session_site))
                session_url = str(site.get("contentUrl", session_url))
        except (TableauError, KeyError, TypeError, ValueError):
            pass  # the session's own record is the next best witness
        if need_alive and not alive:
            return
        error = self._error(response, method, url)
        raise SiteMismatch(
            status=response.status_code,
            code=error.code,
            summary=error.summary,
            detail=error.detail,
            method=method,
            url=url,
            requested_site_id=found.group(1),
            session_site_id=session_site,
            session_site_content_url=session_url,
        )

    def server_info_flow(self) -> Flow[dict[str, Any]]:
        """GET serverinfo (no sign-in needed) at the negotiated or configured version."""
        version = yield from self.manager.version_flow()
        url = f"{self.sender.server}/api/{version}/serverinfo"
        response = yield from self.sender.send_flow(
            "GET", url, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        if response.status_code >= 400:
            version_error = yield from unsupported_version_flow(
                self.sender, version, response, method="GET", url=url
            )
            raise version_error or self._error(response, "GET", url)
        data = read_payload(response, method="GET", url=url)
        info = data.get("serverInfo") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            raise ResponseError(
                "serverinfo answered without serverInfo",
                status=response.status_code,
                method="GET",
                url=url,
            )
        return info

    def sign_out_flow(self) -> Flow[bool]:
        """Best-effort sign-out of the held session (errors are logged, never raised)."""
        live = self.manager.live
        if live is None:
            return False
        self.manager.forget()
        url = self.url_for("/auth/signout", live.record)
        try:
            response = yield from self.sender.send_flow(
                "POST", url, headers=self.headers(live.record.token, None, None), retry=_NO_RETRY
            )
            ok = response.status_code < 400
        except TableauError:
            ok = False
        self.events.emit("signout", "signed out" if ok else "sign-out failed (ignored)", ok=ok)
        return ok

    def switch_site_flow(self, content_url: str) -> Flow[SessionInfo]:
        """Tableau Server only: move the session to another site (a new token and site LUID)."""
        if not isinstance(content_url, str):
            raise ConfigurationError("switch_site takes the site's contentUrl, a string")
        try:
            response = yield from self.request_flow(
                "POST", "/auth/switchSite", json_body={"site": {"contentUrl": content_url}}
            )
        except Forbidden as exc:
            if exc.code != "403070":
                raise
            info = self.session_info()  # 403070: already signed in to that site
            assert info is not None
            return info
        data = parse_payload(response.content, response.headers.get("content-type", ""))
        version = self.manager.api_version or ""
        result = read_credentials(
            data, method="POST", url=str(response.request.url), api_version=version
        )
        key = session_key(self.server, content_url, self.auth.identity)
        yield from self.manager.take_over_flow(content_url, key, result)
        info = self.session_info()
        assert info is not None
        return info
