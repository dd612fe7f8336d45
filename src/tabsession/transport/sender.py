"""Sending one request: retries (R7) and redirects (R8), as a flow of effects.

Redirects are followed by hand, never by the HTTP library, because the session token travels in
a custom header (`X-Tableau-Auth`) that generic clients would carry anywhere:
- a sign-in is re-POSTed to `Location`, body and method kept (Tableau Cloud's pod redirect;
  a POST turned into GET would fail with 405000), and the new origin becomes the server's;
- an authenticated request follows a redirect only within its origin (or from http to https on
  the same host and the standard port, never the reverse); a redirect elsewhere, another port of
  the same host included, is an error, so the token never leaves the server;
- a sign-in is never redirected from https to http (the body carries the credentials), and only
  to its own host or an allowed one (`redirects.DEFAULT_REDIRECT_HOSTS`: Tableau Cloud pods).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from tabsession._effects import Flow, Send, SendTo, Sleep
from tabsession._events import Events
from tabsession._httpx import URL, InvalidURL, Request, Response, request_was_not_sent
from tabsession._httpx import TransportError as HttpTransportError
from tabsession._responses import ATTEMPTS
from tabsession.auth.secret import reveal
from tabsession.clock import Clock
from tabsession.errors import ConfigurationError, ResponseError, TransportError
from tabsession.transport.redirects import (
    DEFAULT_REDIRECT_HOSTS,
    authenticated_redirect_allowed,
    signin_redirect_refusal,
)
from tabsession.transport.retry import RetryPolicy

if TYPE_CHECKING:
    from tabsession.operations.sink import FileSink

__all__ = ["MAX_REDIRECTS", "Sender", "origin_of", "server_base"]

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def server_base(url: str) -> str:
    """The server's base URL from an API URL: everything before `/api/` (a path prefix such as
    `https://host/tableau` is kept); the origin when the URL has no `/api/`."""
    parts = urlsplit(url)
    path = parts.path
    cut = path.find("/api/")
    prefix = path[:cut] if cut >= 0 else ""
    return f"{parts.scheme}://{parts.netloc}{prefix.rstrip('/')}"


class Sender:
    """Builds and sends requests with retries. `server` is the origin all URLs start with; a sign-in
    redirect to another origin (a Tableau Cloud pod) moves it there. `redirect_hosts`: where
    else a sign-in may be redirected (see `transport.redirects`)."""

    def __init__(self, server: str, retry: RetryPolicy, clock: Clock, events: Events) -> None:
        self.redirect_hosts: tuple[str, ...] = DEFAULT_REDIRECT_HOSTS
        self.server = server
        self.retry = retry
        self.clock = clock
        self.events = events

    def wait(self, seconds: float, reason: str) -> Flow[None]:
        self.events.emit(
            "wait", f"waiting {seconds:.2f}s before retrying ({reason})", seconds=seconds
        )
        yield Sleep(seconds)

    def _redirect(self, response: Response, method: str, url: str, signin: bool) -> tuple[str, str]:
        location = response.headers.get("location")
        if not location:
            raise ResponseError(
                f"HTTP {response.status_code} redirect without a Location header",
                status=response.status_code,
                method=method,
                url=url,
            )
        target = urljoin(url, location)
        if signin:
            refusal = signin_redirect_refusal(url, target, self.redirect_hosts)
            if refusal is not None:
                raise ResponseError(
                    f"HTTP {response.status_code} redirect of a sign-in to {origin_of(target)} "
                    f"refused: {refusal}.",
                    status=response.status_code,
                    method=method,
                    url=url,
                )
            if origin_of(target) != origin_of(url):
                self.server = server_base(target)
            return method, target
        if not authenticated_redirect_allowed(url, target):
            raise ResponseError(
                f"HTTP {response.status_code} redirect to {origin_of(target)}: tabsession never "
                "sends the session token to another host. Point the client at that server "
                "directly if it is the right one.",
                status=response.status_code,
                method=method,
                url=url,
            )
        return ("GET" if response.status_code == 303 else method), target

    def send_flow(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        content: Any = None,
        signin: bool = False,
        idempotent: bool | None = None,
        retry: RetryPolicy | None = None,
        sink: FileSink | None = None,
    ) -> Flow[Response]:
        """Send until a response that is not to be retried (returned, whatever its status) or
        until retries are exhausted (the last response is returned; a transport error raises
        `tabsession.errors.TransportError`). `retry` overrides the sender's policy. With `sink`,
        a 2xx body is streamed into it (each attempt starts it afresh)."""
        retry = retry or self.retry
        clock = self.clock
        start = clock.monotonic()
        attempt = redirects = 0
        while True:
            attempt += 1
            # merged, not replaced: a query written in the path ("workbooks?filter=...") stays
            try:
                target = URL(url).copy_merge_params(params) if params else URL(url)
            except InvalidURL as exc:  # a path with control characters, a bad port, ...
                raise ConfigurationError(f"not a valid request URL: {exc}") from None
            # a Secret body (sign-in) is revealed only into the request itself
            request = Request(method, target, content=reveal(content), headers=headers)
            try:
                response: Response = yield (
                    Send(request) if sink is None else SendTo(request, sink)
                )
            except HttpTransportError as exc:
                sent = not request_was_not_sent(exc)
                wait = retry.after_error(
                    method,
                    sent=sent,
                    attempt=attempt,
                    elapsed=clock.monotonic() - start,
                    idempotent=idempotent,
                )
                reason = f"{type(exc).__name__} on {method} {url}"
                if wait is None:
                    raise TransportError(
                        f"{type(exc).__name__}: {exc}", method=method, url=url, sent=sent
                    ) from exc
                self.events.emit("retry", f"retrying after {reason}", method=method, url=url)
                yield from self.wait(wait, reason)
                continue
            status = response.status_code
            if status in _REDIRECTS:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise ResponseError(
                        f"more than {MAX_REDIRECTS} redirects",
                        status=status,
                        method=method,
                        url=url,
                    )
                method, url = self._redirect(response, method, url, signin)
                params = None  # the Location carries the query
                attempt -= 1
                continue
            wait = retry.after_status(
                method,
                status,
                response.headers,
                attempt=attempt,
                elapsed=clock.monotonic() - start,
                now=clock.time(),
                idempotent=idempotent,
            )
            if wait is None:
                response.extensions[ATTEMPTS] = (attempt, clock.monotonic() - start)
                return response
            reason = f"HTTP {status} on {method} {url}"
            self.events.emit(
                "retry", f"retrying after {reason}", method=method, url=url, status=status
            )
            yield from self.wait(wait, reason)
