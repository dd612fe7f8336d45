"""Issue 7 acceptance: default settings carry jobs on servers configured unlike the presets.

- Short sessions (20 s, absolute) with a default Client and 4 threads for 75 s: no failed call,
  and 401s only at the first death (which teaches the lifetime), from requests already on the
  wire when it came: at most one per thread, none sent after the first 401 was back. Later
  sessions are replaced ahead of their end.
- The README's emulator example (Cloud mode, 90 s sessions) with defaults: 0 failures over
  10 lifetimes.
- Two jobs thrashing one PAT with private sessions: both get `SessionContention`, at most 12
  sign-ins in 30 s between them, and calls recover once one of them stops.

Client and emulator share one clock running 2.5x (or a manual clock), so 75 emulated seconds
take 30 real ones (slow enough that a loaded machine does not stretch requests much in
emulated time); every figure asserted is a count read from the emulator's stats.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import tabsession
from tabsession.clock import ManualClock, ScaledClock
from tabsession.emulator import Emulator, PatSpec
from tests.conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET
from tests.integration._support import ADMIN

PAT = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
PASSWORD = tabsession.Password("admin", ADMIN_PASSWORD)
SCALE = 2.5
PAUSE = 0.026
"""Real seconds between calls: 65 emulated ms, the pace of the run that found the bug."""


def _emulator(clock: Any, **config: Any) -> Emulator:
    config.setdefault("seed_items", 5)
    return Emulator(pats=(PatSpec(PAT_NAME, PAT_SECRET),), admin=ADMIN, clock=clock, **config)


def _steady_threads(
    tab: tabsession.Client, clock: ScaledClock, seconds: float, threads: int
) -> tuple[int, list[BaseException]]:
    """`threads` workers calling with a short pause until `seconds` of emulated time pass."""
    end = clock.monotonic() + seconds
    calls = [0] * threads
    failures: list[BaseException] = []

    def work(index: int) -> None:
        paths = ("projects", "workbooks", "users")
        while clock.monotonic() < end:
            try:
                tab.get(paths[calls[index] % 3], params={"pageSize": 5})
                calls[index] += 1
            except tabsession.TableauError as exc:
                failures.append(exc)
            time.sleep(PAUSE)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds / SCALE + 60)
    return sum(calls), failures


@pytest.mark.parametrize("auth", [PAT, PASSWORD], ids=["pat", "password"])
def test_short_absolute_sessions_with_default_settings(auth: tabsession.Credential) -> None:
    clock = ScaledClock(SCALE)
    replays: list[dict[str, Any]] = []

    def on_event(name: str, fields: dict[str, Any]) -> None:
        if name == "replay":
            replays.append(fields)

    with (
        _emulator(clock, session_lifetime=20, lifetime_kind="absolute") as emu,
        tabsession.Client(emu.url, auth, clock=clock, on_event=on_event) as tab,
    ):
        calls, failures = _steady_threads(tab, clock, 75.0, threads=4)
        stats = emu.stats()
        assert failures == []
        assert calls > 1000
        # Every 401 of the run is at the first death, which nothing has taught the client yet:
        # it meets the requests already on the wire, one per thread at most. No request is sent
        # with the dead token once one 401 is back, and later sessions are replaced ahead of
        # their end (refreshes drain the requests under way), so they cost none.
        rejected = stats["status_counts"].get("401", 0)
        assert rejected == len(replays), (stats["status_counts"], replays)
        assert 1 <= rejected <= 4, stats["status_counts"]
        assert {r["refused_generation"] for r in replays} == {1}, replays
        first_answer = min(r["refused_at"] for r in replays)
        assert all(r["refused_sent_at"] <= first_answer for r in replays), replays
        assert tab.session is not None
        assert tab.session.learned_lifetime == "absolute 20s"
        # one sign-in per lifetime: the first, one after the first death, then refreshes
        assert 4 <= stats["signins"] <= 6, stats
        assert tab.stats.refreshes >= 2


def test_the_readme_cloud_example_with_default_settings() -> None:
    """`tabsession emulator --mode cloud --session-lifetime 90s`, a call every 5 s, 15 minutes."""
    clock = ManualClock()
    with (
        _emulator(clock, mode="cloud", session_lifetime=90) as emu,
        tabsession.Client(emu.url, PAT, site="emulated", clock=clock) as tab,
    ):
        failures = 0
        for _ in range(int(10 * 90 / 5)):
            try:
                tab.get("workbooks", params={"pageSize": 5})
            except tabsession.TableauError:
                failures += 1
            clock.advance(5.0)
        stats = emu.stats()
        assert failures == 0
        assert stats["status_counts"].get("401", 0) <= 2, stats["status_counts"]
        assert stats["signins"] <= 14  # about one per lifetime, never a storm


def test_two_jobs_thrashing_one_pat_trip_the_breaker_then_recover() -> None:
    clock = ScaledClock(SCALE)
    with _emulator(clock, seed_items=2) as emu:
        a = tabsession.Client(emu.url, PAT, clock=clock)  # each with its private session
        b = tabsession.Client(emu.url, PAT, clock=clock)
        contention = {"a": 0, "b": 0}
        other: list[BaseException] = []
        stop_b = threading.Event()
        end = clock.monotonic() + 30.0

        def job(name: str, tab: tabsession.Client, stop: threading.Event) -> None:
            while clock.monotonic() < end and not stop.is_set():
                try:
                    tab.get("projects")
                except tabsession.SessionContention:
                    contention[name] += 1
                except tabsession.TableauError as exc:
                    other.append(exc)
                time.sleep(0.002)

        never = threading.Event()
        threads = [
            threading.Thread(target=job, args=("a", a, never)),
            threading.Thread(target=job, args=("b", b, stop_b)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        signins_in_30s = emu.stats()["signins"]
        assert contention["a"] > 0
        assert contention["b"] > 0
        assert other == []
        assert signins_in_30s <= 12
        # b stops; a recovers by itself within its back-off (at most a minute)
        stop_b.set()
        b.close()
        recovered_at = None
        limit = clock.monotonic() + 90.0
        while clock.monotonic() < limit:
            try:
                a.get("projects")
                recovered_at = clock.monotonic()
                break
            except tabsession.SessionContention:
                time.sleep(0.01)
        assert recovered_at is not None
        for _ in range(20):  # and stays recovered
            a.get("projects")
        a.close()
