"""Spawned worker processes for the store acceptance tests (module level, so importable)."""

from __future__ import annotations

import time
from typing import Any

from tabsession.clock import SystemClock
from tabsession.stores import FileStore


class AheadClock(SystemClock):
    """A wall clock stepped `ahead` seconds forward."""

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead

    def time(self) -> float:
        return super().time() + self.ahead


def hold_lock_with_clock_ahead(directory: str, key: str, ttl: float, ready: Any) -> None:
    """Take `key`'s lock with a clock one hour ahead, say so, then hang until SIGKILLed."""
    store = FileStore(directory, clock=AheadClock(3600.0))
    if store.acquire(key, "victim-with-clock-ahead", ttl):
        ready.set()
    time.sleep(120)


PHASES = 4  # 0: Redis up, 1: Redis stopped, 2: the 10 s after it is back, 3: after that


def outage_worker(
    emulator_url: str,
    redis_url: str,
    index: int,
    phase: Any,
    stop: Any,
    signins: Any,
    calls: Any,
    failures: Any,
    contentions: Any,
    last_failure: Any,
) -> None:
    """Call the emulator with the suite's PAT through `RedisStore(fallback="local")` until
    `stop`, counting per phase (`phase.value` when each call starts): sign-ins, calls, failures
    and SessionContention failures, and the monotonic time of the last failure."""
    import tabsession
    from tabsession.stores import RedisStore
    from tests.conftest import PAT_NAME, PAT_SECRET

    store = RedisStore(redis_url, fallback="local", socket_timeout=0.5, connect_timeout=0.5)
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    with tabsession.Client(emulator_url, auth, store=store, timeout=5.0) as tab:
        while not stop.is_set():
            current = int(phase.value)
            slot = index * PHASES + current
            before = tab.stats.sign_ins
            try:
                tab.get("projects")
            except tabsession.TableauError as exc:
                failures[slot] += 1
                if isinstance(exc, tabsession.SessionContention):
                    contentions[slot] += 1
                last_failure[index] = time.monotonic()
            calls[slot] += 1
            signins[slot] += tab.stats.sign_ins - before
            time.sleep(0.02)
