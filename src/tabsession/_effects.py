"""The I/O vocabulary of tabsession's flows.

Request handling, sign-in and single-flight refresh are written once, as generators that yield
these effects and receive their results; `Client` performs them with blocking calls and threads,
`AsyncClient` with `await`. That keeps the two clients thin and identical in behaviour.

An effect that fails is thrown back into the flow at the `yield`, so flows handle I/O errors with
ordinary try/except (and release locks in `finally`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from tabsession._httpx import Request

__all__ = ["Effect", "Flow", "Resolve", "Send", "Sleep", "StoreOp"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Send `request`; the result is the `Response` with its body read."""

    request: Request


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait `seconds` (instantly under `tabsession.testing.instant_waits()`)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StoreOp:
    """Call `store.<name>(*args)` on the client's token store; the result is what it returns."""

    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolve:
    """Produce `value`: itself, or what it resolves to when it is awaitable (async clients only)."""

    value: Any


Effect = Send | Sleep | StoreOp | Resolve
Flow = Generator[Effect, Any, T]
