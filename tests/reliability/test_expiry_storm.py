"""Issue 3 acceptance: many callers, one client, the server ends every session three times.

Exactly one sign-in per expiry (single flight by generation) and no failed call, for 64 threads
on a `Client` and for 256 asyncio tasks on an `AsyncClient`. Counts come from the emulator.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import tabsession
from tabsession.emulator import Emulator, PatSpec
from tests.conftest import PAT_NAME, PAT_SECRET
from tests.reliability._workload import Phases, path_for, thread_worker

EXPIRIES = 3
# Three forced expiries within seconds would trip the PAT breaker's default (3 sign-ins in
# 10 minutes), which exists to catch exactly that pattern in production; the test raises it.
BREAKER = tabsession.Breaker(max_young_deaths=20, window=600)
AUTH = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)


def _emulator() -> Emulator:
    return Emulator(pats=(PatSpec(PAT_NAME, PAT_SECRET),), seed_items=10)


class _EpochSignal:
    """Wakes asyncio stormers when the (thread-side) driver moves to the next epoch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()

    def _bump(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    def notify(self) -> None:
        self.loop.call_soon_threadsafe(self._bump)


async def _task_worker(
    phases: Phases, signal: _EpochSignal, worker: int, call: Callable[[str], Awaitable[Any]]
) -> None:
    seen = -1
    while not phases.stopped:
        if not phases.is_runner(worker):
            while phases.epoch <= seen and not phases.stopped:
                await signal.event.wait()
            if phases.stopped:
                return
            seen = phases.epoch
        else:
            await asyncio.sleep(0)
        epoch = phases.epoch
        try:
            await call(path_for(worker))
        except Exception as exc:
            phases.finished(worker, epoch, exc)
            return
        phases.finished(worker, epoch, None)


def _assert_one_signin_per_expiry(emu: Emulator, phases: Phases) -> None:
    phases.assert_no_failures()
    server = emu.stats()
    assert server["signins"] == 1 + EXPIRIES  # the first sign-in, then one per expiry
    assert server["signin_failures"] == 0
    assert server["status_counts"].get("500", 0) == 0


def test_64_threads_three_expiries_one_signin_each() -> None:
    workers = 64
    with _emulator() as emu, tabsession.Client(emu.url, AUTH, breaker=BREAKER) as tab:
        phases = Phases(workers)
        threads = [
            threading.Thread(target=thread_worker, args=(phases, i, tab.get))
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            phases.run(EXPIRIES, emu.expire_sessions)
        finally:
            for thread in threads:
                thread.join(30)
        _assert_one_signin_per_expiry(emu, phases)
        assert tab.stats.sign_ins == 1 + EXPIRIES
        # every stormer met each dead session once and was replayed once
        assert tab.stats.replays >= EXPIRIES * (workers - workers // 8)


def test_256_tasks_three_expiries_one_signin_each() -> None:
    tasks = 256
    with _emulator() as emu:

        async def main() -> tabsession.ClientStats:
            signal = _EpochSignal(asyncio.get_running_loop())
            phases = Phases(tasks, on_epoch=signal.notify)
            async with tabsession.AsyncClient(emu.url, AUTH, breaker=BREAKER) as tab:
                runners = [
                    asyncio.create_task(_task_worker(phases, signal, i, tab.get))
                    for i in range(tasks)
                ]
                try:
                    await asyncio.to_thread(phases.run, EXPIRIES, emu.expire_sessions)
                finally:
                    await asyncio.gather(*runners)
                _assert_one_signin_per_expiry(emu, phases)
                return tab.stats

        stats = asyncio.run(main())
        assert stats.sign_ins == 1 + EXPIRIES
        assert stats.replays >= EXPIRIES * (tasks - tasks // 8)


def test_threads_and_tasks_share_one_session_through_a_memory_store() -> None:
    """A sync Client (16 threads) and an AsyncClient (64 tasks) given the same MemoryStore sign in
    once per expiry between them."""
    threads_n, tasks_n = 16, 64
    store = tabsession.MemoryStore()
    with _emulator() as emu, tabsession.Client(emu.url, AUTH, store=store, breaker=BREAKER) as tab:

        async def main() -> None:
            signal = _EpochSignal(asyncio.get_running_loop())
            phases = Phases(threads_n + tasks_n, on_epoch=signal.notify)
            async with tabsession.AsyncClient(emu.url, AUTH, store=store, breaker=BREAKER) as atab:
                threads = [
                    threading.Thread(target=thread_worker, args=(phases, i, tab.get))
                    for i in range(threads_n)
                ]
                for thread in threads:
                    thread.start()
                runners = [
                    asyncio.create_task(_task_worker(phases, signal, threads_n + i, atab.get))
                    for i in range(tasks_n)
                ]
                try:
                    await asyncio.to_thread(phases.run, EXPIRIES, emu.expire_sessions)
                finally:
                    await asyncio.gather(*runners)
                    for thread in threads:
                        await asyncio.to_thread(thread.join, 30)
                _assert_one_signin_per_expiry(emu, phases)

        asyncio.run(main())


@pytest.mark.parametrize("credential", ["password", "pat"])
def test_64_threads_released_together_sign_in_once(credential: str) -> None:
    """64 threads released together on a client that has no session yet: one sign-in."""
    auth: tabsession.Credential = (
        AUTH if credential == "pat" else tabsession.Password("admin", "admin")
    )
    barrier = threading.Barrier(64)
    errors: list[BaseException] = []
    with _emulator() as emu:
        with tabsession.Client(emu.url, auth) as tab:

            def work() -> None:
                barrier.wait()
                try:
                    tab.get("projects")
                except Exception as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(64)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        assert errors == []
        assert emu.stats()["signins"] == 1
