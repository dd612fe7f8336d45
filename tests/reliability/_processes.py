"""Worker processes for the shared-session tests and benchmarks (spawned, so importable).

Each process builds its own client and token store from a picklable spec and runs threads:
`phase_worker_process` takes part in a lock-step `Phases` run; `counted_worker_process` makes a
fixed number of calls and counts failures (for comparisons where calls are allowed to fail).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import tabsession
from tabsession.clock import SystemClock
from tabsession.stores import FileStore, TokenStore
from tests.conftest import PAT_NAME, PAT_SECRET
from tests.reliability._workload import Phases, path_for, thread_worker

StoreSpec = Mapping[str, Any]


class SkewedClock(SystemClock):
    """A host whose wall clock is `skew` seconds off (durations unaffected, as on real hosts)."""

    def __init__(self, skew: float) -> None:
        self.skew = skew

    def time(self) -> float:
        return super().time() + self.skew


def build_store(spec: StoreSpec) -> TokenStore | None:
    """`{"kind": "memory"}` (private, None), `{"kind": "file", "directory": ...}`,
    `{"kind": "redis", "url": ...}`."""
    kind = spec["kind"]
    if kind == "memory":
        return None
    if kind == "file":
        return FileStore(spec["directory"])
    if kind == "redis":
        from tabsession.stores import RedisStore

        return RedisStore(spec["url"])
    raise ValueError(f"unknown store kind {kind!r}")


def build_client(url: str, spec: StoreSpec, options: Mapping[str, Any]) -> tabsession.Client:
    extra = dict(options)
    skew = extra.pop("clock_skew", None)
    if skew is not None:
        extra["clock"] = SkewedClock(float(skew))
    return tabsession.Client(
        url,
        tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET),
        store=build_store(spec),
        **extra,
    )


def phase_worker_process(
    url: str,
    spec: StoreSpec,
    phases: Phases,
    first_worker: int,
    threads: int,
    options: Mapping[str, Any],
    started: Any = None,
) -> None:
    """Run `threads` phase workers; count this process in `started` once they are running."""
    with build_client(url, spec, options) as tab:
        workers = [
            threading.Thread(target=thread_worker, args=(phases, first_worker + i, tab.get))
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        if started is not None:
            with started.get_lock():
                started.value += 1
        for worker in workers:
            worker.join()


def counted_worker_process(
    url: str,
    spec: StoreSpec,
    calls: int,
    threads: int,
    progress: Any,
    failures: Any,
    options: Mapping[str, Any],
) -> None:
    """Each thread makes `calls` calls whatever happens; failed calls are counted by type."""
    with build_client(url, spec, options) as tab:

        def run(index: int) -> None:
            for _ in range(calls):
                try:
                    tab.get(path_for(index))
                except tabsession.TableauError as exc:
                    name = type(exc).__name__
                    with failures.get_lock():
                        failures[_FAILURE_KINDS.index(name) if name in _FAILURE_KINDS else 0] += 1
                with progress.get_lock():
                    progress.value += 1

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


_FAILURE_KINDS = ("other", "SessionExpired", "SessionContention", "TransportError", "SignInFailed")
FAILURE_KINDS = _FAILURE_KINDS
