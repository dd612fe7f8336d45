"""Worker processes for the shared-session tests and benchmarks (spawned, so importable).

Each process builds its own client and token store from a picklable spec and runs threads:
`phase_worker_process` takes part in a lock-step `Phases` run; `counted_run` drives
`counted_worker_process`es, which make a fixed number of calls and count failures (for
comparisons where calls are allowed to fail, such as the no-shared-store baseline).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import tabsession
from tabsession.clock import SystemClock
from tabsession.stores import FileStore, TokenStore
from tests.conftest import PAT_NAME, PAT_SECRET
from tests.reliability._workload import SPAWN, Phases, path_for, thread_worker

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
    first_thread: int,
    progress: Any,
    failures: Any,
    options: Mapping[str, Any],
) -> None:
    """Each thread makes `calls` calls whatever happens; failed calls are counted by type and
    every thread's completed calls in `progress[first_thread + i]`."""
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
                    progress[first_thread + index] += 1

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


def counted_run(
    url: str,
    spec: StoreSpec,
    expire: Callable[[], object],
    options: Mapping[str, Any],
    *,
    processes: int = 8,
    threads: int = 4,
    calls: int = 30,
    expiries: int = 3,
    timeout: float = 90.0,
) -> dict[str, Any]:
    """`processes` x `threads` workers make `calls` calls each; every session is ended
    `expiries` times along the way. Calls may fail (that is what this run counts).

    Expiry k+1 comes only once every thread has completed two calls since expiry k (or all its
    calls): calls are sequential per thread, so none spans two expiries, and a failure is the
    client's doing, not an artefact of expiries landing within one call."""
    workers = processes * threads
    progress = SPAWN.Array("q", [0] * workers)
    failures = SPAWN.Array("q", [0] * len(_FAILURE_KINDS))
    procs = [
        SPAWN.Process(
            target=counted_worker_process,
            args=(url, spec, calls, threads, p * threads, progress, failures, options),
        )
        for p in range(processes)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()

    def wait(condition: Callable[[list[int]], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not condition(list(progress[:])):
            if not any(p.is_alive() for p in procs):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers stalled at {sum(progress[:])} calls")
            time.sleep(0.005)

    try:
        for step in range(1, expiries + 1):
            wait(lambda done, step=step: sum(done) >= workers * calls * step / (expiries + 1))
            expire()
            marks = list(progress[:])
            wait(lambda done, marks=marks: all(
                d >= min(m + 2, calls) for d, m in zip(done, marks, strict=True)
            ))  # fmt: skip
    finally:
        for proc in procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    made = sum(progress[:])
    if made != workers * calls:
        raise RuntimeError(f"only {made} of {workers * calls} calls were made")
    by_kind = {k: int(n) for k, n in zip(_FAILURE_KINDS, failures[:], strict=True) if n}
    return {
        "calls": made,
        "failed": sum(by_kind.values()),
        "by_kind": by_kind,
        "seconds": time.monotonic() - started,
    }


_FAILURE_KINDS = ("other", "SessionExpired", "SessionContention", "TransportError", "SignInFailed")
FAILURE_KINDS = _FAILURE_KINDS
