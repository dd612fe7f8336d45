"""One uvicorn server on a daemon thread: what the in-process emulator and proxy share.

`BackgroundServer.start()` binds the socket here (port 0: a free one), runs the server on a
daemon thread and returns once it serves (or raises within `START_TIMEOUT`); `stop()` asks it
to finish, then forces it after `STOP_TIMEOUT`. Every server stops by itself with the process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

__all__ = ["START_TIMEOUT", "STOP_TIMEOUT", "BackgroundServer", "bind_socket", "socket_url"]

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket, scheme: str = "http") -> str:
    """The URL a bound socket serves at (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class BackgroundServer:
    """A running server, its thread and its socket."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket):
        self.server, self.thread, self.sock = server, thread, sock

    @classmethod
    def start(
        cls,
        make_server: Callable[[socket.socket], uvicorn.Server],
        host: str,
        port: int,
        *,
        name: str,
    ) -> BackgroundServer:
        sock = bind_socket(host, port)
        server = make_server(sock)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"{name} did not start (see the log above)")
            time.sleep(0.005)
        return cls(server, thread, sock)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def url(self, scheme: str = "http") -> str:
        return socket_url(self.sock, scheme)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(STOP_TIMEOUT)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(STOP_TIMEOUT)
        self.sock.close()
