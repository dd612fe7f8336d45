"""Run the emulator: in a background thread (`Emulator`, for tests and demos) or in the
foreground (`serve`, for the command line). Both bind 127.0.0.1 by default, on a free port
unless told otherwise."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

import uvicorn

from tabsession._serving import BackgroundServer, bind_socket, socket_url
from tabsession.clock import AdvanceableClock
from tabsession.emulator.config import EmulatorConfig
from tabsession.emulator.faults import FaultRule
from tabsession.emulator.http.app import EmulatorApp
from tabsession.emulator.state.world import EmulatorState

__all__ = ["Emulator", "bind_socket", "serve"]

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL before another may take it, in `serve()`'s process."""


class _Server(uvicorn.Server):
    """uvicorn's server, noticing `should_exit` within 10 ms instead of 100 ms: test suites start
    and stop many emulators, and each stop used to cost a full tick."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            for _ in range(10):
                await asyncio.sleep(0.01)
                if self.should_exit:
                    break
            counter = (counter + 1) % 864000
            should_exit = await self.on_tick(counter)


def _uvicorn_config(app: EmulatorApp, sock: socket.socket, log_level: str) -> uvicorn.Config:
    host, port = sock.getsockname()[:2]
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


class Emulator:
    """A Tableau Server (or Cloud) emulator on a background thread.

        with Emulator(mode="cloud", session_lifetime=90) as emu:
            emu.url           # http://127.0.0.1:PORT
            emu.stats()       # {"signins": ..., "status_counts": {...}, ...}
            emu.advance(120)  # move the emulated clock: sessions expire
            emu.expire_sessions()

    Pass an `EmulatorConfig`, or its fields as keywords (or both: keywords override). Give a
    shared `clock` (e.g. `tabsession.clock.ManualClock()`) to a client and the emulator to make
    both see the same time. The server stops on `stop()`, on leaving the `with` block, or with
    the process (daemon thread).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: AdvanceableClock | None = None,
        log_level: str = "warning",
        **fields: Any,
    ) -> None:
        base = config or EmulatorConfig()
        self.config = replace(base, **fields) if fields else base
        self.state = EmulatorState(self.config, clock)
        self._host, self._port, self._log_level = host, port, log_level
        self._running: BackgroundServer | None = None
        self._url: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._running is not None:
            return self
        app = EmulatorApp(self.state)
        self._running = BackgroundServer.start(
            lambda sock: _Server(_uvicorn_config(app, sock, self._log_level)),
            self._host,
            self._port,
            name="tabsession-emulator",
        )
        self._url = self._running.url()
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the running server (`http://127.0.0.1:PORT`)."""
        if self._url is None:
            raise RuntimeError("the emulator is not running: call start() or use `with`")
        return self._url

    # -- control (in-process twins of /_emulator/...) -------------------------------------------

    def stats(self) -> dict[str, Any]:
        return self.state.stats_snapshot()

    def expire_sessions(self) -> int:
        return self.state.auth.expire_all()

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    def reset(self) -> None:
        self.state.reset()

    def set_faults(
        self,
        rules: Iterable[FaultRule | Mapping[str, Any]] = (),
        *,
        latency_ms: float | None = None,
        append: bool = False,
    ) -> None:
        parsed = [r if isinstance(r, FaultRule) else FaultRule.from_dict(dict(r)) for r in rules]
        self.state.faults.configure(rules=parsed, latency_ms=latency_ms, append=append)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def revoke_pat(self, name: str) -> None:
        if not self.state.auth.revoke_pat(name):
            raise KeyError(f"no PAT named {name!r}")

    def site_id(self, content_url: str = "") -> str:
        """The LUID of a site, by contentUrl (`""`: the Default site)."""
        site = self.state.site_by_url(content_url)
        if site is None:
            raise KeyError(f"no site with contentUrl {content_url!r}")
        return site.id

    def __repr__(self) -> str:
        where = self._url or "not running"
        return f"Emulator(mode={self.config.mode!r}, {where})"


def serve(
    config: EmulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    exit_after: float | None = None,
    on_ready: Callable[[str, EmulatorState], None] | None = None,
) -> None:
    """Run in the foreground until interrupted, or until `exit_after` seconds have passed.

    Binds `host:port` (port 0: any free port) before calling `on_ready(url, state)`, so the URL
    it gets is final and connections made from then on wait for the server instead of failing.
    """
    sock = bind_socket(host, port)
    # The event loop (accepting, serverinfo, the control plane's replies) shares the GIL with
    # handler threads that may render 1000-item pages: a 1 ms switch interval (Python's
    # default is 5 ms) lets it in sooner, so quick answers stay quick under load. This is a
    # process-wide setting, which is why only the command line's own process makes it.
    sys.setswitchinterval(SWITCH_INTERVAL)
    state = EmulatorState(config, freeze_after_seeding=True)
    server = _Server(_uvicorn_config(EmulatorApp(state), sock, log_level))
    if on_ready is not None:
        on_ready(socket_url(sock), state)
    timer: threading.Timer | None = None
    if exit_after is not None:
        timer = threading.Timer(exit_after, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    try:
        server.run(sockets=[sock])
    finally:
        if timer is not None:
            timer.cancel()
        sock.close()
