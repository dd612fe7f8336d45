"""Per-call cost of tabsession's clients against raw httpx on the same emulator calls.

DESIGN.md goal: a managed client costs at most 5 % more per call than raw httpx (aim 2 %).

The emulator runs as the real command in its own process. Each side signs in once, on its own
session: tabsession with a PAT (its token is never exposed, on purpose), the raw side with a
separate password account (`--user bench:benchpw`; password sessions do not end each other).
Then, for `GET /api/{v}/sessions/current` and `GET /api/{v}/sites/{luid}/projects`, rounds of
N raw calls (`httpx.Client.get(url, headers={"X-Tableau-Auth": ...}).json()`) alternate with
rounds of N `tab.get(path)` calls. Each side's value is the median over its rounds of the mean
wall-clock µs per call; the ratio is tabsession / raw. The same again for `AsyncClient` against
`httpx.AsyncClient`, with sequential awaits.

The notes add the client process's CPU time per call (same rounds, medians): the server's work
and scheduling noise are not in it, so its difference is what tabsession itself adds per call.

    python -m benchmarks.client_overhead [--quick]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

import tabsession
from benchmarks._emulator import API_VERSION, running_emulator, sign_in
from benchmarks._report import main, median, progress

__all__ = ["run"]

PAT_NAME, PAT_SECRET = "bench-pat", "bench-pat-secret"
RAW_USER, RAW_PASSWORD = "bench", "benchpw"
GOAL, AIM = 1.05, 1.02
WARMUP_CALLS = 100
# (label, tabsession path, raw path after /api/{v}; {site} is the site LUID)
ENDPOINTS = (
    ("GET sessions/current", "/sessions/current", "/sessions/current"),
    ("GET sites/{luid}/projects", "projects", "/sites/{site}/projects"),
)

Row = dict[str, object]
Sample = tuple[float, float]
"""One round: (wall µs per call, client CPU µs per call)."""


def _settings(quick: bool) -> tuple[int, int]:
    """(calls per round, rounds per side). Short rounds, many of them: a burst of other work
    on the machine spoils few rounds, and the median drops them."""
    return (25, 40) if quick else (25, 200)


def _quartiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]


def _rows(kind: str, label: str, raw: list[Sample], tab: list[Sample], calls: int) -> list[Row]:
    raw_us, tab_us = median(s[0] for s in raw), median(s[0] for s in tab)
    raw_cpu, tab_cpu = median(s[1] for s in raw), median(s[1] for s in tab)
    ratio = tab_us / raw_us
    paired = [t[0] / r[0] for r, t in zip(raw, tab, strict=True)]
    low, high = _quartiles(paired)
    rounds = f"median of {len(raw)} interleaved rounds of {calls} calls"
    verdict = "goal met" if ratio <= GOAL else "GOAL MISSED"
    if ratio <= AIM:
        verdict += ", aim met"
    raw_name = "httpx.Client" if kind == "sync" else "httpx.AsyncClient"
    tab_name = "tabsession.Client" if kind == "sync" else "tabsession.AsyncClient"
    how = "" if kind == "sync" else ", sequential awaits"
    return [
        {
            "name": f"{raw_name} {label}",
            "value": round(raw_us, 1),
            "unit": "µs/call",
            "notes": f"get + .json(){how}; {rounds}; client CPU {raw_cpu:.0f} µs/call",
        },
        {
            "name": f"{tab_name} {label}",
            "value": round(tab_us, 1),
            "unit": "µs/call",
            "notes": f"tab.get(path){how}; {rounds}; client CPU {tab_cpu:.0f} µs/call",
        },
        {
            "name": f"{tab_name} / {raw_name} {label}",
            "value": round(ratio, 3),
            "unit": "ratio",
            "goal": f"<= {GOAL:.2f} (aim {AIM:.2f})",
            "notes": (
                f"{verdict}; per-round ratios median {median(paired):.3f}, p25-p75 "
                f"{low:.3f}-{high:.3f}; client CPU {tab_cpu - raw_cpu:+.0f} µs/call"
            ),
        },
    ]


def _same_shape(label: str, raw: Any, tab: Any) -> None:
    """Both sides got the same kind of answer (the users differ, so sessions/current does)."""
    if not (isinstance(raw, dict) and isinstance(tab, dict) and raw.keys() == tab.keys()):
        raise RuntimeError(f"{label}: the raw and tabsession answers differ: {raw!r} {tab!r}")


def _time_sync(call: Callable[[], Any], calls: int) -> Sample:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(calls):
        call()
    end, cpu_end = time.perf_counter(), time.process_time()
    return (end - start) / calls * 1e6, (cpu_end - cpu) / calls * 1e6


async def _time_async(call: Callable[[], Awaitable[Any]], calls: int) -> Sample:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    end, cpu_end = time.perf_counter(), time.process_time()
    return (end - start) / calls * 1e6, (cpu_end - cpu) / calls * 1e6


def _sync_side(url: str, token: str, site: str, calls: int, rounds: int) -> list[Row]:
    headers = {"X-Tableau-Auth": token, "Accept": "application/json"}
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    rows: list[Row] = []
    with httpx.Client() as http, tabsession.Client(url, auth, api_version=API_VERSION) as tab:
        tab.sign_in()
        for label, tab_path, raw_path in ENDPOINTS:
            target = f"{url}/api/{API_VERSION}{raw_path.format(site=site)}"

            def raw_call(target: str = target) -> Any:
                return http.get(target, headers=headers).json()

            def tab_call(path: str = tab_path) -> Any:
                return tab.get(path)

            _same_shape(label, raw_call(), tab_call())
            _time_sync(raw_call, WARMUP_CALLS)
            _time_sync(tab_call, WARMUP_CALLS)
            raw: list[Sample] = []
            managed: list[Sample] = []
            for _ in range(rounds):
                raw.append(_time_sync(raw_call, calls))
                managed.append(_time_sync(tab_call, calls))
            rows += _rows("sync", label, raw, managed, calls)
            progress(f"client_overhead: Client {label}: ratio {rows[-1]['value']}")
    return rows


async def _async_side(url: str, token: str, site: str, calls: int, rounds: int) -> list[Row]:
    headers = {"X-Tableau-Auth": token, "Accept": "application/json"}
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    rows: list[Row] = []
    async with (
        httpx.AsyncClient() as http,
        tabsession.AsyncClient(url, auth, api_version=API_VERSION) as tab,
    ):
        await tab.sign_in()
        for label, tab_path, raw_path in ENDPOINTS:
            target = f"{url}/api/{API_VERSION}{raw_path.format(site=site)}"

            async def raw_call(target: str = target) -> Any:
                return (await http.get(target, headers=headers)).json()

            async def tab_call(path: str = tab_path) -> Any:
                return await tab.get(path)

            _same_shape(label, await raw_call(), await tab_call())
            await _time_async(raw_call, WARMUP_CALLS)
            await _time_async(tab_call, WARMUP_CALLS)
            raw: list[Sample] = []
            managed: list[Sample] = []
            for _ in range(rounds):
                raw.append(await _time_async(raw_call, calls))
                managed.append(await _time_async(tab_call, calls))
            rows += _rows("async", label, raw, managed, calls)
            progress(f"client_overhead: AsyncClient {label}: ratio {rows[-1]['value']}")
    return rows


def run(quick: bool = False) -> list[dict[str, object]]:
    """Sync and async, each endpoint: raw µs/call, tabsession µs/call, their ratio."""
    calls, rounds = _settings(quick)
    args = ("--user", f"{RAW_USER}:{RAW_PASSWORD}", "--pat", f"{PAT_NAME}:{PAT_SECRET}")
    with running_emulator(*args, exit_after=180 if quick else 300) as url:
        token, site = sign_in(url, RAW_USER, RAW_PASSWORD)
        rows = _sync_side(url, token, site, calls, rounds)
        rows += asyncio.run(_async_side(url, token, site, calls, rounds))
    return rows


if __name__ == "__main__":
    main(run)
