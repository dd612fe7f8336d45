"""Workers for the chaos run (spawned processes import this module).

Every worker makes idempotent calls (GET) and non-idempotent ones (POST projects, each with a
unique name) until told to stop, and reports what happened: GETs that succeeded, GET failures
by error type, the names of POSTs reported OK, and POSTs that failed (with their error type).
Anything that is not a `TableauError` is reported as "untyped:<name>".
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from typing import Any

import tabsession
from tests.conftest import PAT_NAME, PAT_SECRET

PAUSE = 0.004
POST_EVERY = 10
"""One call in ten is a POST."""


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gets = 0
        self.get_failures: Counter[str] = Counter()
        self.posted: list[str] = []
        self.post_failures: list[tuple[str, str]] = []
        self.samples: list[str] = []

    def failed(self, exc: BaseException) -> None:
        if len(self.samples) < 5:
            self.samples.append(f"{type(exc).__name__}: {str(exc)[:300]}")

    def report(self) -> dict[str, Any]:
        return {
            "gets": self.gets,
            "get_failures": dict(self.get_failures),
            "posted": list(self.posted),
            "post_failures": list(self.post_failures),
            "samples": list(self.samples),
        }


def _kind(exc: BaseException) -> str:
    return (
        type(exc).__name__
        if isinstance(exc, tabsession.TableauError)
        else (f"untyped:{type(exc).__name__}")
    )


def _name(tag: str) -> str:
    return f"chaos-{tag}-{uuid.uuid4().hex[:12]}"


def thread_loop(tab: tabsession.Client, tally: Tally, stop: Any, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        if n % POST_EVERY == 0:
            name = _name(tag)
            try:
                tab.post("projects", json={"project": {"name": name}})
                with tally.lock:
                    tally.posted.append(name)
            except BaseException as exc:
                with tally.lock:
                    tally.post_failures.append((name, _kind(exc)))
        else:
            try:
                tab.get("workbooks", params={"pageSize": 3})
                with tally.lock:
                    tally.gets += 1
            except BaseException as exc:
                with tally.lock:
                    tally.get_failures[_kind(exc)] += 1
                    tally.failed(exc)
        time.sleep(PAUSE)


async def task_loop(tab: tabsession.AsyncClient, tally: Tally, stop: Any, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        if n % POST_EVERY == 0:
            name = _name(tag)
            try:
                await tab.post("projects", json={"project": {"name": name}})
                tally.posted.append(name)
            except BaseException as exc:
                tally.post_failures.append((name, _kind(exc)))
        else:
            try:
                await tab.get("workbooks", params={"pageSize": 3})
                tally.gets += 1
            except BaseException as exc:
                tally.get_failures[_kind(exc)] += 1
        await asyncio.sleep(PAUSE)


def build_store(spec: dict[str, Any]) -> Any:
    if spec["kind"] == "file":
        return tabsession.FileStore(spec["directory"])
    from tabsession.stores import RedisStore

    return RedisStore(spec["url"])


def pat(group: str) -> tabsession.PersonalAccessToken:
    """Each group of workers has its own PAT: groups that do not share a store would otherwise
    end each other's sessions (real contention, which no client can avoid)."""
    return tabsession.PersonalAccessToken(f"{PAT_NAME}-{group}", PAT_SECRET)


def process_worker(
    url: str, spec: dict[str, Any], threads: int, options: dict[str, Any], stop: Any, out: Any
) -> None:
    """A process: `threads` threads on one client with a shared store; reports on `out`."""
    tally = Tally()
    auth = pat(spec["kind"])
    with tabsession.Client(url, auth, store=build_store(spec), **options) as tab:
        workers = [
            threading.Thread(target=thread_loop, args=(tab, tally, stop, f"{spec['kind']}{i}"))
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    out.put(tally.report())
