"""`tabsession.Client`: the blocking client. Thin: it performs the effects of the shared flows
(`tabsession._core`) with an `httpx.Client`, `time.sleep` and a synchronous token store."""

from __future__ import annotations

import inspect
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from tabsession import testing
from tabsession._base_client import BaseClient
from tabsession._config import DEFAULT_BREAKER, ClientConfig, Default
from tabsession._effects import (
    Effect,
    FileOp,
    Flow,
    Resolve,
    Send,
    SendTo,
    Sleep,
    StoreEffect,
    drive,
)
from tabsession._events import EventHook
from tabsession._httpx import Client as HttpClient
from tabsession._httpx import Limits, Request, Response, Timeout, TimeoutException
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock
from tabsession.errors import BadRequest, ConfigurationError
from tabsession.operations.download import download_flow
from tabsession.operations.graphql import CursorPager, graphql_flow
from tabsession.operations.jobs import JobProgress, wait_flow
from tabsession.operations.publish import (
    DEFAULT_CHUNK_SIZE,
    SINGLE_REQUEST_LIMIT,
    Kind,
    PublishSpec,
    publish_flow,
)
from tabsession.operations.sink import BoundedBody, FileSink, Progress, error_response
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
            case SendTo(request, sink):
                return self._send_to(request, sink)
            case StoreEffect():
                return effect.call(self._store)
            case FileOp():
                return effect.run()
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

    def _send_to(self, request: Request, sink: FileSink) -> Response:
        """A 2xx body streamed into `sink` (the body cap does not apply); others read, bounded."""
        response = self._http.send(request, stream=True, follow_redirects=False)
        try:
            if not 200 <= response.status_code < 300:
                body = BoundedBody()
                for chunk in response.iter_bytes():
                    if not body.add(chunk):
                        break
                return error_response(response, body.bytes())
            writer = sink.open(response)
            chunks = response.iter_bytes() if sink.encoded(response) else response.iter_raw()
            try:
                for chunk in chunks:
                    writer.write(chunk)
            except BaseException:
                writer.abort()
                raise
            writer.finish()
            return response
        finally:
            response.close()

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

    # -- long operations (tabsession.operations) ------------------------------------------------

    def publish_workbook(
        self,
        file: str | os.PathLike[str],
        *,
        project_id: str,
        name: str | None = None,
        mode: str = "CreateNew",
        as_job: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunked_above: int = SINGLE_REQUEST_LIMIT,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Publish a `.twb`/`.twbx` into the project `project_id`; the new workbook (parsed
        JSON), or its publish job with `as_job=True` (see `wait_for_job`).

        `name` defaults to the file's name without extension. `mode`: "CreateNew" (a 409 if the
        name exists) or "Overwrite". Files up to `chunked_above` bytes (default and maximum:
        Tableau's 64 MB) go in one request, larger ones in `chunk_size` blocks (default 8 MiB;
        memory holds one block). Sessions that end during the upload are renewed and the upload
        goes on; an upload Tableau lost, or a block whose append failed ambiguously, restarts
        the upload from the first block (never appending a block twice). `on_progress(done,
        total)` gets bytes sent. Other keyword arguments become attributes of the request's
        `workbook` element (`showTabs=True`, `description="..."`).
        """
        return self._publish(
            "workbooks",
            file,
            project_id,
            name,
            mode,
            as_job,
            chunk_size,
            chunked_above,
            on_progress,
            options,
        )

    def publish_datasource(
        self,
        file: str | os.PathLike[str],
        *,
        project_id: str,
        name: str | None = None,
        mode: str = "CreateNew",
        as_job: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunked_above: int = SINGLE_REQUEST_LIMIT,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Publish a `.tds`/`.tdsx`/`.tde`/`.hyper`, as `publish_workbook` does; `mode` may also
        be "Append" (add an extract's rows to the existing data source)."""
        return self._publish(
            "datasources",
            file,
            project_id,
            name,
            mode,
            as_job,
            chunk_size,
            chunked_above,
            on_progress,
            options,
        )

    def _publish(
        self,
        kind: Kind,
        file: str | os.PathLike[str],
        project_id: str,
        name: str | None,
        mode: str,
        as_job: bool,
        chunk_size: int,
        chunked_above: int,
        on_progress: Progress | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        self._check_open()
        spec = PublishSpec.build(
            kind,
            file,
            project_id=project_id,
            name=name,
            mode=mode,
            as_job=as_job,
            chunk_size=chunk_size,
            chunked_above=chunked_above,
            on_progress=on_progress,
            attributes=options,
        )
        return self._run(publish_flow(self._core, spec))

    def download(
        self, path: str, dest: str | os.PathLike[str], *, on_progress: Progress | None = None
    ) -> str:
        """GET `path` (e.g. `"workbooks/<id>/content"`) into the file `dest`, streamed: memory
        stays flat and the body cap does not apply. The bytes go to a temporary file beside
        `dest`, renamed onto it once complete; a session that ends or a connection that drops
        means a fresh download. `dest` may be an existing directory: the file then keeps the
        name the server gives it. `on_progress(done, total)` gets bytes received. Returns the
        file's path."""
        self._check_open()
        return self._run(download_flow(self._core, path, dest, on_progress))

    def download_workbook(
        self,
        workbook_id: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
    ) -> str:
        """The workbook's file (`.twb`/`.twbx`) into `dest`; see `download`."""
        return self.download(f"workbooks/{workbook_id}/content", dest, on_progress=on_progress)

    def download_datasource(
        self,
        datasource_id: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
    ) -> str:
        """The data source's file into `dest`; see `download`."""
        return self.download(f"datasources/{datasource_id}/content", dest, on_progress=on_progress)

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """Poll `jobs/{job_id}` until the job ends; the finished job (parsed JSON).

        Polls start 1 s apart and slow down to every 30 s; expired sessions are renewed; 429s
        are waited out (Retry-After, or the "retry after N minutes" in Tableau's answer).
        Raises `JobFailed` or `JobCancelled` (with the job's `notes`), or `JobTimeout` after
        `timeout` seconds (default: no limit). `on_progress(job)` sees every poll's answer.
        """
        self._check_open()
        return self._run(wait_flow(self._core, job_id, timeout=timeout, on_progress=on_progress))

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run a Metadata API query; its `data`. Errors raise `GraphQLError` (Tableau's
        messages in `.errors`); RATE_EXCEEDED is waited out; expired sessions are renewed."""
        self._check_open()
        return self._run(graphql_flow(self._core, query, variables)).data

    def graphql_paginate(
        self,
        query: str,
        *,
        connection: str,
        variables: Mapping[str, Any] | None = None,
        page_size: int = 100,
    ) -> Iterator[Any]:
        """Every node of a Metadata API connection, page by page over `first`/`after`.

        The query takes `$first: Int` and `$after: String`, passes them to the connection
        named `connection` (e.g. `"workbooksConnection"`), and selects its `nodes`,
        `pageInfo { hasNextPage endCursor }` and `totalCount`. A page cut by Tableau's node
        limit is asked again at half the size; a total that does not match `totalCount` warns
        (`MetadataTruncated`)."""
        self._check_open()
        pager = CursorPager(connection, page_size, variables)
        return self._graphql_pages(query, pager)

    def _graphql_pages(self, query: str, pager: CursorPager) -> Iterator[Any]:
        while not pager.done:
            answer = self._run(graphql_flow(self._core, query, pager.variables()))
            nodes = pager.take(answer)
            if nodes is not None:
                yield from nodes

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
