"""The `requests` transport adapter through which every TSC request passes.

Mounted on each `requests.Session` TSC makes (through its `session_factory`), in front of the
adapters the session already had. For each request:

- TSC's own sign-in, sign-out and site switch are answered by the `SessionKeeper` (no second
  session, so a PAT never ends the session other workers use);
- a request that carries `X-Tableau-Auth` gets the current token at send time (a refresh or a
  renewal made by another thread or process is used at once);
- a 401 gets a new session (single flight, shared through the store) and the request is sent
  again, bytes bodies included (publishes, chunk appends). A replay refused by a NEWER session
  than the one refused before (a distinct expiry) is replayed again, at most 3 times in all;
  the same session refusing twice ends it (rule R2). The last 401 is then TSC's to report.

Nothing else is touched: requests without a token (server info, other hosts) pass as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from tabsession._core import MAX_REPLAYS  # rule R2, as for the client
from tabsession.errors import BodyNotReplayable
from tabsession.tsc.keeper import SessionKeeper

__all__ = ["MAX_REPLAYS", "KeepSignedInAdapter", "hook_session"]

AUTH_HEADER = "X-Tableau-Auth"
_AUTH_CALL = re.compile(r"/api/[^/]+/auth/(signin|signout|switchsite)/?$", re.IGNORECASE)


def _replayable(body: Any) -> bool:
    return body is None or isinstance(body, bytes | str)


class KeepSignedInAdapter(BaseAdapter):
    """Sends through `inner` (the adapter the session had) with the keeper's token."""

    def __init__(self, keeper: SessionKeeper, inner: BaseAdapter) -> None:
        super().__init__()
        self.keeper = keeper
        self.inner = inner

    def __repr__(self) -> str:
        return f"KeepSignedInAdapter({self.keeper!r})"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        options: dict[str, Any] = {
            "stream": stream,
            "timeout": timeout,
            "verify": verify,
            "cert": cert,
            "proxies": proxies,
        }
        if request.method == "POST":
            call = _AUTH_CALL.search(urlsplit(request.url or "").path)
            if call is not None:
                return self._answer(call.group(1).lower(), request)
        if AUTH_HEADER not in request.headers:
            return self.inner.send(request, **options)
        token = self.keeper.token()
        request.headers[AUTH_HEADER] = token
        response = self.inner.send(request, **options)
        refused: list[str] = []
        while response.status_code == 401:
            response.content  # noqa: B018  (read, so the connection goes back to the pool)
            response.close()
            refused.append(token)
            if len(refused) > MAX_REPLAYS:
                break
            if not _replayable(request.body):
                raise BodyNotReplayable(
                    "the session ended while sending a streamed body, which cannot be sent "
                    "again; pass bytes (TSC does for files and chunks) to get automatic replay",
                    method=request.method,
                    url=request.url,
                )
            token = self.keeper.renew(token)
            if token in refused:  # the same session refusing twice: no loop
                break
            replay = request.copy()
            replay.headers[AUTH_HEADER] = token
            response = self.inner.send(replay, **options)
        return response

    def _answer(self, call: str, request: requests.PreparedRequest) -> requests.Response:
        if call == "signin":
            return self.keeper.answer_sign_in(request)
        if call == "signout":
            return self.keeper.answer_sign_out(request)
        return self.keeper.answer_switch_site(request)

    def close(self) -> None:
        self.inner.close()


def hook_session(session: requests.Session, keeper: SessionKeeper) -> requests.Session:
    """Put a `KeepSignedInAdapter` in front of every adapter mounted on `session`."""
    for prefix, adapter in list(session.adapters.items()):
        inner = adapter.inner if isinstance(adapter, KeepSignedInAdapter) else adapter
        session.mount(prefix, KeepSignedInAdapter(keeper, inner))
    return session
