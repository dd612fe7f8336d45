"""Helpers shared by the client's integration tests (real HTTP to the emulator).

Counts are read from the emulator (`emu.stats()`, fault-rule counters), never from timings or
log text. A *counter* is a fault rule that never fires (probability 0) but counts the requests it
matches: `rule_counts(emu)` reads them back in the order the rules were set.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Any

from conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET

from tabsession import Password, PersonalAccessToken
from tabsession.emulator import Account, PatSpec
from tabsession.emulator.server import Emulator

ADMIN = Account("admin", ADMIN_PASSWORD, "ServerAdministrator")
PAT_SPEC = PatSpec(PAT_NAME, PAT_SECRET)


def emulator(**fields: Any) -> Emulator:
    """An emulator (not started: use it in `with`) that knows the suite's PAT and password."""
    fields.setdefault("admin", ADMIN)
    fields.setdefault("pats", (PAT_SPEC,))
    return Emulator(**fields)


def pat() -> PersonalAccessToken:
    return PersonalAccessToken(PAT_NAME, PAT_SECRET)


def password() -> Password:
    return Password("admin", ADMIN_PASSWORD)


def counter(path: str, method: str | None = None) -> dict[str, Any]:
    """A fault rule that only counts the requests it matches (it never fires)."""
    rule: dict[str, Any] = {"kind": "latency", "path": path, "probability": 0.0}
    if method is not None:
        rule["method"] = method
    return rule


def rule_stats(emu: Emulator) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = emu.state.faults.describe()["rules"]
    return rules


def matched(emu: Emulator) -> list[int]:
    """How many requests each fault rule matched, in order."""
    return [int(rule["matched"]) for rule in rule_stats(emu)]


def fired(emu: Emulator) -> list[int]:
    return [int(rule["fired"]) for rule in rule_stats(emu)]


def live_tokens(emu: Emulator) -> set[str]:
    return set(emu.state.auth._sessions)


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Events:
    """An `on_event` hook that records every event (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.all: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self.all.append((name, dict(fields)))

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.all]

    def named(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [fields for event, fields in self.all if event == name]


class Sleeps:
    """An injected `sleep` that records the waits and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class AsyncSleeps(Sleeps):
    async def __call__(self, seconds: float) -> None:  # type: ignore[override]
        self.calls.append(seconds)
