"""`tabsession.AsyncClient`: the asyncio twin of `Client`, with the same surface and behaviour.
Thin: it performs the shared flows' effects with `httpx.AsyncClient`, `asyncio.sleep` and an
asyncio token store (a synchronous store is run in worker threads)."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

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
    drive_async,
)
from tabsession._events import EventHook
from tabsession._httpx import AsyncClient as HttpAsyncClient
from tabsession._httpx import Limits, Request, Response, Timeout, TimeoutException
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock
from tabsession.errors import BadRequest
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
    AsyncPages,
    PageInfo,
    PagePlan,
    later_pages_params,
    read_page,
)
from tabsession.session import SessionInfo
from tabsession.stores._threaded import ThreadedAsyncStore
from tabsession.stores.base import AsyncTokenStore, TokenStore
from tabsession.stores.memory import AsyncMemoryStore
from tabsession.transport.bounds import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_BODY,
    BodyReader,
    closed_client_error,
    request_timeouts,
)
from tabsession.transport.deadline import async_deadline_transport, deadline_scope
from tabsession.transport.redirects import DEFAULT_REDIRECT_HOSTS
from tabsession.transport.retry import RetryPolicy

__all__ = ["AsyncClient"]

T = TypeVar("T")
_WRITE_BATCH = 1024 * 1024


class AsyncClient(BaseClient):
    """The asyncio twin of `tabsession.Client`: same arguments, same methods, awaitable.

        async with tabsession.AsyncClient(server, auth, site="marketing") as tab:
            async for workbook in tab.paginate("workbooks"):
                ...

    Safe for any number of tasks on one event loop. `store` may be an async store
    (`AsyncMemoryStore` by default, `AsyncFileStore`, `AsyncRedisStore`) or a synchronous one,
    which is then called from worker threads (so a `MemoryStore` can be shared with a `Client`).
    `sleep` is an async callable; a credential's provider may be async.
    """

    def __init__(
        self,
        server: str,
        auth: Credential,
        *,
        site: str = "",
        policy: SessionPolicy | None = None,
        store: AsyncTokenStore | TokenStore | None = None,
        api_version: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        page_concurrency: int = 4,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        breaker: Breaker | Default | None = DEFAULT_BREAKER,
        on_event: EventHook | None = None,
        sign_out_on_close: bool | None = None,
        lock_ttl: float | None = None,
        wait_timeout: float | None = None,
        failure_cooldown: float = 60.0,
        verify: bool | str = True,
        http_client: HttpAsyncClient | None = None,
        max_body: int | None = DEFAULT_MAX_BODY,
        redirect_hosts: Sequence[str] = DEFAULT_REDIRECT_HOSTS,
    ) -> None:
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
        self._store: AsyncTokenStore
        if store is None:
            self._store = AsyncMemoryStore(clock=self._clock)
        elif inspect.iscoroutinefunction(getattr(store, "load", None)):
            self._store = store  # type: ignore[assignment]
        else:
            self._store = ThreadedAsyncStore(cast(TokenStore, store))
        self._sleep = sleep or asyncio.sleep
        self._own_http = http_client is None
        self._http = http_client or HttpAsyncClient(
            timeout=Timeout(timeout, connect=min(10.0, timeout)),
            transport=async_deadline_transport(
                verify=verify,
                limits=Limits(max_connections=100, max_keepalive_connections=100),
            ),
            follow_redirects=False,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncClient:
        """Like `Client.from_env`."""
        server, auth, options = cls._env_arguments(kwargs)
        return cls(server, auth, **options)

    # -- performing effects ----------------------------------------------------------------------

    async def _perform(self, effect: Effect) -> Any:
        match effect:
            case Send(request):
                return await self._send(request)
            case SendTo(request, sink):
                return await self._send_to(request, sink)
            case StoreEffect():
                return await effect.call(self._store)
            case FileOp():
                return await asyncio.to_thread(effect.run)
            case Sleep(seconds):
                if not testing.waits_are_instant():
                    await self._sleep(seconds)
                return None
            case Resolve(value):
                return (await value) if inspect.isawaitable(value) else value

    async def _send_to(self, request: Request, sink: FileSink) -> Response:
        """Like `Client._send_to`; the file is written from a worker thread, about 1 MiB at a
        time, so the event loop never waits on the disk."""
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            if not 200 <= response.status_code < 300:
                body = BoundedBody()
                async for chunk in response.aiter_bytes():
                    if not body.add(chunk):
                        break
                return error_response(response, body.bytes())
            writer = await asyncio.to_thread(sink.open, response)
            try:
                batch: list[bytes] = []
                held = 0
                chunks = response.aiter_bytes() if sink.encoded(response) else response.aiter_raw()
                async for chunk in chunks:
                    batch.append(chunk)
                    held += len(chunk)
                    if held >= _WRITE_BATCH:
                        await asyncio.to_thread(writer.write, b"".join(batch))
                        batch, held = [], 0
                if batch:
                    await asyncio.to_thread(writer.write, b"".join(batch))
            except BaseException:
                writer.abort()
                raise
            writer.finish()
            return response
        finally:
            await response.aclose()

    async def _send(self, request: Request) -> Response:
        """One exchange, streamed and bounded (`transport.bounds`): the body is decoded and
        counted here, and the whole exchange has one deadline (real time, not `clock`)."""
        bounds = self._bounds
        deadline = time.monotonic() + bounds.timeout
        request.extensions["timeout"] = request_timeouts(bounds, bounds.timeout)
        if "accept-encoding" not in request.headers:
            request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        reader = BodyReader(bounds, deadline, request)
        with deadline_scope(deadline):  # every socket operation of our own pool ends by then
            return await self._exchange(request, reader)

    async def _exchange(self, request: Request, reader: BodyReader) -> Response:
        try:
            response = await self._http.send(request, stream=True, follow_redirects=False)
        except RuntimeError as exc:  # httpx: "the client has been closed"
            raise closed_client_error(request, exc, self._closed) from None
        try:
            reader.start(response)
            if response.is_stream_consumed:  # read by an event hook of your http_client
                reader.feed_decoded(response.content, time.monotonic())
            else:
                async for raw in response.aiter_raw():
                    reader.feed(raw, time.monotonic())
            return reader.finish()
        except TimeoutException:  # the answer began but did not end in time
            raise reader.too_late() from None
        except RuntimeError as exc:  # the connection pool closed under the read
            raise closed_client_error(request, exc, self._closed) from None
        finally:
            await response.aclose()

    async def _run(self, flow: Flow[T]) -> T:
        return await drive_async(flow, self._perform)

    # -- calls -----------------------------------------------------------------------------------

    async def request(
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
        return await self._run(
            self._core.request_flow(
                method, path, params=params, json_body=json, content=content, headers=headers
            )
        )

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(await self.request("GET", path, params=params, headers=headers))

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            await self.request(
                "POST", path, json=json, content=content, params=params, headers=headers
            )
        )

    async def put(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            await self.request(
                "PUT", path, json=json, content=content, params=params, headers=headers
            )
        )

    async def patch(
        self,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(
            await self.request(
                "PATCH", path, json=json, content=content, params=params, headers=headers
            )
        )

    async def delete(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._payload(await self.request("DELETE", path, params=params, headers=headers))

    def paginate(
        self,
        path: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        params: Mapping[str, Any] | None = None,
        concurrency: int | None = None,
        key: str | None = None,
    ) -> AsyncPages[Any]:
        """Like `Client.paginate`, as an async iterator (`async for item in tab.paginate(...)`),
        with `.total` once page 1 is read and `await .fetch_total()`.

        Pages already being fetched when you leave the loop early are cancelled when the
        iterator is closed: `await pages.aclose()` (or `contextlib.aclosing(...)`) does it at once.
        """
        self._check_open()
        workers = self._pages(page_size, concurrency)
        base = {**(params or {}), "pageSize": page_size}
        return AsyncPages(lambda first_page: self._paginate(path, base, workers, key, first_page))

    async def _page(
        self, path: str, base: Mapping[str, Any], number: int, key: str | None
    ) -> tuple[list[Any], PageInfo | None]:
        return read_page(await self.get(path, params={**base, "pageNumber": number}), key)

    async def _paginate(
        self,
        path: str,
        base: Mapping[str, Any],
        workers: int,
        key: str | None,
        first_page: Callable[[PageInfo | None], None],
    ) -> AsyncIterator[Any]:
        items, info = await self._page(path, base, 1, key)
        first_page(info)
        for item in items:
            yield item
        if info is None:
            return
        plan = PagePlan(info, len(items))
        base = later_pages_params(base, info)
        pending: deque[asyncio.Task[tuple[list[Any], PageInfo | None]]] = deque()
        try:
            while True:
                while len(pending) < workers and (number := plan.take()) is not None:
                    pending.append(asyncio.ensure_future(self._page(path, base, number, key)))
                if not pending:
                    return
                try:
                    items, info = await pending.popleft()
                except BadRequest as exc:
                    if exc.code == "400006":
                        return
                    raise
                plan.record(info, len(items))
                for item in items:
                    yield item
                if plan.done:  # an empty or short page: the last, whatever the total said
                    return
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    # -- long operations (tabsession.operations) ------------------------------------------------

    async def publish_workbook(
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
        """Like `Client.publish_workbook`."""
        return await self._publish(
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

    async def publish_datasource(
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
        """Like `Client.publish_datasource`."""
        return await self._publish(
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

    async def _publish(
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
        return await self._run(publish_flow(self._core, spec))

    async def download(
        self, path: str, dest: str | os.PathLike[str], *, on_progress: Progress | None = None
    ) -> str:
        """Like `Client.download`."""
        self._check_open()
        return await self._run(download_flow(self._core, path, dest, on_progress))

    async def download_workbook(
        self,
        workbook_id: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
    ) -> str:
        return await self.download(
            f"workbooks/{workbook_id}/content", dest, on_progress=on_progress
        )

    async def download_datasource(
        self,
        datasource_id: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
    ) -> str:
        return await self.download(
            f"datasources/{datasource_id}/content", dest, on_progress=on_progress
        )

    async def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """Like `Client.wait_for_job`."""
        self._check_open()
        return await self._run(
            wait_flow(self._core, job_id, timeout=timeout, on_progress=on_progress)
        )

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Like `Client.graphql`."""
        self._check_open()
        return (await self._run(graphql_flow(self._core, query, variables))).data

    def graphql_paginate(
        self,
        query: str,
        *,
        connection: str,
        variables: Mapping[str, Any] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Any]:
        """Like `Client.graphql_paginate`, as an async iterator."""
        self._check_open()
        pager = CursorPager(connection, page_size, variables)
        return self._graphql_pages(query, pager)

    async def _graphql_pages(self, query: str, pager: CursorPager) -> AsyncIterator[Any]:
        while not pager.done:
            answer = await self._run(graphql_flow(self._core, query, pager.variables()))
            nodes = pager.take(answer)
            if nodes is not None:
                for node in nodes:
                    yield node

    async def server_info(self) -> dict[str, Any]:
        self._check_open()
        return await self._run(self._core.server_info_flow())

    async def sign_in(self, *, force: bool = False) -> SessionInfo:
        self._check_open()
        return await self._run(self._core.sign_in_flow(force=force))

    async def token(self) -> str:
        """A live session token, signing in if needed. For tools that send their own requests
        with `X-Tableau-Auth`; after a 401 with it, call `renew(token)`. Treat it as a secret."""
        self._check_open()
        return await self._run(self._core.token_flow())

    async def renew(self, stale_token: str) -> str:
        """The token to use after `stale_token` met a 401: one sign-in for all callers that
        report the same token at once (and for everyone sharing the store); the current token
        at once if the session was already renewed."""
        self._check_open()
        return await self._run(self._core.renew_flow(stale_token))

    async def sign_out(self) -> bool:
        return await self._run(self._core.sign_out_flow())

    async def switch_site(self, content_url: str) -> SessionInfo:
        self._check_open()
        return await self._run(self._core.switch_site_flow(content_url))

    # -- lifecycle -------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._sign_out_on_close:
                await self._run(self._core.sign_out_flow())
        finally:
            if self._own_http:
                await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
