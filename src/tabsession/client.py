"""`tabsession.Client`: the blocking client. Thin: it performs the effects of the shared flows
(`tabsession._core`) with an `httpx.Client`, `time.sleep` and a synchronous token store."""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from tabsession import testing
from tabsession._base_client import BaseClient
from tabsession._config import DEFAULT_BREAKER, ClientConfig, Default
from tabsession._effects import Effect, Flow, Resolve, Send, Sleep, StoreEffect, drive
from tabsession._events import EventHook
from tabsession._httpx import Client as HttpClient
from tabsession._httpx import Limits, Request, Response, Timeout, TimeoutException
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock
from tabsession.errors import BadRequest, ConfigurationError
from tabsession.pagination import (
    DEFAULT_PAGE_SIZE,
    PageInfo,
    PagePlan,
    Pages,
    later_pages_params,
    read_page,
)
from tabsession.session import SessionInfo
from tabsession.stores.base import TokenStore
from tabsession.stores.memory import MemoryStore
from tabsession.transport.bounds import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_BODY,
    BodyReader,
    closed_client_error,
    request_timeouts,
)
from tabsession.transport.deadline import deadline_scope, deadline_transport
from tabsession.transport.redirects import DEFAULT_REDIRECT_HOSTS
from tabsession.transport.retry import RetryPolicy

__all__ = ["Client"]

T = TypeVar("T")


class Client(BaseClient):
    """A Tableau REST API client whose session never expires on you.

        with tabsession.Client("https://tableau.example.com", auth, site="marketing") as tab:
            for workbook in tab.paginate("workbooks"):
                ...

    Sign-in is lazy (first call). Relative paths are site-scoped with the session's current site
    LUID (`"workbooks"` → `/api/{v}/sites/{luid}/workbooks`); paths starting with `/` are relative
    to `/api/{v}`. Answers are parsed JSON. Thread-safe: share one client between threads.

    Arguments (all but `server` and `auth` keyword-only):
    - `site`: the site's contentUrl ("" = Default site on Tableau Server).
    - `policy`: lifetime assumptions for proactive refresh (default: Cloud preset for
      *.online.tableau.com, Server preset otherwise; see `SessionPolicy`).
    - `store`: where the session lives. Default: a private `MemoryStore`. Share a `FileStore`
      (processes on one host) or `RedisStore` (several hosts) so that workers using the same PAT
      share one session instead of ending each other's.
    - `api_version`: skip negotiation and use this REST API version ("3.23").
    - `retry`: `RetryPolicy` for 429/5xx/transport errors (`RetryPolicy.none()` to disable).
    - `timeout`: seconds for one whole HTTP exchange: connect, send, headers and the full
      body (default 60; connect at most 10). A body trickled byte by byte ends there.
    - `max_body`: the largest answer read, in decoded bytes (default 64 MiB); a larger one
      (or a decompression bomb) raises `ResponseTooLarge` as soon as it crosses the cap.
      Raise it for large downloads (None: no cap, for servers you trust).
    - `redirect_hosts`: hosts a sign-in may be redirected to besides its own (default
      `("online.tableau.com",)`: the host and its subdomains, i.e. Tableau Cloud pods).
    - `page_concurrency`: pages fetched at once by `paginate()` (default 4).
    - `policy`'s default is also corrected by what the client learns: when the server ends
      sessions sooner than assumed, the real lifetime is followed (`tab.session.learned_lifetime`,
      rule R10b); an explicit `policy=` is followed as given.
    - `breaker`: with a PAT, stop fighting another job over it: after 3 sessions died within a
      minute of their sign-in in 10 minutes, calls get `SessionContention` at once and sign-in
      is retried after a growing back-off (see `Breaker`, rule R10); None disables it.
    - `sign_out_on_close`: default True for a private store, False for a shared one (never end a
      session others are using).
    - `clock`, `sleep`: injectable for tests. `on_event(name, fields)`: called for every event.
    - `lock_ttl`: how long the store's sign-in lock outlives a crashed holder. It must exceed
      the longest sign-in (its 20 s retry budget plus `timeout`); default: that plus 10 s, at
      least 90 s. `wait_timeout`: how long to wait for another worker's
      sign-in: the larger of 120 s and `lock_ttl` by default, never less than `lock_ttl`.
    - `failure_cooldown`: seconds during which a refused sign-in is not attempted again.
    - `http_client`: your own `httpx.Client` (redirects are handled by tabsession regardless).
    """

    def __init__(
        self,
        server: str,
        auth: Credential,
        *,
        site: str = "",
        policy: SessionPolicy | None = None,
        store: TokenStore | None = None,
        api_version: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        page_concurrency: int = 4,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        breaker: Breaker | Default | None = DEFAULT_BREAKER,
        on_event: EventHook | None = None,
        sign_out_on_close: bool | None = None,
        lock_ttl: float | None = None,
        wait_timeout: float | None = None,
        failure_cooldown: float = 60.0,
        verify: bool | str = True,
        http_client: HttpClient | None = None,
        max_body: int | None = DEFAULT_MAX_BODY,
        redirect_hosts: Sequence[str] = DEFAULT_REDIRECT_HOSTS,
    ) -> None:
        if store is not None and inspect.iscoroutinefunction(getattr(store, "load", None)):
            raise ConfigurationError(
                "Client needs a synchronous store; use AsyncClient for this one"
            )
        config = ClientConfig.build(
            server,
            auth,
            site=site,
            policy=policy,
            shared_store=store is not None,
            api_version=api_version,
            retry=retry,
            page_concurrency=page_concurrency,
            timeout=timeout,
            clock=clock,
            breaker=breaker,
            sign_out_on_close=sign_out_on_close,
            lock_ttl=lock_ttl,
            wait_timeout=wait_timeout,
            failure_cooldown=failure_cooldown,
            max_body=max_body,
            redirect_hosts=redirect_hosts,
        )
        super().__init__(config, on_event)
        self._store: TokenStore = store if store is not None else MemoryStore(clock=self._clock)
        self._sleep = sleep or time.sleep
        self._own_http = http_client is None
        self._http = http_client or HttpClient(
            timeout=Timeout(timeout, connect=min(10.0, timeout)),
            transport=deadline_transport(
                verify=verify,
                limits=Limits(max_connections=100, max_keepalive_connections=100),
            ),
            follow_redirects=False,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        """A client from TABLEAU_SERVER, TABLEAU_SITE and TABLEAU_PAT_NAME/TABLEAU_PAT_SECRET (or
        TABLEAU_USERNAME/TABLEAU_PASSWORD). Keyword arguments override and add options."""
        server, auth, options = cls._env_arguments(kwargs)
        return cls(server, auth, **options)

    # -- performing effects ----------------------------------------------------------------------

    def _perform(self, effect: Effect) -> Any:
        match effect:
            case Send(request):
                return self._send(request)
            case StoreEffect():
                return effect.call(self._store)
            case Sleep(seconds):
                if not testing.waits_are_instant():
                    self._sleep(seconds)
                return None
            case Resolve(value):
                if inspect.isawaitable(value):
                    close = getattr(value, "close", None)
                    if callable(close):  # never leave a coroutine un-awaited
                        close()
                    raise ConfigurationError("this credential provider is async: use AsyncClient")
                return value

    def _send(self, request: Request) -> Response:
        """One exchange, streamed and bounded (`transport.bounds`): the body is decoded and
        counted here, and the whole exchange has one deadline (real time, not `clock`)."""
        bounds = self._bounds
        deadline = time.monotonic() + bounds.timeout
        request.extensions["timeout"] = request_timeouts(bounds, bounds.timeout)
        if "accept-encoding" not in request.headers:
            request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        reader = BodyReader(bounds, deadline, request)
        with deadline_scope(deadline):  # every socket operation of our own pool ends by then
            try:
                response = self._http.send(request, stream=True, follow_redirects=False)
            except RuntimeError as exc:  # httpx: "the client has been closed"
                raise closed_client_error(request, exc, self._closed) from None
            try:
                reader.start(response)
                if response.is_stream_consumed:  # read by an event hook of your http_client
                    reader.feed_decoded(response.content, time.monotonic())
                else:
                    for raw in response.iter_raw():
                        reader.feed(raw, time.monotonic())
                return reader.finish()
            except TimeoutException:  # the answer began but did not end in time
                raise reader.too_late() from None
            except RuntimeError as exc:  # the connection pool closed under the read
                raise closed_client_error(request, exc, self._closed) from None
            finally:
                response.close()

    def _run(self, flow: Flow[T]) -> T:
        return drive(flow, self._perform)

    # -- calls -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one call and return the raw response (errors raise `tabsession.errors`)."""
        self._check_open()
        return self._run(
            self._core.request_flow(
                method, path, params=params, json_body=json, content=content, headers=headers
            )
        )

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET `path`; the answer as parsed JSON (bytes for downloads, None when empty)."""
        return self._payload(self.request("GET", path, params=params, headers=headers))

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            self.request("POST", path, json=json, content=content, params=params, headers=headers)
        )

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            self.request("PUT", path, json=json, content=content, params=params, headers=headers)
        )

    def patch(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            self.request("PATCH", path, json=json, content=content, params=params, headers=headers)
        )

    def delete(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(self.request("DELETE", path, params=params, headers=headers))

    def paginate(
        self,
        path: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        params: Mapping[str, Any] | None = None,
        concurrency: int | None = None,
        key: str | None = None,
    ) -> Pages[Any]:
        """Every item of every page, in order, streamed.

        Page 1 tells how many items exist (`.total` of the returned iterator, once page 1 is
        read; `.fetch_total()` reads it at once); the other pages are then fetched
        `concurrency` at a time (default: the client's `page_concurrency`), so memory stays
        bounded whatever the total. Listing stops at the first empty or short page, whatever
        the total claimed. `page_size` defaults to the API's maximum, 1000. `params` (filter,
        sort, fields) apply to every page; a session that ends midway is renewed and the same
        page fetched again. `key` picks the collection when an answer holds several.
        """
        self._check_open()
        workers = self._pages(page_size, concurrency)
        base = {**(params or {}), "pageSize": page_size}
        return Pages(lambda first_page: self._paginate(path, base, workers, key, first_page))

    def _page(
        self, path: str, base: Mapping[str, Any], number: int, key: str | None
    ) -> tuple[list[Any], PageInfo | None]:
        return read_page(self.get(path, params={**base, "pageNumber": number}), key)

    def _paginate(
        self,
        path: str,
        base: Mapping[str, Any],
        workers: int,
        key: str | None,
        first_page: Callable[[PageInfo | None], None],
    ) -> Iterator[Any]:
        items, info = self._page(path, base, 1, key)
        first_page(info)
        yield from items
        if info is None:
            return
        plan = PagePlan(info, len(items))
        base = later_pages_params(base, info)
        pending: deque[Future[tuple[list[Any], PageInfo | None]]] = deque()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tabsession-page") as pool:
            try:
                while True:
                    while len(pending) < workers and (number := plan.take()) is not None:
                        pending.append(pool.submit(self._page, path, base, number, key))
                    if not pending:
                        return
                    try:
                        items, info = pending.popleft().result()
                    except BadRequest as exc:
                        if exc.code == "400006":  # fewer pages than announced: content shrank
                            return
                        raise
                    plan.record(info, len(items))
                    yield from items
                    if plan.done:  # an empty or short page: the last, whatever the total said
                        return
            finally:
                for future in pending:
                    future.cancel()

    def server_info(self) -> dict[str, Any]:
        """`serverInfo` (product version, REST API version); needs no sign-in."""
        self._check_open()
        return self._run(self._core.server_info_flow())

    def sign_in(self, *, force: bool = False) -> SessionInfo:
        """Make sure a session exists (sign-in is otherwise lazy); `force` replaces it."""
        self._check_open()
        return self._run(self._core.sign_in_flow(force=force))

    def token(self) -> str:
        """A live session token, signing in if needed. For tools that send their own requests
        with `X-Tableau-Auth`; after a 401 with it, call `renew(token)`. Treat it as a secret."""
        self._check_open()
        return self._run(self._core.token_flow())

    def renew(self, stale_token: str) -> str:
        """The token to use after `stale_token` met a 401: one sign-in for all callers that
        report the same token at once (and for everyone sharing the store); the current token
        at once if the session was already renewed."""
        self._check_open()
        return self._run(self._core.renew_flow(stale_token))

    def sign_out(self) -> bool:
        """End the session now (best effort: never raises). With a shared store this ends the
        session for everyone sharing it."""
        return self._run(self._core.sign_out_flow())

    def switch_site(self, content_url: str) -> SessionInfo:
        """Tableau Server only: move to another site; relative paths follow the new site."""
        self._check_open()
        return self._run(self._core.switch_site_flow(content_url))

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Sign out if `sign_out_on_close` (best effort), then release connections."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._sign_out_on_close:
                self._run(self._core.sign_out_flow())
        finally:
            if self._own_http:
                self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
