"""Counters the emulator keeps about itself, read through `GET /_emulator/stats`.

Tests assert on these counts (sign-ins, failures, statuses), never on timings or logs.
`signin_refusals` says why sign-ins were refused (`pat_revoked`, `jwt_expired`, ...), which the
client never learns: Tableau answers every refusal with the same 401001.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Stats"]


class Stats:
    """Thread-safe counters. `snapshot()` is a plain JSON-ready dict."""

    NAMES = (
        "signins",
        "signin_failures",
        "signouts",
        "site_switches",
        "requests",
        "sessions_expired",
        "sessions_superseded",
        "sessions_killed",
        "faults_fired",
        "connections_dropped",
        "jwt_replays_refused",
        "internal_errors",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._codes: Counter[str] = Counter()
        self._signins_by_kind: Counter[str] = Counter()
        self._refusals: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def signin(self, kind: str) -> None:
        with self._lock:
            self._counts["signins"] += 1
            self._signins_by_kind[kind] += 1

    def signin_refused(self, reason: str) -> None:
        """A refused sign-in and why (`signin_failures` counts them all)."""
        with self._lock:
            self._counts["signin_failures"] += 1
            self._refusals[reason] += 1

    def response(self, status: int, code: str | None) -> None:
        with self._lock:
            self._counts["requests"] += 1
            self._statuses[str(status)] += 1
            if code:
                self._codes[code] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()
            self._codes.clear()
            self._signins_by_kind.clear()
            self._refusals.clear()

    def snapshot(self, active_sessions: int) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {name: self._counts[name] for name in self.NAMES}
            out["active_sessions"] = active_sessions
            out["status_counts"] = dict(sorted(self._statuses.items()))
            out["error_codes"] = dict(sorted(self._codes.items()))
            out["signins_by_kind"] = dict(sorted(self._signins_by_kind.items()))
            out["signin_refusals"] = dict(sorted(self._refusals.items()))
            return out
