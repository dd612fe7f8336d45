"""What the client reports about itself (rule R11): counters anyone can read, log records with
structured `extra`, and an optional hook called for every event.

Event names: `signin`, `signin_failed`, `refresh`, `replay`, `retry`, `wait`, `contention`,
`pat_expiring`, `advisory_refresh_failed`, `signout`; from the long operations `upload_restart`,
`download_restart` and `job_wait`. Fields never include a secret or a token.

`contention` and `pat_expiring` also go through `warnings.warn` (`ContentionWarning`,
`PatExpiryWarning`), once per cause per client: a library logger without handlers shows
nothing, a warning shows up. The cause is the event's `cause` field (default: the event name).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tabsession.errors import ContentionWarning, PatExpiryWarning, TabsessionWarning

__all__ = ["WARNINGS", "ClientStats", "EventHook", "Events", "logger"]

logger = logging.getLogger("tabsession")
logger.addHandler(logging.NullHandler())  # a library prints nothing unless the app says so

EventHook = Callable[[str, Mapping[str, Any]], None]

_LEVELS = {
    "contention": logging.WARNING,
    "pat_expiring": logging.WARNING,
    "advisory_refresh_failed": logging.WARNING,
    "signin_failed": logging.WARNING,
}
_COUNTED = {
    "signin": "sign_ins",
    "signin_failed": "sign_in_failures",
    "refresh": "refreshes",
    "replay": "replays",
    "retry": "retries",
    "wait": "waits",
    "contention": "contention_warnings",
}


WARNINGS: dict[str, type[TabsessionWarning]] = {
    "contention": ContentionWarning,
    "pat_expiring": PatExpiryWarning,
}
"""Events that also warn, and with which class."""


@dataclass(frozen=True)
class ClientStats:
    """Counters since the client was created. `refreshes` counts sign-ins that replaced a
    session because the policy said it was ending, before any 401 (they are also in
    `sign_ins`); `replays` counts requests sent again after a 401; `waits_seconds` is the total
    time spent waiting to retry."""

    sign_ins: int = 0
    sign_in_failures: int = 0
    refreshes: int = 0
    replays: int = 0
    retries: int = 0
    waits: int = 0
    waits_seconds: float = 0.0
    contention_warnings: int = 0


class Events:
    """Counts, logs and forwards events. Thread-safe."""

    def __init__(self, hook: EventHook | None = None) -> None:
        self._hook = hook
        self._lock = threading.Lock()
        self._counts: dict[str, float] = {}
        self._warned: set[tuple[type[TabsessionWarning], str]] = set()

    def warn_once(self, category: type[TabsessionWarning], message: str, cause: str) -> bool:
        """`warnings.warn(message, category)` unless this client already warned for `cause`
        with that category; True when it warned."""
        with self._lock:
            if (category, cause) in self._warned:
                return False
            self._warned.add((category, cause))
        warnings.warn(message, category, stacklevel=3)
        return True

    def emit(self, event: str, message: str, **fields: Any) -> None:
        counter = _COUNTED.get(event)
        if counter is not None or event == "wait":
            with self._lock:
                if counter is not None:
                    self._counts[counter] = self._counts.get(counter, 0) + 1
                if event == "wait":
                    seconds = float(fields.get("seconds", 0.0))
                    self._counts["waits_seconds"] = self._counts.get("waits_seconds", 0.0) + seconds
        category = WARNINGS.get(event)
        if category is not None:
            self.warn_once(category, message, str(fields.get("cause", event)))
        level = _LEVELS.get(event, logging.INFO)
        if logger.isEnabledFor(level):
            logger.log(level, message, extra={"tabsession_event": event, "tabsession": fields})
        if self._hook is not None:
            try:
                self._hook(event, fields)
            except Exception:  # observability must never break the request it observes
                logger.exception("the on_event hook raised on %r; ignored", event)

    def snapshot(self) -> ClientStats:
        with self._lock:
            counts = dict(self._counts)
        return ClientStats(
            sign_ins=int(counts.get("sign_ins", 0)),
            sign_in_failures=int(counts.get("sign_in_failures", 0)),
            refreshes=int(counts.get("refreshes", 0)),
            replays=int(counts.get("replays", 0)),
            retries=int(counts.get("retries", 0)),
            waits=int(counts.get("waits", 0)),
            waits_seconds=float(counts.get("waits_seconds", 0.0)),
            contention_warnings=int(counts.get("contention_warnings", 0)),
        )
