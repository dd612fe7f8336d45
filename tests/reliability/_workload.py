"""Drive many concurrent callers through expiries in lock-step phases, so counts are exact.

Two kinds of worker share the client:
- stormers wait for each expiry, then all call at once: N requests meet the dead session
  together, which is the storm single flight must turn into one sign-in;
- runners (one in eight) call in a loop, so requests are in flight at the moment of expiry
  (a 401 that arrives after the new session is already published must not sign in again).

After each expiry the driver waits until every worker has completed a call that *started* after
it. No call then spans two expiries, so each expiry costs exactly one sign-in if single flight
holds, whatever the scheduling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PHASE_TIMEOUT = 60.0
RUNNER_EVERY = 8


@dataclass
class Phases:
    workers: int
    on_epoch: Callable[[], None] | None = None
    epoch: int = 0
    done: list[int] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    calls: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.done = [-1] * self.workers

    @staticmethod
    def is_runner(worker: int) -> bool:
        return worker % RUNNER_EVERY == 0

    def finished(self, worker: int, started_epoch: int, error: BaseException | None) -> None:
        with self.lock:
            self.calls += 1
            if error is not None:
                self.failures.append(error)
            else:
                self.done[worker] = max(self.done[worker], started_epoch)

    def wait_next_epoch(self, seen: int) -> int:
        """For thread stormers: block until the epoch moves past `seen` (or the run stops)."""
        with self.changed:
            self.changed.wait_for(lambda: self.epoch > seen or self.stop.is_set(), PHASE_TIMEOUT)
            return self.epoch

    def _all_done(self, epoch: int) -> bool:
        with self.lock:
            return all(d >= epoch for d in self.done) or bool(self.failures)

    def _advance(self, epoch: int) -> None:
        with self.changed:
            self.epoch = epoch
            self.changed.notify_all()
        if self.on_epoch is not None:
            self.on_epoch()

    def _wait_all(self, epoch: int) -> None:
        deadline = time.monotonic() + PHASE_TIMEOUT
        while not self._all_done(epoch):
            if time.monotonic() > deadline:
                raise AssertionError(f"workers did not all finish a call in phase {epoch}")
            time.sleep(0.002)

    def run(self, expiries: int, expire: Callable[[], object]) -> None:
        """Phase 0 (the first sign-in), then `expiries` rounds: expire, everyone calls again."""
        try:
            self._wait_all(0)
            for epoch in range(1, expiries + 1):
                expire()
                self._advance(epoch)
                self._wait_all(epoch)
        finally:
            self.stop.set()
            self._advance(self.epoch)
