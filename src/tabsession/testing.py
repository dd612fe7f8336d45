"""Helpers for testing code that uses tabsession.

    from tabsession.testing import instant_waits
    with instant_waits():
        ...  # retries and backoff waits return at once (and are still counted in client.stats)

For a fake server, use the emulator (`tabsession.emulator.Emulator` or the pytest fixture
`tableau_emulator`); for time, share a `tabsession.clock.ManualClock` between client and emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tabsession.clock import ManualClock, ScaledClock

__all__ = ["ManualClock", "ScaledClock", "instant_waits", "waits_are_instant"]

_lock = threading.Lock()
_depth = 0


def waits_are_instant() -> bool:
    return _depth > 0


@contextmanager
def instant_waits() -> Iterator[None]:
    """Within this block every client's retry waits take no time (process-wide switch)."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
