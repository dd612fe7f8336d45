"""Clocks: the one seam through which tabsession (and its emulator) read time.

`SystemClock` is the default. Tests and the emulator use `ManualClock` (time moves only when
told) or `ScaledClock` (real time, sped up, plus manual jumps). A client and an in-process emulator
that share one clock agree on every duration, which is how expiry is tested without waiting.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["AdvanceableClock", "Clock", "ManualClock", "ScaledClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the time.

    `monotonic()` measures durations (never jumps back); `time()` is wall-clock epoch seconds,
    used only where a timestamp leaves the process (token stores, logs).
    """

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


@runtime_checkable
class AdvanceableClock(Clock, Protocol):
    """A clock that can be moved forward on demand."""

    def advance(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: `time.monotonic()` and `time.time()`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until `advance()` is called. Thread-safe.

    `start` sets the wall-clock reading at creation (default: the real time now), so timestamps
    still look plausible in logs and stores.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._wall = time.time() if start is None else start
        self._mono = 0.0

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def time(self) -> float:
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._mono += seconds
            self._wall += seconds

    def __repr__(self) -> str:
        return f"ManualClock(monotonic={self.monotonic():.3f})"


class ScaledClock:
    """Real time multiplied by `scale`, plus whatever `advance()` added. Thread-safe.

    `scale=60` makes a minute pass every second: a 240-minute session ends after 4 real minutes.
    """

    def __init__(self, scale: float = 1.0, base: Clock | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._base = base or SystemClock()
        self._scale = scale
        self._lock = threading.Lock()
        self._offset = 0.0
        self._mono0 = self._base.monotonic()
        self._wall0 = self._base.time()

    @property
    def scale(self) -> float:
        return self._scale

    def _elapsed(self) -> float:
        return (self._base.monotonic() - self._mono0) * self._scale + self._offset

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed()

    def time(self) -> float:
        with self._lock:
            return self._wall0 + self._elapsed()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self._scale})"
