"""Everything `Client` and `AsyncClient` share: configuration, URL building and the flows for
requests (re-sign-in and one replay on 401, site-mismatch diagnosis on 403), sign-out, server
info and site switching. I/O-free: flows yield effects that the clients perform."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tabsession._config import ClientConfig
from tabsession._effects import Flow
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
from tabsession.auth.manager import LiveSession, SessionManager
from tabsession.auth.secret import MaskedHeaders
from tabsession.auth.signin import read_credentials, unsupported_version_flow
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

if TYPE_CHECKING:
    from tabsession.operations.sink import FileSink

__all__ = ["ClientCore", "normalize_server"]

USER_AGENT = f"tabsession/{__version__}"
_SITE_IN_URL = re.compile(r"/api/[^/]+/sites/([^/?#]+)")
_NO_RETRY = RetryPolicy.none()
MAX_REPLAYS = 3


def normalize_server(server: str) -> str:
    """`tableau.example.com/` → `https://tableau.example.com` (https unless a scheme is given);
    `/api[/3.x]` and browser paths are dropped (see `tabsession._urls`)."""
    return parse_server_url(server).server


class ClientCore:
    """The sans-I/O client. One per `Client`/`AsyncClient`."""

    def __init__(self, config: ClientConfig, on_event: EventHook | None = None) -> None:
        self.config = config
        self.server = config.server
        self.clock = config.clock
        self.events = Events(on_event)
        self.retry = config.retry
        self.sender = Sender(self.server, self.retry, self.clock, self.events)
        self.sender.redirect_hosts = config.redirect_hosts
        self.auth = config.auth
        self.manager = SessionManager(
            config=config,
            sender=self.sender,
            events=self.events,
            key=session_key(self.server, config.site, config.auth.identity),
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
            learned_lifetime=self.manager.learned_lifetime,
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
        # masked in repr(): the token stays out of tracebacks formatted with their locals
        headers = MaskedHeaders({"Accept": "application/json", "User-Agent": USER_AGENT})
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
        self.manager.rejected(live, self.clock.monotonic())
        renewed = yield from self.manager.session_flow(failed=live.record)
        return renewed.record.token

    def sign_in_flow(self, *, force: bool) -> Flow[SessionInfo]:
        """Make sure a session exists; `force` replaces the held one with a new sign-in."""
        live = self.manager.live
        if force and live is not None:
            live = yield from self.manager.session_flow(failed=live.record)
        else:
            live = yield from self.session_flow()
        return self._info(live)

    def _info(self, live: LiveSession) -> SessionInfo:
        info = self.session_info()
        if info is None:  # signed out meanwhile by another thread: describe what we got
            raise TableauError("the session was signed out while it was being set up")
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
        idempotent: bool | None = None,
        sink: FileSink | None = None,
    ) -> Flow[Response]:
        """One API call (R2): lazy sign-in, send with retries, on 401 a new session (single
        flight) and a replay; errors raised as `tabsession.errors` classes.

        A 401 means Tableau did not act, so every method is replayed. A replay is sent again
        only when the session that refused it is newer than the one that refused before (a
        distinct expiry), at most `MAX_REPLAYS` times; the same session refusing twice raises
        `SessionExpired` at once.

        `idempotent=False` keeps a method the HTTP verb calls idempotent (an upload's PUT append)
        from being resent after a 5xx or a dropped connection. `sink` streams a 2xx body into a
        file instead of memory (downloads)."""
        method = method.upper()
        body, content_type, replayable = self.encode_body(json_body, content)
        retry = None if replayable else _NO_RETRY
        manager = self.manager
        live = yield from self.session_flow()
        refused: list[tuple[str, int]] = []  # (site, generation) of each refusing session
        while True:
            url = self.url_for(path, live.record)
            sent_at = self.clock.monotonic()
            if not manager.sending(live, 1):
                live = yield from manager.session_flow()  # a planned refresh is under way
                continue
            try:
                response = yield from self.sender.send_flow(
                    method,
                    url,
                    headers=self.headers(live.record.token, content_type, headers),
                    params=params,
                    content=body,
                    retry=retry,
                    idempotent=idempotent,
                    sink=sink,
                )
            finally:
                manager.sending(live, -1)
            status = response.status_code
            if status != 401:
                yield from manager.used(live, sent_at)
                if status < 400:
                    return response
                if status == 403:
                    yield from self._diagnose_site(response, method, url, live)
                raise self._error(response, method, url)
            # A live session refused on another site's URL is a site problem, not an
            # expiry: say so without signing in (with a PAT that would end the session).
            yield from self._diagnose_site(response, method, url, live, need_alive=True)
            session = (live.record.site_content_url, live.record.generation)
            if any(site == session[0] and gen >= session[1] for site, gen in refused):
                raise self._expired(response, method, url, [*refused, session], again=True)
            if not replayable:
                raise BodyNotReplayable(
                    "the session ended while sending a streamed body, which cannot be sent "
                    "again; pass bytes to get automatic replay",
                    method=method,
                    url=url,
                )
            refused_at = self.clock.monotonic()
            refused.append(session)
            if len(refused) > MAX_REPLAYS:
                raise self._expired(response, method, url, refused)
            manager.rejected(live, sent_at)
            live = yield from manager.session_flow(failed=live.record)
            self.events.emit(
                "replay",
                f"replaying {method} {url} with session generation {live.record.generation}",
                method=method,
                url=url,
                generation=live.record.generation,
                refused_generation=session[1],
                refused_sent_at=sent_at,
                refused_at=refused_at,
            )

    def _expired(
        self,
        response: Response,
        method: str,
        url: str,
        refused: list[tuple[str, int]],
        *,
        again: bool = False,
    ) -> SessionExpired:
        generations = ", ".join(str(generation) for _, generation in refused)
        if again:
            why = (
                f"session generation {refused[-1][1]} refused it twice: the credentials "
                "probably lack access to this resource, or the session ended again at once"
            )
        else:
            why = (
                f"{len(refused)} sessions in a row refused it (generations {generations}; "
                f"tabsession replays a request at most {MAX_REPLAYS} times): sessions keep "
                "ending (another process signing in with the same PAT, or an administrator)"
            )
        return SessionExpired(
            f"the request was refused after its session was renewed: {why}. "
            f"{self._error(response, method, url)}",
            status=401,
            code=parse_error_body(response.content, "").code,
            method=method,
            url=url,
        )

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
        """Tableau Server only: move the session to another site (a new token and site LUID).

        Atomic for every other caller of this client: while the switch runs, no sign-in for the
        old site starts; when it returns, the new site's session is the one every call uses, and
        flows that started before it never install an old-site session afterwards."""
        if not isinstance(content_url, str):
            raise ConfigurationError("switch_site takes the site's contentUrl, a string")
        manager = self.manager
        for _ in range(MAX_REPLAYS + 1):
            live = yield from self.session_flow()
            if live.record.site_content_url.lower() == content_url.lower():
                return self._info(live)
            target = yield from manager.lock_target_flow()
            try:
                if manager.live is not live:
                    continue  # renewed meanwhile: switch with the newer session
                url = self.url_for("/auth/switchSite", live.record)
                sent_at = self.clock.monotonic()
                response = yield from self.sender.send_flow(
                    "POST",
                    url,
                    headers=self.headers(live.record.token, "application/json", None),
                    content=json.dumps({"site": {"contentUrl": content_url}}).encode(),
                )
                if response.status_code == 401:
                    manager.rejected(live, sent_at)
                    continue  # renewed on the next turn, outside the lock
                if response.status_code >= 400:
                    error = self._error(response, "POST", url)
                    if isinstance(error, Forbidden) and error.code == "403070":
                        return self._info(live)  # already signed in to that site
                    raise error
                result = read_credentials(
                    parse_payload(response.content, response.headers.get("content-type", "")),
                    method="POST",
                    url=url,
                    api_version=manager.api_version or "",
                )
                if result.site_content_url.lower() != content_url.lower():
                    raise TableauError(
                        f"switchSite to {content_url!r} answered with site "
                        f"{result.site_content_url!r}; the session was left unchanged",
                        method="POST",
                        url=url,
                    )
                live = yield from manager.take_over_flow(
                    content_url, session_key(self.server, content_url, self.auth.identity), result
                )
                return self._info(live)
            finally:
                yield from manager.release_flow(target)
        raise SessionExpired(
            f"could not switch to site {content_url!r}: the session kept ending",
            status=401,
            method="POST",
        )
