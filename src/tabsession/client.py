"""`tabsession.Client`: the blocking client. Thin: it performs the effects of the shared flows
(`tabsession._core`) with an `httpx.Client`, `time.sleep` and a synchronous token store."""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from tabsession import testing
from tabsession._base_client import DEFAULT_BREAKER, BaseClient
from tabsession._effects import Effect, Flow, Resolve, Send, Sleep, StoreOp
from tabsession._events import EventHook
from tabsession._httpx import Client as HttpClient
from tabsession._httpx import Limits, Response, Timeout
from tabsession.auth.credentials import Credential
from tabsession.auth.manager import Breaker
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock
from tabsession.errors import BadRequest, ConfigurationError
from tabsession.pagination import PageInfo, last_page, later_pages_params, read_page
from tabsession.session import SessionInfo
from tabsession.stores.base import TokenStore
from tabsession.stores.memory import MemoryStore
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
    - `timeout`: seconds per HTTP request (default 60; connect 10).
    - `page_concurrency`: pages fetched at once by `paginate()` (default 4).
    - `breaker`: stop with `SessionContention` after too many sign-ins (default 3 in 10 minutes,
      PATs only); None disables it.
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
        breaker: Breaker | None = DEFAULT_BREAKER,
        on_event: EventHook | None = None,
        sign_out_on_close: bool | None = None,
        lock_ttl: float | None = None,
        wait_timeout: float | None = None,
        failure_cooldown: float = 60.0,
        verify: bool | str = True,
        http_client: HttpClient | None = None,
    ) -> None:
        if store is not None and inspect.iscoroutinefunction(getattr(store, "load", None)):
            raise ConfigurationError(
                "Client needs a synchronous store; use AsyncClient for this one"
            )
        super().__init__(
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
            on_event=on_event,
            sign_out_on_close=sign_out_on_close,
            lock_ttl=lock_ttl,
            wait_timeout=wait_timeout,
            failure_cooldown=failure_cooldown,
        )
        self._store: TokenStore = store if store is not None else MemoryStore(clock=self._clock)
        self._sleep = sleep or time.sleep
        self._own_http = http_client is None
        self._http = http_client or HttpClient(
            timeout=Timeout(timeout, connect=min(10.0, timeout)),
            limits=Limits(max_connections=100, max_keepalive_connections=100),
            verify=verify,
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
                return self._http.send(request, follow_redirects=False)
            case StoreOp(name, args):
                return getattr(self._store, name)(*args)
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

    def _run(self, flow: Flow[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                value, error = self._perform(effect), None
            except BaseException as exc:  # handed to the flow, which re-raises what it can't use
                value, error = None, exc

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
        page_size: int = 100,
        params: Mapping[str, Any] | None = None,
        concurrency: int | None = None,
        key: str | None = None,
    ) -> Iterator[Any]:
        """Every item of every page, in order, streamed.

        Page 1 tells how many items exist; the other pages are then fetched `concurrency` at a
        time (default: the client's `page_concurrency`), so memory stays bounded whatever the
        total. `params` (filter, sort, fields) apply to every page; a session that ends midway
        is renewed and the same page fetched again. `key` picks the collection when an answer
        holds several.
        """
        self._check_open()
        workers = self._pages(page_size, concurrency)
        base = {**(params or {}), "pageSize": page_size}
        return self._paginate(path, base, workers, key)

    def _page(
        self, path: str, base: Mapping[str, Any], number: int, key: str | None
    ) -> tuple[list[Any], PageInfo | None]:
        return read_page(self.get(path, params={**base, "pageNumber": number}), key)

    def _paginate(
        self, path: str, base: Mapping[str, Any], workers: int, key: str | None
    ) -> Iterator[Any]:
        items, info = self._page(path, base, 1, key)
        yield from items
        if info is None:
            return
        base = later_pages_params(base, info)
        last, next_page = last_page(info), 2
        pending: deque[Future[tuple[list[Any], PageInfo | None]]] = deque()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tabsession-page") as pool:
            try:
                while pending or next_page <= last:
                    while next_page <= last and len(pending) < workers:
                        pending.append(pool.submit(self._page, path, base, next_page, key))
                        next_page += 1
                    try:
                        items, info = pending.popleft().result()
                    except BadRequest as exc:
                        if exc.code == "400006":  # fewer pages than announced: content shrank
                            return
                        raise
                    if info is not None:
                        last = max(last, last_page(info))  # content grew: fetch the new pages too
                    yield from items
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
