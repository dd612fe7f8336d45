"""How many authenticated GETs per second the emulator serves.

The emulator runs as the real command (`tabsession emulator --port 0 --exit-after ...`) in its own
process; the load comes from another process (so client and server do not share a GIL): a few
keep-alive connections driven by a minimal asyncio HTTP/1.1 client, lean enough that the client
is not what is measured. Each scenario runs for a fixed time after a short warm-up and counts
only complete 200 answers; any other answer fails the run.

    python -m benchmarks.emulator_throughput          # ~5 s per scenario
    python -m benchmarks.emulator_throughput --quick  # ~1.5 s per scenario
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from typing import Any

from benchmarks._emulator import API_VERSION, running_emulator, sign_in
from benchmarks._report import main

__all__ = ["run"]

CONNECTIONS = 4
SEED_ITEMS = 1000


async def _connection(
    port: int, request: bytes, deadline: float, warmup_end: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"unexpected status {status}: {head[:200]!r}")
            if now >= warmup_end:
                counts[0] += 1
    finally:
        writer.close()


async def _drive(port: int, request: bytes, seconds: float, warmup: float) -> float:
    start = time.perf_counter()
    warmup_end, deadline = start + warmup, start + warmup + seconds
    counts = [0]
    await asyncio.gather(
        *(_connection(port, request, deadline, warmup_end, counts) for _ in range(CONNECTIONS))
    )
    return counts[0] / seconds


def _client(port: int, request: bytes, seconds: float, warmup: float, out: Any) -> None:
    """Runs in its own process."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        out.put(("ok", asyncio.run(_drive(port, request, seconds, warmup))))
    except Exception as exc:  # reported to the parent, which raises
        out.put(("error", repr(exc)))


def _measure(port: int, request: bytes, seconds: float, warmup: float) -> float:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_client, args=(port, request, seconds, warmup, results))
    process.start()
    kind, value = results.get(timeout=seconds + warmup + 60)
    process.join(30)
    if kind != "ok":
        raise RuntimeError(f"the load client failed: {value}")
    return float(value)


def _request(path: str, token: str | None, accept: str = "*/*") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", f"Accept: {accept}"]
    if token is not None:
        lines.append(f"X-Tableau-Auth: {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def run(quick: bool = False) -> list[dict[str, object]]:
    """Measure each scenario; rows of name, value (requests per second), unit and notes."""
    seconds, warmup = (1.5, 0.3) if quick else (5.0, 0.5)
    scenarios = 4
    exit_after = scenarios * (seconds + warmup + 20) + 30
    with running_emulator("--seed-items", str(SEED_ITEMS), exit_after=exit_after) as base:
        port = int(base.rsplit(":", 1)[1])
        token, site = sign_in(base, "admin", "admin")
        api = f"/api/{API_VERSION}"
        cases = [
            ("GET serverinfo (no auth)", _request(f"{api}/serverinfo", None)),
            ("GET sessions/current", _request(f"{api}/sessions/current", token)),
            (
                "GET workbooks?pageSize=100 (XML)",
                _request(f"{api}/sites/{site}/workbooks?pageSize=100", token),
            ),
            (
                "GET workbooks?pageSize=100 (JSON)",
                _request(f"{api}/sites/{site}/workbooks?pageSize=100", token, "application/json"),
            ),
        ]
        notes = (
            f"{CONNECTIONS} keep-alive connections from a separate process, {seconds:g} s after "
            f"{warmup:g} s warm-up; {os.cpu_count()} CPUs; {SEED_ITEMS} workbooks on the site"
        )
        rows: list[dict[str, object]] = []
        for name, request in cases:
            rate = _measure(port, request, seconds, warmup)
            rows.append(
                {"name": f"emulator {name}", "value": round(rate), "unit": "req/s", "notes": notes}
            )
        return rows


if __name__ == "__main__":
    main(run)
