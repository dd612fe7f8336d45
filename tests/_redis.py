"""A throwaway real redis-server for tests (a plain module, not a conftest).

    with running_redis() as server:      # server is the URL (a str) ...
        store = RedisStore(server)
        server.kill()                    # ... with controls: kill / stop / pause / resume

`require_redis()` is what fixtures call first: without a redis-server binary it skips the test
with a loud reason, except under CI (CI=true), where it fails: CI must never skip silently.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = [
    "RedisServer",
    "redis_available",
    "require_redis",
    "running_cluster",
    "running_redis",
]

STARTUP_TIMEOUT = 5.0
STOP_TIMEOUT = 3.0


def redis_server_binary() -> str | None:
    return os.environ.get("TABSESSION_REDIS_SERVER") or shutil.which("redis-server")


def redis_available() -> bool:
    """Whether a redis-server binary can be found (TABSESSION_REDIS_SERVER or PATH)."""
    binary = redis_server_binary()
    return binary is not None and os.access(binary, os.X_OK)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_redis() -> None:
    """Skip (locally) or fail (CI=true) when no redis-server binary is available."""
    if redis_available():
        return
    reason = (
        "REDIS TESTS NOT RUN: no redis-server binary on PATH (install redis-server, or set "
        "TABSESSION_REDIS_SERVER to its path)"
    )
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this is an error, not a skip", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on 127.0.0.1:port (raw RESP, no redis-py needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisServer(str):
    """The URL of a running test server (it *is* the URL string), plus process controls."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str]

    def __new__(cls, port: int, process: subprocess.Popen[bytes], log_path: Path) -> RedisServer:
        server = super().__new__(cls, f"redis://127.0.0.1:{port}/0")
        server.port = port
        server.process = process
        server.log_path = log_path
        return server

    @property
    def url(self) -> str:
        return str(self)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the server (a crash: connections drop, nothing is saved) and reap it."""
        if self.alive:
            self.resume()
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited after a bounded wait."""
        if not self.alive:
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """SIGSTOP: the server accepts connections (kernel backlog) but never answers (a hang)."""
        if self.alive:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.alive:
            os.kill(self.process.pid, signal.SIGCONT)

    def restart(self, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        """Stop the server if it runs, then start it again on the same port (empty: no
        persistence), and wait until it answers PING."""
        self.stop()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + startup_timeout
        while self.alive and time.monotonic() < deadline:
            if ping(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not restart on port {self.port}:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_redis(
    *extra_args: str, startup_timeout: float = STARTUP_TIMEOUT
) -> Iterator[RedisServer]:
    """Start `redis-server` on a free loopback port (no persistence, data dir in a temp dir,
    plus `extra_args`), wait until it answers PING (at most `startup_timeout` s; with
    --requirepass an -NOAUTH error counts as an answer), yield it, then stop it (SIGTERM,
    SIGKILL after a bounded wait)."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("no redis-server binary found")
    with tempfile.TemporaryDirectory(prefix="tabsession-redis-") as data_dir:
        log_path = Path(data_dir) / "redis.log"
        server: RedisServer | None = None
        for _attempt in range(3):  # the free port can be taken between probe and bind
            port = _free_port()
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1"]
            argv += ["--save", "", "--appendonly", "no", "--dir", data_dir, *extra_args]
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            candidate = RedisServer(port, process, log_path)
            candidate.argv = argv
            deadline = time.monotonic() + startup_timeout
            while candidate.alive and time.monotonic() < deadline:
                if ping(port):
                    server = candidate
                    break
                time.sleep(0.02)
            if server is not None:
                break
            candidate.stop()
        if server is None:
            raise RuntimeError(
                f"redis-server did not answer PING within {startup_timeout} s; log:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def running_cluster(nodes: int = 3) -> Iterator[list[RedisServer]]:
    """A Redis Cluster of `nodes` masters on loopback (`--cluster-enabled yes`), slots split by
    `redis-cli --cluster create`. Skips loudly (fails under CI) if one cannot be started."""
    require_redis()
    cli = shutil.which("redis-cli")
    if cli is None:
        _skip_or_fail("REDIS CLUSTER TESTS NOT RUN: no redis-cli binary to create the cluster")
    assert cli is not None
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                running_redis("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
            )
            for _ in range(nodes)
        ]
        for server in servers:  # each node keeps its nodes.conf in its own temp dir
            assert server.alive
        addresses = [f"127.0.0.1:{server.port}" for server in servers]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if created.returncode != 0:
            _skip_or_fail(f"REDIS CLUSTER TESTS NOT RUN: cluster create failed: {created.stdout}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            info = subprocess.run(
                [cli, "-p", str(servers[0].port), "cluster", "info"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if "cluster_state:ok" in info.stdout:
                break
            time.sleep(0.1)
        else:
            _skip_or_fail("REDIS CLUSTER TESTS NOT RUN: the cluster never reached state ok")
        yield servers


def _skip_or_fail(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this is an error, not a skip", pytrace=False)
    pytest.skip(reason)
