"""The session a TSC `Server` uses, held by a tabsession `Client`.

One `SessionKeeper` per `Server`, shared by every `requests.Session` TSC makes for it (one per
thread since TSC 0.41). It hands out the current token, renews a refused one (single flight,
through the client and its store), answers TSC's own sign-in, sign-out and site switch from the
client's session, and records every new session in TSC's state through one callback.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import requests
from defusedxml.ElementTree import fromstring

from tabsession.auth.credentials import Credential
from tabsession.client import Client
from tabsession.errors import ConfigurationError
from tabsession.session import SessionInfo
from tabsession.tsc.answers import credentials_answer, local_response
from tabsession.tsc.credentials import from_sign_in_body

__all__ = ["SessionKeeper"]

ClientFactory = Callable[[Credential, str], Client]
Publish = Callable[[SessionInfo, str], None]


class SessionKeeper:
    """Holds the tabsession `Client` behind one TSC `Server`.

    `make_client(credential, site)` builds a client (again when TSC signs in with another
    credential or site). `publish(info, token)` records a session in TSC's state. `sign_out`:
    whether TSC's `sign_out()` really ends the session (True) or only forgets it in TSC (False,
    so that other workers sharing the store keep it).
    """

    def __init__(
        self,
        make_client: ClientFactory,
        credential: Credential,
        site: str,
        *,
        publish: Publish,
        sign_out: bool,
    ) -> None:
        self._make_client = make_client
        self._credential = credential
        self._client = make_client(credential, site)
        self._publish_to_tsc = publish
        self._sign_out = sign_out
        self._lock = threading.Lock()
        self._bind_lock = threading.Lock()  # one rebinding at a time (TSC signing in anew)
        self._published: str | None = None
        # tokens already reported refused: never published again by a late thread
        self._retired: deque[str] = deque(maxlen=64)

    @property
    def client(self) -> Client:
        return self._client

    def __repr__(self) -> str:
        return f"SessionKeeper({self._client!r}, sign_out={self._sign_out})"

    # -- tokens ----------------------------------------------------------------------------------

    def token(self) -> str:
        """The token to send now (signing in or refreshing per the client's policy)."""
        token = self._client.token()
        if token != self._published:
            self._publish(token)
        return token

    def renew(self, stale: str) -> str:
        """The token to replay with after `stale` met a 401 (one sign-in for all callers)."""
        with self._lock:
            self._retired.append(stale)
        token = self._client.renew(stale)
        self._publish(token)
        return token

    def _publish(self, token: str) -> None:
        with self._lock:
            if token == self._published or token in self._retired:
                return
            info = self._client.session
            if info is None:
                return
            self._published = token
            self._publish_to_tsc(info, token)

    # -- TSC's own session calls, answered from the client's session -----------------------------

    def answer_sign_in(self, request: requests.PreparedRequest) -> requests.Response:
        """TSC's `auth.sign_in(...)`: the held (or shared) session, a sign-in only if none."""
        credential, site = from_sign_in_body(request.body)
        with self._bind_lock:
            if credential.identity != self._credential.identity or site != self._client.site:
                self._rebind(credential, site)
        token = self.token()
        return self._credentials_response(request, token)

    def _rebind(self, credential: Credential, site: str) -> None:
        """Hold a session for another credential or site; a refused sign-in keeps the old."""
        fresh = self._make_client(credential, site)
        try:
            fresh.token()
        except BaseException:
            fresh.close()
            raise
        old, self._client, self._credential = self._client, fresh, credential
        with self._lock:
            self._published = None
        old.close()

    def answer_switch_site(self, request: requests.PreparedRequest) -> requests.Response:
        """TSC's `auth.switch_site(site)`: the client switches (Tableau Server only)."""
        try:
            element = fromstring(request.body or b"").find("site")
        except Exception as exc:  # not a TSC switch-site body
            raise ConfigurationError("could not read the switch-site request TSC sent") from exc
        content_url = element.get("contentUrl", "") if element is not None else ""
        self._client.switch_site(content_url)
        return self._credentials_response(request, self.token())

    def answer_sign_out(self, request: requests.PreparedRequest) -> requests.Response:
        """TSC's `auth.sign_out()`: ends the session if `sign_out`, else leaves it to others."""
        if self._sign_out:
            self._client.sign_out()
        with self._lock:
            self._published = None
        return local_response(request, 204, reason="No Content")

    def _credentials_response(
        self, request: requests.PreparedRequest, token: str
    ) -> requests.Response:
        info = self._client.session
        if info is None:  # a token always comes with a session
            raise ConfigurationError("the client holds no session after signing in")
        with self._lock:
            self._published = token
        return local_response(request, 200, credentials_answer(info, token))

    def close(self) -> None:
        """Release the client's connections (never signs out)."""
        self._client.close()
