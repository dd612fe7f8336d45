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
