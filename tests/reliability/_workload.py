"""Drive many concurrent callers through expiries in lock-step phases, so counts are exact.

Two kinds of worker share a client (or, across processes, a token store):
- stormers wait for each expiry, then all call at once: N requests meet the dead session
  together, which is the storm single flight must turn into one sign-in;
- runners (one in eight) call in a loop, so requests are in flight at the moment of expiry
  (a 401 that arrives after the new session is already published must not sign in again).

After each expiry the driver waits until every worker has completed a call that *started* after
it. No call then spans two expiries, so each expiry costs exactly one sign-in if single flight
holds, whatever the scheduling. State lives in multiprocessing shared memory, so workers may be
threads, asyncio tasks or threads of other processes alike.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from typing import Any

PHASE_TIMEOUT = 90.0
POLL = 0.002
RUNNER_EVERY = 8

SPAWN = multiprocessing.get_context("spawn")


class Phases:
    """Shared phase state. Picklable into spawned processes (the `on_epoch` hook stays home)."""

    def __init__(self, workers: int, on_epoch: Callable[[], None] | None = None) -> None:
        self.workers = workers
        self.on_epoch = on_epoch
        self._epoch = SPAWN.Value("i", 0)
        self._done = SPAWN.Array("i", [-1] * workers)
        self._calls = SPAWN.Value("q", 0, lock=False)
        self._failed = SPAWN.Value("i", 0, lock=False)
        self._messages: Any = SPAWN.Queue()
        self._stop = SPAWN.Event()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["on_epoch"] = None
        return state

    # -- worker side -----------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @staticmethod
    def is_runner(worker: int) -> bool:
        return worker % RUNNER_EVERY == 0

    def wait_next_epoch(self, seen: int) -> int:
        """Block until the epoch moves past `seen` or the run stops (bounded)."""
        deadline = time.monotonic() + PHASE_TIMEOUT
        while self.epoch <= seen and not self.stopped and time.monotonic() < deadline:
            time.sleep(POLL)
        return self.epoch

    def finished(self, worker: int, started_epoch: int, error: BaseException | None) -> None:
        with self._done.get_lock():
            self._calls.value += 1
            if error is not None:
                self._failed.value += 1
                self._messages.put(f"worker {worker}: {error!r}"[:500])
            elif self._done[worker] < started_epoch:
                self._done[worker] = started_epoch

    # -- driver side -----------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        return int(self._calls.value)

    @property
    def failed(self) -> int:
        return int(self._failed.value)

    def failure_messages(self, limit: int = 5) -> list[str]:
        messages: list[str] = []
        while len(messages) < limit:
            try:
                messages.append(self._messages.get(timeout=0.2))
            except queue.Empty:
                break
        return messages

    def _all_done(self, epoch: int) -> bool:
        with self._done.get_lock():
            return self._failed.value > 0 or all(d >= epoch for d in self._done)

    def _advance(self, epoch: int) -> None:
        self._epoch.value = epoch
        if self.on_epoch is not None:
            self.on_epoch()

    def _wait_all(self, epoch: int) -> None:
        deadline = time.monotonic() + PHASE_TIMEOUT
        while not self._all_done(epoch):
            if time.monotonic() > deadline:
                raise AssertionError(f"workers did not all finish a call in phase {epoch}")
            time.sleep(POLL)

    def run(self, expiries: int, expire: Callable[[], object]) -> None:
        """Phase 0 (the first sign-in), then `expiries` rounds: expire, everyone calls again."""
        try:
            self._wait_all(0)
            for epoch in range(1, expiries + 1):
                expire()
                self._advance(epoch)
                self._wait_all(epoch)
        finally:
            self._stop.set()
            self._advance(self.epoch)

    def assert_no_failures(self) -> None:
        assert self.failed == 0, self.failure_messages()


def path_for(worker: int) -> str:
    return "/sessions/current" if worker % 2 else "projects"


def thread_worker(phases: Phases, worker: int, call: Callable[[str], Any]) -> None:
    """One thread's part: stormers call once per epoch, runners call continuously."""
    seen = -1
    while not phases.stopped:
        if not phases.is_runner(worker):
            seen = phases.wait_next_epoch(seen)
            if phases.stopped:
                return
        epoch = phases.epoch
        try:
            call(path_for(worker))
        except Exception as exc:  # recorded and asserted on, never swallowed
            phases.finished(worker, epoch, exc)
            return
        phases.finished(worker, epoch, None)
