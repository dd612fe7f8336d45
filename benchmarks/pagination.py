"""Listing 10,000 workbooks with 20 ms of server latency: TSC's Pager against tabsession.

DESIGN.md goal: concurrent pagination at least 5x faster than TSC's Pager, and memory flat in
the number of items when streaming.

The emulator runs as the real command in its own process (`--seed-items 10000 --latency 20`).
Variants, each signed in once beforehand with its own PAT (a PAT has one session at a time), then
timed in interleaved rounds (TSC, Client 100, Client 1000, AsyncClient 100; again ...):
- TSC: real, unmodified tableauserverclient, `Server(url, use_server_version=True)`,
  `PersonalAccessTokenAuth`, `list(TSC.Pager(server.workbooks))` (its defaults: 100 per page,
  one page after the other);
- `tabsession.Client.paginate("workbooks")` with page_size=100, concurrency 8 (TSC's page size)
  and with page_size=1000, concurrency 4;
- `tabsession.AsyncClient.paginate("workbooks")` with page_size=100, concurrency 8.
Every variant must return exactly 10,000 items with unique ids, every round. Seconds are the
median of the rounds; speedups are TSC's median over the variant's.

Memory: tracemalloc's peak in this process while streaming all items through
`Client.paginate(page_size=100, concurrency=8)` without keeping them, against the peak when
collecting them in a list; then the streaming and collecting peaks again on a second emulator
with 20,000 workbooks. Streaming is bounded by the window of pages in flight, so its peak stays
flat when the item count doubles, while the list's doubles.

    python -m benchmarks.pagination [--quick]
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable, Iterable
from typing import Any

import tableauserverclient as TSC

import tabsession
from benchmarks._emulator import running_emulator
from benchmarks._report import main, median, progress

__all__ = ["run"]

ITEMS, LARGE_ITEMS, LATENCY_MS = 10_000, 20_000, 20
GOAL_SPEEDUP = 5.0
FLAT_LIMIT = 1.25
"""The 20,000-item streaming peak may be at most this much above the 10,000-item one."""
PATS = {"tsc": ("tsc-pat", "tsc-secret"), "sync": ("sync-pat", "sync-secret")}
PATS["async"] = ("async-pat", "async-secret")

Row = dict[str, object]


def _check(name: str, ids: Iterable[Any], expected: int) -> None:
    seen = list(ids)
    if len(seen) != expected or len(set(seen)) != expected:
        raise RuntimeError(
            f"{name}: expected {expected} items with unique ids, got {len(seen)} items, "
            f"{len(set(seen))} unique ids"
        )


def _pat(kind: str) -> tabsession.PersonalAccessToken:
    return tabsession.PersonalAccessToken(*PATS[kind])


def _emulator_args(items: int) -> list[str]:
    args = ["--seed-items", str(items), "--latency", str(LATENCY_MS)]
    for name, secret in PATS.values():
        args += ["--pat", f"{name}:{secret}"]
    return args


def _timed(list_ids: Callable[[], list[Any]], name: str) -> float:
    start = time.perf_counter()
    ids = list_ids()
    elapsed = time.perf_counter() - start
    _check(name, ids, ITEMS)
    return elapsed


def _speed(url: str, rounds: int) -> list[Row]:
    server = TSC.Server(url, use_server_version=True)  # type: ignore[no-untyped-call]
    server.auth.sign_in(TSC.PersonalAccessTokenAuth(*PATS["tsc"], site_id=""))
    loop = asyncio.new_event_loop()
    tab = tabsession.Client(url, _pat("sync"))
    atab = tabsession.AsyncClient(url, _pat("async"))
    try:

        def tsc() -> list[Any]:
            return [w.id for w in TSC.Pager(server.workbooks)]

        def sync(page_size: int, concurrency: int) -> Callable[[], list[Any]]:
            def list_ids() -> list[Any]:
                pages = tab.paginate("workbooks", page_size=page_size, concurrency=concurrency)
                return [w["id"] for w in pages]

            return list_ids

        async def async_ids() -> list[Any]:
            return [w["id"] async for w in atab.paginate("workbooks", concurrency=8)]

        variants: dict[str, Callable[[], list[Any]]] = {
            "TSC Pager (page size 100, sequential)": tsc,
            "Client.paginate page_size=100 concurrency=8": sync(100, 8),
            "Client.paginate page_size=1000 concurrency=4": sync(1000, 4),
            "AsyncClient.paginate page_size=100 concurrency=8": (
                lambda: loop.run_until_complete(async_ids())
            ),
        }
        # warm-up, untimed: sessions, connections, threads, and the emulator's first listing
        tab.sign_in()
        loop.run_until_complete(atab.sign_in())
        server.workbooks.get()
        for name, list_ids in list(variants.items())[1:]:
            _check(name, list_ids(), ITEMS)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for number in range(1, rounds + 1):
            for name, list_ids in variants.items():
                times[name].append(_timed(list_ids, name))
            summary = ", ".join(f"{t[-1]:.2f}" for t in times.values())
            progress(f"pagination: round {number}/{rounds}: {summary} s")
    finally:
        tab.close()
        loop.run_until_complete(atab.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        server.auth.sign_out()
    baseline = median(times["TSC Pager (page size 100, sequential)"])
    note = (
        f"{ITEMS} workbooks, {LATENCY_MS} ms latency per request; median of {rounds} interleaved "
        f"round(s); all {ITEMS} unique ids checked every round"
    )
    rows: list[Row] = []
    for name, values in times.items():
        seconds = median(values)
        spread = ", ".join(f"{v:.2f}" for v in values)
        rows.append(
            {"name": f"list {name}", "value": round(seconds, 3), "unit": "s",
             "notes": f"{note}; rounds: {spread}"}
        )  # fmt: skip
    for name, values in list(times.items())[1:]:
        speedup = baseline / median(values)
        rows.append(
            {
                "name": f"speedup {name} vs TSC Pager",
                "value": round(speedup, 2),
                "unit": "x",
                "goal": f">= {GOAL_SPEEDUP:g}x",
                "notes": "goal met" if speedup >= GOAL_SPEEDUP else "GOAL MISSED",
            }
        )
    return rows


def _peak(tab: tabsession.Client, keep: bool, expected: int) -> int:
    """tracemalloc's peak (bytes) while listing every workbook, keeping them or not."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        pages = tab.paginate("workbooks", page_size=100, concurrency=8)
        if keep:
            items = list(pages)
            count = len(items)
        else:
            count = sum(1 for _ in pages)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if count != expected:
        raise RuntimeError(f"listed {count} workbooks, expected {expected}")
    return peak


def _peaks(url: str, items: int, repeats: int) -> tuple[int, int]:
    """(streaming peak, collecting peak) in bytes, on an emulator with `items` workbooks. How
    many pages wait in the window when the peak is reached varies with thread timing, so the
    streaming peak is the median of `repeats` listings."""
    with tabsession.Client(url, _pat("sync")) as tab:
        tab.sign_in()
        sum(1 for _ in tab.paginate("workbooks", page_size=100, concurrency=8))  # warm-up
        streaming = median(_peak(tab, False, items) for _ in range(repeats))
        return round(streaming), _peak(tab, True, items)


def _mib(size: float) -> float:
    return round(size / 2**20, 2)


def _memory_rows(small: tuple[int, int], large: tuple[int, int], repeats: int) -> list[Row]:
    how = "tracemalloc peak, Client.paginate page_size=100 concurrency=8"
    streamed = f"items not kept; median of {repeats} listing(s)"
    flat = large[0] / small[0]
    rows: list[Row] = []
    for (stream, collect), items in ((small, ITEMS), (large, LARGE_ITEMS)):
        rows.append(
            {"name": f"memory streaming {items} workbooks", "value": _mib(stream),
             "unit": "MiB", "notes": f"{how}; {streamed}"}
        )  # fmt: skip
        rows.append(
            {"name": f"memory collecting {items} workbooks in a list", "value": _mib(collect),
             "unit": "MiB", "notes": f"{how}; {collect / stream:.1f}x the streaming peak"}
        )  # fmt: skip
    rows.append(
        {
            "name": f"memory streaming {LARGE_ITEMS} / streaming {ITEMS} workbooks",
            "value": round(flat, 2),
            "unit": "ratio",
            "goal": f"flat (<= {FLAT_LIMIT:g})",
            "notes": (
                f"{'goal met' if flat <= FLAT_LIMIT else 'GOAL MISSED'}; collecting grows "
                f"{large[1] / small[1]:.2f}x"
            ),
        }
    )
    return rows


def run(quick: bool = False) -> list[dict[str, object]]:
    rounds, repeats = (1, 1) if quick else (3, 3)
    with running_emulator(*_emulator_args(ITEMS), exit_after=120 + 40 * rounds) as url:
        rows = _speed(url, rounds)
        small = _peaks(url, ITEMS, repeats)
    progress(f"pagination: peaks for {ITEMS} items: {_mib(small[0])}, {_mib(small[1])} MiB")
    with running_emulator(*_emulator_args(LARGE_ITEMS), exit_after=180) as url:
        large = _peaks(url, LARGE_ITEMS, repeats)
    progress(f"pagination: peaks for {LARGE_ITEMS} items: {_mib(large[0])}, {_mib(large[1])} MiB")
    return rows + _memory_rows(small, large, repeats)


if __name__ == "__main__":
    main(run)
