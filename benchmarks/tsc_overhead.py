"""Per-call cost of tableauserverclient (TSC) with `keep_signed_in` against plain TSC.

Issue 10 goal: TSC kept signed in costs at most 3 % more per call than plain TSC (≤ 1.03).

The emulator runs as the real command in its own process. Plain TSC signs in with a password
account (`--user bench:benchpw`); the kept server with a PAT through `keep_signed_in` (separate
sessions: password sessions do not end each other). Then, for `server.projects.get()` and
`server.workbooks.get(RequestOptions(pagesize=10))`, rounds of N plain calls alternate with
rounds of N kept calls. Each side's value is the median over its rounds of the mean wall-clock
µs per call; the ratio is kept / plain. The notes add client CPU per call (same rounds).

    python -m benchmarks.tsc_overhead [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks._emulator import API_VERSION, running_emulator
from benchmarks._report import main, median, progress

__all__ = ["run"]

PAT_NAME, PAT_SECRET = "bench-pat", "bench-pat-secret"
PLAIN_USER, PLAIN_PASSWORD = "bench", "benchpw"
GOAL = 1.03
WARMUP_CALLS = 50

Row = dict[str, object]
Sample = tuple[float, float]
"""One round: (wall µs per call, client CPU µs per call)."""


def _settings(quick: bool) -> tuple[int, int]:
    """(calls per round, rounds per side)."""
    return (20, 30) if quick else (20, 150)


def _time(call: Callable[[], Any], calls: int) -> Sample:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(calls):
        call()
    end, cpu_end = time.perf_counter(), time.process_time()
    return (end - start) / calls * 1e6, (cpu_end - cpu) / calls * 1e6


def _rows(label: str, plain: list[Sample], kept: list[Sample], calls: int) -> list[Row]:
    plain_us, kept_us = median(s[0] for s in plain), median(s[0] for s in kept)
    plain_cpu, kept_cpu = median(s[1] for s in plain), median(s[1] for s in kept)
    ratio = kept_us / plain_us
    paired = sorted(k[0] / p[0] for p, k in zip(plain, kept, strict=True))
    rounds = f"median of {len(plain)} interleaved rounds of {calls} calls"
    verdict = "goal met" if ratio <= GOAL else "GOAL MISSED"
    return [
        {
            "name": f"TSC {label}",
            "value": round(plain_us, 1),
            "unit": "µs/call",
            "notes": f"plain TSC; {rounds}; client CPU {plain_cpu:.0f} µs/call",
        },
        {
            "name": f"TSC + keep_signed_in {label}",
            "value": round(kept_us, 1),
            "unit": "µs/call",
            "notes": f"{rounds}; client CPU {kept_cpu:.0f} µs/call",
        },
        {
            "name": f"keep_signed_in / plain TSC {label}",
            "value": round(ratio, 3),
            "unit": "ratio",
            "goal": f"<= {GOAL:.2f}",
            "notes": (
                f"{verdict}; per-round ratios p25-p75 {paired[len(paired) // 4]:.3f}-"
                f"{paired[(3 * len(paired)) // 4]:.3f}; client CPU "
                f"{kept_cpu - plain_cpu:+.0f} µs/call"
            ),
        },
    ]


def run(quick: bool = False) -> list[dict[str, object]]:
    """Two TSC calls: plain µs/call, kept µs/call, their ratio."""
    import tableauserverclient as TSC

    from tabsession.tsc import keep_signed_in

    calls, rounds = _settings(quick)
    args = ("--user", f"{PLAIN_USER}:{PLAIN_PASSWORD}", "--pat", f"{PAT_NAME}:{PAT_SECRET}")
    rows: list[Row] = []
    with running_emulator(*args, exit_after=180 if quick else 300) as url:
        plain = TSC.Server(url)  # type: ignore[no-untyped-call]
        plain.version = API_VERSION
        plain.auth.sign_in(TSC.TableauAuth(PLAIN_USER, PLAIN_PASSWORD, site_id=""))
        kept = TSC.Server(url)  # type: ignore[no-untyped-call]
        kept.version = API_VERSION
        keep_signed_in(kept, TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=""))
        endpoints: tuple[tuple[str, Callable[[Any], Any]], ...] = (
            ("projects.get()", lambda server: server.projects.get()),
            (
                "workbooks.get(pagesize=10)",
                lambda server: server.workbooks.get(
                    TSC.RequestOptions(pagesize=10)  # type: ignore[no-untyped-call]
                ),
            ),
        )
        for label, call in endpoints:

            def plain_call(call: Callable[[Any], Any] = call) -> Any:
                return call(plain)

            def kept_call(call: Callable[[Any], Any] = call) -> Any:
                return call(kept)

            _time(plain_call, WARMUP_CALLS)
            _time(kept_call, WARMUP_CALLS)
            plain_samples: list[Sample] = []
            kept_samples: list[Sample] = []
            for _ in range(rounds):
                plain_samples.append(_time(plain_call, calls))
                kept_samples.append(_time(kept_call, calls))
            rows += _rows(label, plain_samples, kept_samples, calls)
            progress(f"tsc_overhead: {label}: ratio {rows[-1]['value']}")
    return rows


if __name__ == "__main__":
    main(run)
