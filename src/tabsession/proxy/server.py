"""Run a proxy: in a background thread (`Proxy`, for tests, benchmarks and embedding) or in the
foreground (`serve`, for `tabsession proxy`), stopping cleanly on SIGINT and SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import uvicorn

from tabsession._serving import BackgroundServer, bind_socket
from tabsession.proxy.app import ProxyApp
from tabsession.proxy.config import ProxyConfig

__all__ = ["Proxy", "serve"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, ending with exit status 0 after a graceful stop on SIGINT or SIGTERM
    (uvicorn itself raises the signal again once stopped, so the process dies of it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _uvicorn_config(app: ProxyApp, config: ProxyConfig, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,  # uvicorn's would print query strings; ours prints method, path, status
        lifespan="on",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=5,
        ssl_certfile=config.tls_certfile,
        ssl_keyfile=config.tls_keyfile,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-* from clients must not change what the proxy sees
    )


def _url(host: str, port: int, tls: bool) -> str:
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class Proxy:
    """A proxy on a background thread.

        with Proxy(ProxyConfig(emu.url, pat)) as proxy:
            proxy.url        # http://127.0.0.1:PORT (port 0 in the config: a free port)
            proxy.stats()    # the /_tabsession/stats counters

    Stops on `stop()`, on leaving the `with` block, or with the process (daemon thread).
    """

    def __init__(self, config: ProxyConfig, *, log_level: str = "warning") -> None:
        self.config = config
        self.app = ProxyApp(config)
        self._log_level = log_level
        self._running: BackgroundServer | None = None
        self._url: str | None = None

    def start(self) -> Proxy:
        if self._running is not None:
            return self
        self._running = BackgroundServer.start(
            lambda sock: uvicorn.Server(_uvicorn_config(self.app, self.config, self._log_level)),
            self.config.host,
            self.config.port,
            name="tabsession-proxy",
        )
        host, port = self._running.address
        self._url = _url(host, port, self.config.tls)
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the proxy is not running: call start() or use `with`")
        return self._url

    def stats(self) -> dict[str, Any]:
        return self.app.snapshot()

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Proxy({self.config.server!r}, site={self.config.site!r}, {self._url or 'stopped'})"


def serve(
    config: ProxyConfig,
    *,
    log_level: str = "info",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run in the foreground until SIGINT or SIGTERM (uvicorn's handlers: requests in flight
    finish, then the upstream client closes). `on_ready(url)` runs once the port is bound."""
    sock = bind_socket(config.host, config.port)
    host, port = sock.getsockname()[:2]
    app = ProxyApp(config)
    server = _Server(_uvicorn_config(app, config, log_level))
    if on_ready is not None:
        on_ready(_url(host, port, config.tls))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
