"""Redis outage: 3 processes share one PAT through `RedisStore(fallback="local")`; Redis is
stopped for 10 s, then restarted on the same port.

- Sessions expire twice during the outage, so every process must sign in on its own (each PAT
  sign-in ending the others' sessions). The breaker bounds sign-ins to at most 4 per process.
- Within 10 s of Redis coming back calls succeed again, and none fails after that (never a
  permanent SessionContention).
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from tests.stores._support import emulator, require_redis, running_redis
from tests.stores._workers import PHASES, outage_worker

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROCESSES = 3
WARM_UP = 3.0
OUTAGE = 10.0
RECOVERY = 10.0
SETTLED = 5.0
spawn = multiprocessing.get_context("spawn")


def test_three_processes_ride_out_a_redis_outage_and_return_to_redis() -> None:
    require_redis()
    with running_redis() as server, emulator() as emu:
        phase = spawn.Value("i", 0)
        stop = spawn.Event()
        counters = {
            name: spawn.Array("i", PROCESSES * PHASES)
            for name in ("signins", "calls", "failures", "contentions")
        }
        last_failure = spawn.Array("d", PROCESSES)  # (kept for debugging a failure)
        workers = [
            spawn.Process(
                target=outage_worker,
                args=(
                    emu.url,
                    server.url,
                    index,
                    phase,
                    stop,
                    counters["signins"],
                    counters["calls"],
                    counters["failures"],
                    counters["contentions"],
                    last_failure,
                ),
            )
            for index in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        try:
            deadline = time.monotonic() + 60
            while min(counters["calls"][i * PHASES] for i in range(PROCESSES)) < 5:
                assert time.monotonic() < deadline, "the workers never got going"
                time.sleep(0.05)
            time.sleep(WARM_UP)
            server.stop()
            phase.value = 1
            emu.expire_sessions()  # every process must sign in again while Redis is down
            time.sleep(OUTAGE / 2)
            emu.expire_sessions()
            time.sleep(OUTAGE / 2)
            phase.value = 2
            server.restart()
            time.sleep(RECOVERY)
            phase.value = 3
            time.sleep(SETTLED)
        finally:
            stop.set()
            for worker in workers:
                worker.join(30)
                if worker.is_alive():
                    worker.kill()
        assert [w.exitcode for w in workers] == [0] * PROCESSES

        def per_process(name: str, at: int) -> list[int]:
            return [counters[name][i * PHASES + at] for i in range(PROCESSES)]

        report = {name: [per_process(name, p) for p in range(PHASES)] for name in counters}
        assert all(n > 0 for n in per_process("calls", 1)), report
        assert all(n > 0 for n in per_process("calls", 2)), report
        assert all(n <= 4 for n in per_process("signins", 1)), (
            f"the breaker must bound sign-ins during the outage: {report}"
        )
        assert all(n > 0 for n in per_process("calls", 3)), report
        assert per_process("failures", 3) == [0] * PROCESSES, (
            f"calls must succeed again within {RECOVERY:g}s of Redis coming back: {report}"
        )
        print(f"outage report: {report}, emulator sign-ins {emu.stats()['signins']}")
