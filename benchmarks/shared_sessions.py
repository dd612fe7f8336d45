"""Issue 4's baseline: 8 processes x 4 threads sharing one PAT while every session is ended.

DESIGN.md goal: processes sharing one PAT through a FileStore (one host) or a RedisStore (several
hosts) make 0 failed calls and 1 sign-in per expiry.

The emulator runs as the real command in its own process. For each variant a fresh emulator;
8 spawned processes each run 4 threads that make a fixed 30 calls apiece (alternating
`GET sessions/current` and `GET projects`: 960 calls), whatever happens, counting failed calls
by exception kind (`tests.reliability._processes.counted_run`). When a quarter, a half and three
quarters of the calls are done, the emulator ends every session (`POST
/_emulator/expire-sessions`); each expiry waits until every thread has finished the calls it had
in flight at the previous one, so no call spans two expiries. Sign-ins and 401 answers come from
`GET /_emulator/stats`.

Variants:
- private stores: each process its own MemoryStore and the client's default PAT breaker
  (3 sign-ins in 10 minutes), which stops the thrash with SessionContention;
- private stores with breaker=None: pure thrash, every process ending the others' sessions;
- one FileStore for all processes; one RedisStore (a real redis-server on loopback; the row is
  skipped with a note when no redis-server is installed). These two use
  `Breaker(max_young_deaths=20, window=600)`: expiries forced seconds apart would otherwise
  look like contention, and this measures single flight, not the breaker.

Run from the repository root (it imports the workers from `tests.reliability`):

    python -m benchmarks.shared_sessions [--quick]
"""

from __future__ import annotations

import contextlib
import importlib
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import tabsession
import tabsession.stores
import tabsession.stores.file
from benchmarks._emulator import control, running_emulator
from benchmarks._report import main, progress

# The workers are the test suite's own (tests/reliability/_processes.py). Imported by name so
# that mypy, which checks benchmarks/ strictly, does not follow into tests/ (not under mypy).
_redis: Any = importlib.import_module("tests._redis")
_conftest: Any = importlib.import_module("tests.conftest")
_processes: Any = importlib.import_module("tests.reliability._processes")
_workload_module: Any = importlib.import_module("tests.reliability._workload")
FAILURE_KINDS: tuple[str, ...] = _processes.FAILURE_KINDS
PAT_NAME: str = _conftest.PAT_NAME
PAT_SECRET: str = _conftest.PAT_SECRET
SPAWN: Any = _workload_module.SPAWN

__all__ = ["run"]

PROCESSES, THREADS, CALLS, EXPIRIES = 8, 4, 30, 3
STALL_TIMEOUT = 90.0
JOIN_TIMEOUT = 90.0
SHARED_OPTIONS: Mapping[str, Any] = {"breaker": tabsession.Breaker(max_young_deaths=20, window=600)}

Row = dict[str, object]


def _workload(url: str, spec: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The test suite's counted run (tests/reliability/_processes.py): expiries at 1/4, 1/2 and
    3/4 of the calls, each once every thread has finished the calls it had in flight."""
    result: dict[str, Any] = _processes.counted_run(
        url,
        spec,
        lambda: control(url, "expire-sessions", {}),
        options,
        processes=PROCESSES,
        threads=THREADS,
        calls=CALLS,
        expiries=EXPIRIES,
        timeout=STALL_TIMEOUT,
    )
    return result


@contextmanager
def _file_spec() -> Iterator[Mapping[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="tabsession-bench-store-") as directory:
        yield {"kind": "file", "directory": directory}


@contextmanager
def _redis_spec() -> Iterator[Mapping[str, Any]]:
    with _redis.running_redis() as server:
        yield {"kind": "redis", "url": str(server)}


@contextmanager
def _memory_spec() -> Iterator[Mapping[str, Any]]:
    yield {"kind": "memory"}


def _variant_rows(
    name: str, result: dict[str, Any], stats: dict[str, Any], shared: bool
) -> list[Row]:
    by_kind: dict[str, int] = result["by_kind"]
    failed = sum(by_kind.values())
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "none"
    signins, unauthorized = int(stats["signins"]), int(stats["status_counts"].get("401", 0))
    expected_signins = 1 + EXPIRIES
    context = (
        f"{result['calls']} calls ({PROCESSES} processes x {THREADS} threads x {CALLS}), "
        f"{EXPIRIES} forced expiries, {result['seconds']:.1f} s in all"
    )
    if shared:
        failed_goal, signin_goal = "0", f"{expected_signins} (1 per expiry + the first)"
        failed_verdict = "goal met" if failed == 0 else "GOAL MISSED"
        signin_verdict = "goal met" if signins == expected_signins else "GOAL MISSED"
    else:
        failed_goal = signin_goal = ""
        failed_verdict = signin_verdict = "baseline"
    return [
        {"name": f"{name}: failed calls", "value": failed, "unit": "calls", "goal": failed_goal,
         "notes": f"{failed_verdict}; by kind: {kinds}; {context}"},
        {"name": f"{name}: sign-ins", "value": signins, "unit": "sign-ins", "goal": signin_goal,
         "notes": f"{signin_verdict}; emulator stats; sign-in failures {stats['signin_failures']}"},
        {"name": f"{name}: 401 answers", "value": unauthorized, "unit": "responses",
         "notes": f"emulator stats; {stats['requests']} requests in all"},
    ]  # fmt: skip


SpecFactory = Callable[[], AbstractContextManager[Mapping[str, Any]]]
VARIANTS: tuple[tuple[str, SpecFactory, Mapping[str, Any], bool], ...] = (
    ("private MemoryStores, default breaker", _memory_spec, {}, False),
    ("private MemoryStores, breaker=None", _memory_spec, {"breaker": None}, False),
    ("shared FileStore", _file_spec, SHARED_OPTIONS, True),
    ("shared RedisStore", _redis_spec, SHARED_OPTIONS, True),
)


SIGN_IN_SECONDS = (0.05, 0.25)
"""How long the simulated sign-ins take in the waiter-latency rows (uniformly drawn, seeded, so
that the figure does not depend on where one duration falls between two polls)."""


def _waiter_latency(make: Callable[[], Any], rounds: int) -> list[float]:
    """Seconds between a publish and the return of a waiter that was waiting for it: a holder
    signs in for SIGN_IN_SECONDS while another handle on the store (another process, for
    FileStore and RedisStore) waits."""
    holder, waiter = make(), make()
    latencies: list[float] = []
    durations = random.Random(4).uniform
    try:
        for generation in range(1, rounds + 1):
            key = tabsession.stores.session_key("https://bench.example.com", "", f"c{generation}")
            assert holder.acquire(key, "holder", 30)
            returned: list[float] = []

            def wait(key: str = key, returned: list[float] = returned) -> None:
                waiter.wait(key, 0, 5.0)
                returned.append(time.monotonic())

            thread = threading.Thread(target=wait)
            thread.start()
            time.sleep(durations(*SIGN_IN_SECONDS))
            record = tabsession.stores.StoredSession(
                token="t", site_id="s", site_content_url="", user_id="u", generation=1,
                signed_in_at=0.0, last_used_at=0.0, server="https://bench.example.com",
                credential_id=f"c{generation}",
            )  # fmt: skip
            assert holder.publish(key, record, "holder")
            published = time.monotonic()
            thread.join(10)
            holder.release(key, "holder")
            latencies.append(max(0.0, returned[0] - published))
    finally:
        holder.close()
        waiter.close()
    return latencies


def _latency_rows(quick: bool) -> list[Row]:
    rounds = 20 if quick else 100
    shared_memory = tabsession.stores.MemoryStore()
    makers: list[tuple[str, Callable[[], Any], str]] = [
        ("MemoryStore", lambda: shared_memory, "waiters are notified")
    ]
    directory = tempfile.TemporaryDirectory(prefix="tabsession-bench-")
    file_poll = tabsession.stores.file.DEFAULT_POLL_INTERVAL * 1000
    makers.append(
        (
            "FileStore",
            lambda: tabsession.stores.FileStore(directory.name),
            f"polls from 5 ms growing to {file_poll:g} ms",
        )
    )
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(directory)
        if _redis.redis_available():
            url = stack.enter_context(_redis.running_redis())
            makers.append(
                (
                    "RedisStore",
                    lambda: tabsession.stores.RedisStore(url),
                    "polls from 5 ms growing to 50 ms",
                )
            )
        for name, make, polling in makers:
            latencies = sorted(_waiter_latency(make, rounds))
            p50, p90 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.9)]
            rows.append(
                {"name": f"waiter latency, {name}: p50", "value": round(p50 * 1000, 1),
                 "unit": "ms", "notes": "publish to waiter's return, sign-ins of "
                 f"{SIGN_IN_SECONDS[0] * 1000:.0f}-{SIGN_IN_SECONDS[1] * 1000:.0f} ms; "
                 f"p90 {p90 * 1000:.1f} ms; "
                 f"{rounds} rounds; {polling}"}
            )  # fmt: skip
            progress(f"shared_sessions: waiter latency {name}: p50 {p50 * 1000:.1f} ms")
    return rows


def run(quick: bool = False) -> list[dict[str, object]]:
    """The same workload for each variant (quick runs it too: it is already small), then how
    soon a waiter sees another worker's sign-in, per store."""
    rows: list[Row] = _latency_rows(quick)
    for name, make_spec, options, shared in VARIANTS:
        if make_spec is _redis_spec and not _redis.redis_available():
            rows.append(
                {"name": f"{name}: skipped", "value": "", "unit": "",
                 "notes": "no redis-server binary (PATH or TABSESSION_REDIS_SERVER)"}
            )  # fmt: skip
            continue
        with (
            make_spec() as spec,
            running_emulator("--pat", f"{PAT_NAME}:{PAT_SECRET}", exit_after=400) as url,
        ):
            result = _workload(url, spec, options)
            stats = control(url, "stats")
        rows += _variant_rows(name, result, stats, shared)
        progress(
            f"shared_sessions: {name}: failed {rows[-3]['value']}, sign-ins {rows[-2]['value']}, "
            f"401s {rows[-1]['value']} ({result['seconds']:.1f} s)"
        )
    return rows


if __name__ == "__main__":
    main(run)
