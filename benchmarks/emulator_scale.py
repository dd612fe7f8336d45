"""The emulator at scale (issue 9): what a page costs as the site grows, what seeding costs, and
whether one heavy client can slow down everyone else.

1. **Page cost vs site size.** Two emulators side by side, seeded with 500 and with 10,000
   workbooks (75 more projects are created on each, so that both have a full 100-item page of
   projects). One keep-alive client asks each for 100-item pages of workbooks (cycling through
   pages 1-5), of projects (page 1) and of Metadata API workbooks with their owner and lineage
   (`workbooksConnection(first: 100, offset: ...)`), in interleaved rounds; the value is the
   median wall time per request, and the ratio is large site / small site (goal ≤ 1.5).
2. **Seeding 100,000.** `EmulatorState(seed_items=100000)` (100,000 workbooks, 200,000 views,
   50,000 data sources and the rest in proportion: about 404,000 items) built in a fresh
   process: wall time, and the process's peak RSS above what it held before seeding and in all
   (goal ≤ 3 s and ≤ 300 MiB).
3. **Control plane under load.** On a 100,000-workbook site, one process pulls 1000-item pages
   of workbooks back to back, while another asks `GET serverinfo` every 5 ms; the values are
   the p50 and p99 of serverinfo's wall time (goal p99 < 50 ms) and the pages pulled meanwhile.

    python -m benchmarks.emulator_scale          # about a minute
    python -m benchmarks.emulator_scale --quick
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._emulator import API_VERSION, running_emulator, sign_in
from benchmarks._report import main, median, progress

__all__ = ["run"]

SMALL, LARGE, HUGE = 500, 10_000, 100_000
EXTRA_PROJECTS = 75


class _Keepalive:
    """One keep-alive HTTP/1.1 connection that times each GET."""

    def __init__(self, url: str, token: str | None = None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Accept": "application/json"}
        if token is not None:
            self.headers["X-Tableau-Auth"] = token

    def get(self, path: str) -> tuple[float, bytes]:
        began = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        took = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return took, body

    def post_timed(self, path: str, body: dict[str, Any]) -> tuple[float, bytes]:
        began = time.perf_counter()
        headers = {**self.headers, "Content-Type": "application/json"}
        self.connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        took = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {data[:200]!r}")
        return took, data

    def post(self, path: str, body: dict[str, Any]) -> int:
        headers = {**self.headers, "Content-Type": "application/json"}
        self.connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


_METADATA_PAGE = (
    "query page($offset: Int) { workbooksConnection(first: 100, offset: $offset) { totalCount "
    "nodes { name projectName owner { name } upstreamTables { fullName database { name } } } } }"
)


def _workbooks_page(client: _Keepalive, base: str, i: int) -> tuple[float, int]:
    took, body = client.get(f"{base}/workbooks?pageSize=100&pageNumber={1 + i % 5}")
    return took, len(json.loads(body)["workbooks"]["workbook"])


def _projects_page(client: _Keepalive, base: str, i: int) -> tuple[float, int]:
    took, body = client.get(f"{base}/projects?pageSize=100&pageNumber=1")
    return took, len(json.loads(body)["projects"]["project"])


def _metadata_page(client: _Keepalive, base: str, i: int) -> tuple[float, int]:
    query = {"query": _METADATA_PAGE, "variables": {"offset": 100 * (i % 5)}}
    took, body = client.post_timed("/api/metadata/graphql", query)
    return took, len(json.loads(body)["data"]["workbooksConnection"]["nodes"])


def _page_costs(quick: bool) -> list[dict[str, object]]:
    rounds, per_round = (5, 10) if quick else (20, 20)
    exit_after = 300.0
    with (
        running_emulator("--seed-items", str(SMALL), exit_after=exit_after) as small_url,
        running_emulator("--seed-items", str(LARGE), exit_after=exit_after) as large_url,
    ):
        clients: dict[str, tuple[_Keepalive, str]] = {}
        for label, url in (("small", small_url), ("large", large_url)):
            token, site = sign_in(url, "admin", "admin")
            client = _Keepalive(url, token)
            base = f"/api/{API_VERSION}/sites/{site}"
            for i in range(EXTRA_PROJECTS):
                status = client.post(f"{base}/projects", {"project": {"name": f"Extra {i:03d}"}})
                if status != 201:
                    raise RuntimeError(f"creating a project answered {status}")
            clients[label] = (client, base)
        cases: dict[str, Callable[[_Keepalive, str, int], tuple[float, int]]] = {
            "workbooks": _workbooks_page,
            "projects": _projects_page,
            "Metadata API workbooksConnection": _metadata_page,
        }
        rows: list[dict[str, object]] = []
        for kind, fetch in cases.items():
            times: dict[str, list[float]] = {"small": [], "large": []}
            for label, (client, base) in clients.items():  # warm-up: one pass over the pages
                for i in range(5):
                    if fetch(client, base, i)[1] != 100:
                        raise RuntimeError(f"{label} {kind}: a page without 100 items")
            for _ in range(rounds):
                for label, (client, base) in clients.items():
                    times[label].extend(fetch(client, base, i)[0] for i in range(per_round))
            small, large = median(times["small"]) * 1000, median(times["large"]) * 1000
            notes = (
                f"median of {rounds * per_round} requests per site, {rounds} interleaved rounds; "
                "one keep-alive connection; JSON"
            )
            rows += [
                {"name": f"{kind} page of 100, {SMALL}-workbook site", "value": round(small, 2),
                 "unit": "ms", "notes": notes},
                {"name": f"{kind} page of 100, {LARGE}-workbook site", "value": round(large, 2),
                 "unit": "ms", "notes": notes},
                {"name": f"{kind} page of 100: {LARGE} / {SMALL} workbooks",
                 "value": round(large / small, 2), "unit": "ratio", "goal": "<= 1.5",
                 "notes": "goal met" if large / small <= 1.5 else "goal NOT met"},
            ]  # fmt: skip
        for client, _ in clients.values():
            client.close()
        return rows


_SEED_PROBE = """
import json, resource, sys, time
from tabsession.emulator.config import EmulatorConfig
from tabsession.emulator.state.world import EmulatorState
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss()
began = time.perf_counter()
state = EmulatorState(EmulatorConfig(seed_items=int(sys.argv[1])), freeze_after_seeding=True)
took = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": took, "before": before, "peak": peak}))
"""


def _seeding(quick: bool) -> list[dict[str, object]]:
    runs = 1 if quick else 3
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _SEED_PROBE, str(HUGE)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = median(r["seconds"] for r in results)
    grown = median(r["peak"] - r["before"] for r in results)
    total = median(r["peak"] for r in results)
    notes = (
        f"EmulatorState(seed_items={HUGE}) as the command line builds it, in a fresh process "
        "(~404,000 items: workbooks, 2 views each, data sources, projects, users, groups, "
        f"jobs); median of {runs} run(s)"
    )
    return [
        {"name": f"seeding {HUGE} workbooks: time", "value": round(seconds, 2), "unit": "s",
         "goal": "<= 3", "notes": ("goal met; " if seconds <= 3 else "goal NOT met; ") + notes},
        {"name": f"seeding {HUGE} workbooks: peak RSS growth", "value": round(grown, 1),
         "unit": "MiB", "goal": "<= 300",
         "notes": ("goal met; " if grown <= 300 else "goal NOT met; ")
         + f"ru_maxrss minus VmRSS before seeding; whole process peak {total:.0f} MiB"},
    ]  # fmt: skip


def _pull_pages(url: str, token: str, site: str, seconds: float, out: Any) -> None:
    """Runs in its own process: 1000-item pages back to back until the time is up."""
    client = _Keepalive(url, token)
    deadline = time.perf_counter() + seconds
    pages, number = 0, 0
    try:
        while time.perf_counter() < deadline:
            path = (
                f"/api/{API_VERSION}/sites/{site}/workbooks?pageSize=1000&pageNumber={number + 1}"
            )
            client.get(path)
            number = (number + 1) % (HUGE // 1000)
            pages += 1
        out.put(("ok", pages))
    except Exception as exc:  # reported to the parent, which raises
        out.put(("error", repr(exc)))
    finally:
        client.close()


def _under_load(quick: bool) -> list[dict[str, object]]:
    seconds = 4.0 if quick else 15.0
    with running_emulator("--seed-items", str(HUGE), exit_after=seconds + 120) as url:
        token, site = sign_in(url, "admin", "admin")
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        loader = context.Process(target=_pull_pages, args=(url, token, site, seconds, results))
        loader.start()
        probe = _Keepalive(url)
        time.sleep(0.5)  # the loader is connected and busy
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds - 1.0
        while time.perf_counter() < deadline:
            latencies.append(probe.get(f"/api/{API_VERSION}/serverinfo")[0] * 1000)
            time.sleep(0.005)
        probe.close()
        kind, pages = results.get(timeout=seconds + 60)
        loader.join(30)
        if kind != "ok":
            raise RuntimeError(f"the loading client failed: {pages}")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = statistics.median(latencies)
    notes = (
        f"{len(latencies)} serverinfo requests, one every 5 ms, while another process pulled "
        f"{pages} pages of 1000 workbooks ({pages / seconds:.1f}/s) from a {HUGE}-workbook site; "
        f"max {latencies[-1]:.1f} ms; {os.cpu_count()} CPUs"
    )
    return [
        {"name": "serverinfo under load: p50", "value": round(p50, 2), "unit": "ms",
         "notes": notes},
        {"name": "serverinfo under load: p99", "value": round(p99, 2), "unit": "ms",
         "goal": "< 50", "notes": "goal met" if p99 < 50 else "goal NOT met"},
    ]  # fmt: skip


def run(quick: bool = False) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, part in (
        ("page cost", _page_costs),
        ("seeding", _seeding),
        ("under load", _under_load),
    ):
        progress(f"emulator_scale: {name}")
        rows += part(quick)
    return rows


if __name__ == "__main__":
    main(run)
