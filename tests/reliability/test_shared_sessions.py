"""Issue 4 acceptance, with real processes: workers sharing one PAT through a token store.

A PAT allows one live session, so workers that sign in on their own end each other's sessions.
Sharing the session through a FileStore (one host) or a RedisStore (several hosts) makes it one
sign-in per expiry for everyone. Counts come from the emulator's stats.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import tabsession
from tabsession.emulator import Emulator, PatSpec
from tests._redis import require_redis, running_redis
from tests.conftest import PAT_NAME, PAT_SECRET
from tests.reliability._processes import (
    build_client,
    counted_run,
    phase_worker_process,
)
from tests.reliability._workload import SPAWN, Phases

pytestmark = pytest.mark.slow

PROCESSES, THREADS, EXPIRIES = 8, 4, 3
# Expiries forced seconds apart look like contention to the PAT breaker; it is raised here so the
# test measures single flight, not the breaker (which has tests of its own).
OPTIONS: Mapping[str, Any] = {"breaker": tabsession.Breaker(max_young_deaths=20, window=600)}


def _emulator(**config: Any) -> Emulator:
    return Emulator(pats=(PatSpec(PAT_NAME, PAT_SECRET),), seed_items=10, **config)


def _start(
    url: str, groups: list[tuple[Mapping[str, Any], Mapping[str, Any]]], phases: Phases
) -> tuple[list[Any], Any]:
    """Start PROCESSES processes (split across `groups` of (store spec, client options)), THREADS
    phase workers each. Returns the processes and a counter of those whose workers run."""
    started = SPAWN.Value("i", 0)
    processes = []
    for index in range(PROCESSES):
        spec, options = groups[index % len(groups)]
        processes.append(
            SPAWN.Process(
                target=phase_worker_process,
                args=(url, spec, phases, index * THREADS, THREADS, options, started),
            )
        )
    for process in processes:
        process.start()
    return processes, started


def _finish(processes: list[Any], phases: Phases, expire: Any) -> None:
    try:
        phases.run(EXPIRIES, expire)
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(5)


def _run_phases(
    url: str, groups: list[tuple[Mapping[str, Any], Mapping[str, Any]]], expire: Any
) -> Phases:
    """Start the processes and drive them through EXPIRIES expiries."""
    phases = Phases(PROCESSES * THREADS)
    processes, _ = _start(url, groups, phases)
    _finish(processes, phases, expire)
    return phases


def test_8_processes_share_one_pat_through_a_file_store(tmp_path: Path) -> None:
    spec = {"kind": "file", "directory": str(tmp_path / "sessions")}
    with _emulator() as emu:
        phases = _run_phases(emu.url, [(spec, OPTIONS)], emu.expire_sessions)
        phases.assert_no_failures()
        stats = emu.stats()
        assert stats["signins"] == 1 + EXPIRIES
        assert stats["signin_failures"] == 0
        assert phases.calls >= PROCESSES * THREADS * (1 + EXPIRIES)


@pytest.fixture
def redis_url() -> Iterator[Any]:
    require_redis()
    with running_redis() as server:
        yield server


def test_two_hosts_share_one_pat_through_redis(redis_url: Any) -> None:
    """Two groups of processes ("hosts") with their own Redis connections; the second group's
    wall clock runs 5 minutes ahead. Records are dated by Redis's clock, so skew changes nothing."""
    host_a = ({"kind": "redis", "url": str(redis_url)}, OPTIONS)
    host_b = ({"kind": "redis", "url": str(redis_url)}, {**OPTIONS, "clock_skew": 300.0})
    with _emulator() as emu:
        phases = _run_phases(emu.url, [host_a, host_b], emu.expire_sessions)
        phases.assert_no_failures()
        assert emu.stats()["signins"] == 1 + EXPIRIES


def test_without_a_shared_store_workers_sharing_a_pat_fail(tmp_path: Path) -> None:
    """The baseline the stores remove: each process signs in on its own and ends the others'
    sessions. With the default breaker, they stop with SessionContention instead of thrashing."""
    with _emulator() as emu:
        private = counted_run(emu.url, {"kind": "memory"}, emu.expire_sessions, {})
        assert private["failed"] > 0, private
        assert emu.stats()["signins"] > 1 + EXPIRIES
    with _emulator() as emu:
        spec = {"kind": "file", "directory": str(tmp_path / "sessions")}
        shared = counted_run(emu.url, spec, emu.expire_sessions, OPTIONS)
        assert shared["failed"] == 0, shared
        assert emu.stats()["signins"] == 1 + EXPIRIES


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_lock_holder_killed_during_sign_in(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A process dies holding the store's lock in the middle of its sign-in, while the others
    wait for it. The dead holder's sign-in still completes on the server; the lock outlives the
    holder by `lock_ttl`, so no survivor signs in before it lands (with a PAT, that landing would
    end the survivor's session). At most 2 sign-ins for the crash, and no failed call."""
    if backend == "redis":
        spec: Mapping[str, Any] = {
            "kind": "redis",
            "url": str(request.getfixturevalue("redis_url")),
        }
    else:
        spec = {"kind": "file", "directory": str(tmp_path / "sessions")}
    # a short lease for the test, so the sign-in budget must be short too: the lock must
    # outlive the longest sign-in (retry deadline + request timeout; the victim's takes 1.5 s)
    options = {
        **OPTIONS,
        "lock_ttl": 3.0,
        "timeout": 2.0,
        "retry": tabsession.RetryPolicy(deadline=0.5),
    }
    with _emulator() as emu:
        # the victim's sign-in takes 1.5 s on the server
        emu.set_faults(
            [{"kind": "latency", "path": "auth/signin$", "latency_ms": 1500, "times": 1}]
        )
        victim_phases = Phases(1)  # kept referenced: its semaphores must outlive the spawn
        victim = SPAWN.Process(
            target=phase_worker_process, args=(emu.url, spec, victim_phases, 0, 1, options)
        )
        victim.start()
        deadline = time.monotonic() + 60
        while emu.state.faults.describe()["rules"][0]["matched"] < 1:
            assert time.monotonic() < deadline, "the victim never reached its sign-in"
            time.sleep(0.005)
        # the survivors start, find the lock held, and wait behind it
        survivors = Phases(PROCESSES * THREADS)
        processes, started = _start(emu.url, [(spec, options)], survivors)
        while started.value < PROCESSES:
            assert time.monotonic() < deadline, "the survivors did not start"
            time.sleep(0.005)
        os.kill(victim.pid or 0, signal.SIGKILL)
        victim.join(10)
        _finish(processes, survivors, emu.expire_sessions)
        survivors.assert_no_failures()
        stats = emu.stats()
        # the crash costs at most 2 (the dead holder's, then one), then one per expiry
        assert stats["signins"] <= 2 + EXPIRIES, stats
        assert stats["signins_by_kind"] == {"pat": stats["signins"]}


def test_redis_stopped_during_a_run_gives_a_clear_error_without_hanging() -> None:
    require_redis()
    with _emulator() as emu, running_redis() as server:
        spec = {"kind": "redis", "url": str(server)}
        with build_client(emu.url, spec, OPTIONS) as tab:
            tab.get("projects")
            server.kill()
            emu.expire_sessions()  # the next call must reach the store
            started = time.monotonic()
            with pytest.raises(tabsession.StoreUnavailable) as caught:
                tab.get("projects")
            assert time.monotonic() - started < 10  # bounded by the store's socket timeouts
            assert "Redis" in str(caught.value)
