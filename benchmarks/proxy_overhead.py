"""The proxy against direct calls on loopback: per-call time, and proxied GETs a second.

DESIGN.md / issue 13 goals: a call through the proxy takes at most 1.5x the direct call's time,
and the proxy serves at least 1,000 GETs a second on this 2-core machine.

The emulator and the proxy each run as the real command in their own process (`tabsession
emulator`, `tabsession proxy --store memory`); the client is this process. Direct calls use a
password session of their own (`bench:benchpw`); proxied calls sign in to the proxy with the PAT
it holds. For `GET /api/{v}/sites/{luid}/projects`, rounds of N direct calls alternate with
rounds of N proxied calls on one keep-alive `httpx.Client` each; each side's value is the median
over its rounds of the mean µs per call, and the ratio is proxied / direct.

Throughput: C threads, each with its own keep-alive client and local token, send GETs through
the proxy for a fixed number of calls; the figure is calls / wall seconds (median of rounds),
next to the same load sent direct to the emulator. The emulator's own cost is in both.

    python -m benchmarks.proxy_overhead [--quick]
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchmarks._emulator import (
    API_VERSION,
    _pump,
    _stop,
    emulator_command,
    running_emulator,
    sign_in,
)
from benchmarks._report import main, median, progress

__all__ = ["run"]

PAT_NAME, PAT_SECRET = "bench-pat", "bench-pat-secret"
RAW_USER, RAW_PASSWORD = "bench", "benchpw"
GOAL_RATIO = 1.5
GOAL_RATE = 1000.0
WARMUP_CALLS = 100
STARTUP_TIMEOUT = 30.0
_URL = re.compile(r"tabsession proxy: (http://127\.0\.0\.1:\d+)")

Row = dict[str, object]


@contextlib.contextmanager
def running_proxy(upstream: str) -> Iterator[tuple[str, int]]:
    """`tabsession proxy --port 0 --store memory --log-level warning` in front of `upstream`:
    yields its URL and process id."""
    env = {
        **os.environ,
        "TABLEAU_SERVER": upstream,
        "TABLEAU_SITE": "",
        "TABLEAU_PAT_NAME": PAT_NAME,
        "TABLEAU_PAT_SECRET": PAT_SECRET,
        "NO_COLOR": "1",
    }
    command = [*emulator_command(), "proxy", "--port", "0", "--store", "memory"]
    with tempfile.TemporaryFile("w+", prefix="tabsession-proxy-") as errors:
        process = subprocess.Popen(
            [*command, "--log-level", "warning", "--api-version", API_VERSION],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
            deadline = time.monotonic() + STARTUP_TIMEOUT
            url = None
            while url is None and time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if line is None:
                    break
                found = _URL.search(line)
                url = found.group(1) if found else None
            if url is None:
                errors.seek(0)
                raise RuntimeError(f"the proxy did not start; stderr:\n{errors.read()[-2000:]}")
            yield url, process.pid
        finally:
            _stop(process)


def _proxy_sign_in(url: str) -> str:
    body = {
        "credentials": {
            "personalAccessTokenName": PAT_NAME,
            "personalAccessTokenSecret": PAT_SECRET,
            "site": {"contentUrl": ""},
        }
    }
    answer = httpx.post(
        f"{url}/api/{API_VERSION}/auth/signin", json=body, headers={"Accept": "application/json"}
    )
    answer.raise_for_status()
    token: str = answer.json()["credentials"]["token"]
    return token


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(call: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def _latency(direct: str, direct_token: str, proxy: str, proxy_pid: int, proxy_token: str,
             site: str, calls: int, rounds: int) -> list[Row]:  # fmt: skip
    path = f"/api/{API_VERSION}/sites/{site}/projects"
    with httpx.Client() as to_direct, httpx.Client() as to_proxy:

        def direct_call() -> Any:
            answer = to_direct.get(direct + path, headers={"X-Tableau-Auth": direct_token})
            if answer.status_code != 200:
                raise RuntimeError(f"direct call answered {answer.status_code}")
            return answer.content

        def proxied_call() -> Any:
            answer = to_proxy.get(proxy + path, headers={"X-Tableau-Auth": proxy_token})
            if answer.status_code != 200:
                raise RuntimeError(f"proxied call answered {answer.status_code}")
            return answer.content

        _timed(direct_call, WARMUP_CALLS)
        _timed(proxied_call, WARMUP_CALLS)
        direct_us: list[float] = []
        proxied_us: list[float] = []
        cpu_before = _cpu_seconds(proxy_pid)
        for _ in range(rounds):
            direct_us.append(_timed(direct_call, calls))
            proxied_us.append(_timed(proxied_call, calls))
        cpu_after = _cpu_seconds(proxy_pid)
    proxy_cpu = (
        "n/a"
        if cpu_before is None or cpu_after is None
        else f"{(cpu_after - cpu_before) / (rounds * calls) * 1e6:.0f} µs"
    )
    d, p = median(direct_us), median(proxied_us)
    ratio = p / d
    paired = sorted(b / a for a, b in zip(direct_us, proxied_us, strict=True))
    how = f"httpx.Client keep-alive, sequential; median of {rounds} interleaved rounds of {calls}"
    return [
        {"name": "direct GET sites/{luid}/projects", "value": round(d, 1), "unit": "µs/call",
         "notes": how},
        {"name": "proxied GET sites/{luid}/projects", "value": round(p, 1), "unit": "µs/call",
         "notes": how},
        {"name": "proxied / direct GET sites/{luid}/projects", "value": round(ratio, 3),
         "unit": "ratio", "goal": f"<= {GOAL_RATIO}",
         "notes": ("goal met" if ratio <= GOAL_RATIO else "GOAL MISSED")
         + f"; per-round ratios p25-p75 {paired[len(paired) // 4]:.3f}-"
         f"{paired[3 * len(paired) // 4]:.3f}; added {p - d:.0f} µs/call; proxy process CPU "
         f"{proxy_cpu} per call (a load-independent view of what it adds)"},
    ]  # fmt: skip


def _rate(base: str, tokens: list[str], site: str, calls: int, rounds: int) -> float:
    path = f"/api/{API_VERSION}/sites/{site}/projects"
    per_thread = calls // len(tokens)

    def worker(token: str) -> int:
        failures = 0
        with httpx.Client(headers={"X-Tableau-Auth": token}) as http:
            for _ in range(per_thread):
                failures += http.get(base + path).status_code != 200
        return failures

    rates = []
    with ThreadPoolExecutor(len(tokens)) as pool:
        for _ in range(rounds):
            start = time.perf_counter()
            failed = sum(pool.map(worker, tokens))
            if failed:
                raise RuntimeError(f"{failed} calls failed")
            rates.append(per_thread * len(tokens) / (time.perf_counter() - start))
    return median(rates)


def run(quick: bool = False) -> list[dict[str, object]]:
    calls, rounds = (25, 20) if quick else (25, 120)
    load, load_rounds = (1000, 3) if quick else (4000, 5)
    threads = 8
    args = ("--user", f"{RAW_USER}:{RAW_PASSWORD}", "--pat", f"{PAT_NAME}:{PAT_SECRET}")
    with running_emulator(*args, exit_after=300 if quick else 600) as emulator:
        direct_token, site = sign_in(emulator, RAW_USER, RAW_PASSWORD)
        with running_proxy(emulator) as (proxy, proxy_pid):
            proxy_token = _proxy_sign_in(proxy)
            rows = _latency(
                emulator, direct_token, proxy, proxy_pid, proxy_token, site, calls, rounds
            )
            progress(f"proxy_overhead: latency ratio {rows[-1]['value']}")
            direct_tokens = [sign_in(emulator, RAW_USER, RAW_PASSWORD)[0] for _ in range(threads)]
            proxy_tokens = [_proxy_sign_in(proxy) for _ in range(threads)]
            direct_rate = _rate(emulator, direct_tokens, site, load, load_rounds)
            proxied_rate = _rate(proxy, proxy_tokens, site, load, load_rounds)
            stats = httpx.get(f"{proxy}/_tabsession/stats").json()
    how = f"{threads} threads, {load} GETs per round, median of {load_rounds} rounds"
    rows += [
        {"name": "direct GETs per second", "value": round(direct_rate), "unit": "calls/s",
         "notes": how + "; the emulator alone"},
        {"name": "proxied GETs per second", "value": round(proxied_rate), "unit": "calls/s",
         "goal": f">= {GOAL_RATE:.0f}",
         "notes": ("goal met" if proxied_rate >= GOAL_RATE else "GOAL MISSED") + f"; {how}; "
         f"client, proxy and emulator share the machine; upstream sign-ins "
         f"{stats['upstream_signins']}"},
    ]  # fmt: skip
    return rows


if __name__ == "__main__":
    main(run)
