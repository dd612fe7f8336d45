"""The PAT breaker (rule R10): stop fighting over a personal access token, on evidence only.

A PAT allows one live session: each sign-in with it, from any process or host, ends the one
before. Two jobs that use one PAT without sharing a store end each other's sessions over and
over. The signature is sessions dying young, shortly after our own sign-ins. So the breaker
looks at deaths, never at sign-ins:

- never counted: planned refreshes, the client's own sign-outs and site switches (no death at
  all), deaths after a long idle stretch, and deaths of sessions that lived about as long as the
  learned or configured lifetime;
- a death is *young* when the session lived less than half its expected lifetime and less than
  `young_age` seconds;
- `max_young_deaths` young deaths within `window` seconds trip it. While tripped, the next
  sign-in waits `backoff` seconds after the last young death, doubling with each further one
  up to `max_backoff`; callers meanwhile get `SessionContention` at once, and no request is
  sent with the dead token. A death that is not young (the contention stopped) resets it.

The history travels in the store record, so every worker sharing a store sees the same state.
Pure logic: no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tabsession.auth.lifetime import Death

__all__ = ["Breaker", "Verdict"]


@dataclass(frozen=True)
class Breaker:
    """When to stop signing in because something else uses the same PAT (see module).

    The defaults trip after 3 young deaths (sessions ended within a minute of their sign-in) in
    10 minutes, then retry after 5 s, 10 s, 20 s... up to a minute. Raise `max_young_deaths` for
    tests that kill sessions many times a minute; `Client(breaker=None)` disables it.
    `exclusive_only`: apply only to credentials whose sign-ins end earlier sessions (PATs).
    """

    max_young_deaths: int = 3
    window: float = 600.0
    young_age: float = 60.0
    backoff: float = 5.0
    max_backoff: float = 60.0
    exclusive_only: bool = True

    def __post_init__(self) -> None:
        if self.max_young_deaths < 1 or not self.window > 0:
            raise ValueError("the breaker needs max_young_deaths >= 1 and a positive window")
        if not (0 < self.backoff <= self.max_backoff) or not math.isfinite(self.max_backoff):
            raise ValueError("the breaker needs 0 < backoff <= max_backoff (finite seconds)")
        if not self.young_age > 0:
            raise ValueError("young_age must be positive")

    def is_young(self, death: Death, expected: float) -> bool:
        """Did this session die young, for a server whose sessions last `expected` seconds?"""
        if death.kind == "idle":
            return False
        return death.age < min(self.young_age, expected / 2)

    def record(
        self, history: tuple[Death, ...], death: Death, expected: float
    ) -> tuple[Death, ...]:
        """The young-death history after `death` (the history is cleared by a death that is not
        young: the contention, if any, has stopped)."""
        if not self.is_young(death, expected):
            return ()
        kept = tuple(d for d in history if d.at > death.at - self.window)
        return (*kept, death)[-(2 * self.max_young_deaths + 8) :]

    def verdict(self, history: tuple[Death, ...], now: float) -> Verdict:
        """May a sign-in happen at store time `now`, given the young deaths so far? Tripped, the
        next one waits `backoff` after the last young death, doubled for each one beyond
        `max_young_deaths`."""
        recent = tuple(d for d in history if d.at > now - self.window)
        excess = len(recent) - self.max_young_deaths
        if excess < 0:
            return Verdict(recent, None)
        wait = min(self.max_backoff, self.backoff * 2.0**excess)
        retry_at = recent[-1].at + wait
        return Verdict(recent, retry_at if now < retry_at else None)


@dataclass(frozen=True)
class Verdict:
    """`retry_at`: store time before which no sign-in may happen (None: sign in now)."""

    recent: tuple[Death, ...]
    retry_at: float | None

    def describe(self, now: float, window: float) -> str:
        ages = ", ".join(f"{d.age:.1f}s" for d in self.recent[-5:])
        wait = 0.0 if self.retry_at is None else max(0.0, self.retry_at - now)
        return (
            f"{len(self.recent)} sessions in the last {window:g}s ended young "
            f"(ages at death: {ages}), each soon after this client's own sign-in; "
            f"next sign-in attempt in {wait:.0f}s"
        )
