"""Start the real `tabsession emulator` command in its own process for a benchmark.

    with running_emulator("--seed-items", "10000", "--latency", "20", exit_after=120) as url:
        ...  # url is http://127.0.0.1:PORT

The server listens on a free loopback port (`--port 0`), stops by itself after `exit_after`
seconds even if this process dies, and is terminated (then killed, after a bounded wait) when
the block ends. Its URL is read from the banner it prints, within `startup_timeout` seconds.
Also: small stdlib helpers for the control plane (`/_emulator/...`) and JSON sign-in.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["API_VERSION", "control", "emulator_command", "running_emulator", "sign_in"]

API_VERSION = "3.23"
"""The REST API version a server-mode emulator serves."""
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_URL = re.compile(r"running at (http://127\.0\.0\.1:\d+)")


def emulator_command() -> list[str]:
    """How to run `tabsession` with this interpreter's installation."""
    exe = Path(sys.executable).with_name("tabsession")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from tabsession.cli import main; main()"]


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Read the emulator's stdout until it closes (so its pipe never fills up)."""
    try:
        for line in stream:
            lines.put(line)
    finally:
        lines.put(None)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def running_emulator(
    *args: str, exit_after: float, startup_timeout: float = STARTUP_TIMEOUT
) -> Iterator[str]:
    """`tabsession emulator --port 0 --exit-after <exit_after>s --log-level error *args`; yields
    its URL and stops it when the block ends."""
    with tempfile.TemporaryFile("w+", prefix="tabsession-emulator-") as errors:
        process = subprocess.Popen(
            [*emulator_command(), "emulator", "--port", "0", "--exit-after",
             f"{max(1.0, exit_after):.0f}s", "--log-level", "error", *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"},
        )  # fmt: skip
        try:
            assert process.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
            url = _read_url(lines, startup_timeout)
            if url is None:
                try:  # it closed its stdout (it is ending), or it is still silent
                    code: int | None = process.wait(1)
                except subprocess.TimeoutExpired:
                    code = None
                _stop(process)
                errors.seek(0)
                why = (
                    f"did not print its URL within {startup_timeout:g} s"
                    if code is None
                    else f"exited with code {code} before printing its URL"
                )
                raise RuntimeError(f"the emulator {why}; stderr:\n{errors.read()[-2000:]}")
            yield url
        finally:
            _stop(process)


def _read_url(lines: queue.Queue[str | None], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if line is None:  # the process closed its stdout: it ended
            return None
        found = _URL.search(line)
        if found:
            return found.group(1)


def control(url: str, name: str, body: dict[str, Any] | None = None) -> Any:
    """Call `/_emulator/<name>`: GET without a body, POST with one."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_emulator/{name}",
        data=data,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="GET" if data is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def sign_in(url: str, name: str, password: str, site: str = "") -> tuple[str, str]:
    """A password sign-in by hand: (token, site LUID)."""
    body = {"credentials": {"name": name, "password": password, "site": {"contentUrl": site}}}
    request = urllib.request.Request(
        f"{url}/api/{API_VERSION}/auth/signin",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        creds = json.load(response)["credentials"]
    return str(creds["token"]), str(creds["site"]["id"])
