"""What the proxy counts about itself, served as JSON at `/_tabsession/stats`. Counts only:
never a token, a secret or a URL's query."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["ProxyStats"]


class ProxyStats:
    """Thread-safe counters (the proxy runs on one event loop, but tests read from others)."""

    NAMES = (
        "requests",
        "forwarded",
        "replays",
        "not_replayable",
        "upstream_errors",
        "local_signins",
        "local_signin_failures",
        "local_signouts",
        "refused_no_token",
        "refused_unknown_token",
        "refused_other_site",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def answered(self, status: int) -> None:
        with self._lock:
            self._counts["requests"] += 1
            self._statuses[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {name: self._counts[name] for name in self.NAMES}
            out["requests_by_status"] = dict(sorted(self._statuses.items()))
            return out
