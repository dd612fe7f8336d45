"""Driving tabsession's effect flows by hand: a scripted interpreter for unit tests.

`Script` answers `Send` effects with canned `httpx.Response`s (from a function of the request),
performs store effects on a real store, records `Sleep`s without sleeping, and resolves `Resolve`s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tabsession._effects import Flow, Resolve, Send, Sleep, StoreEffect, drive
from tabsession.clock import ManualClock
from tabsession.stores.memory import MemoryStore

T = TypeVar("T")
Responder = Callable[[httpx.Request], httpx.Response]


class ClockedStore(MemoryStore):
    """A MemoryStore whose `now()` is a ManualClock's wall time (so store ages follow it)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock

    def now(self) -> float:
        return self.clock.time()


class Script:
    def __init__(self, responder: Responder, store: Any = None) -> None:
        self.responder = responder
        self.store = store
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def run(self, flow: Flow[T]) -> T:
        return drive(flow, self.perform)

    def perform(self, effect: Any) -> Any:
        if isinstance(effect, Send):
            request = effect.request
            request.read()
            self.requests.append(request)
            response = self.responder(request)
            response.request = request
            response.read()
            return response
        if isinstance(effect, StoreEffect):
            assert self.store is not None, f"unexpected store operation {effect!r}"
            return effect.call(self.store)
        if isinstance(effect, Sleep):
            self.sleeps.append(effect.seconds)
            return None
        if isinstance(effect, Resolve):
            return effect.value
        raise AssertionError(f"unknown effect {effect!r}")

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(data).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def error_response(status: int, code: str, summary: str = "s", detail: str = "d") -> httpx.Response:
    return json_response(status, {"error": {"code": code, "summary": summary, "detail": detail}})


def credentials_response(
    token: str, site_id: str = "site-1", content_url: str = "", expires: str | None = None
) -> httpx.Response:
    credentials: dict[str, Any] = {
        "token": token,
        "site": {"id": site_id, "contentUrl": content_url},
        "user": {"id": "user-1"},
    }
    if expires is not None:
        credentials["estimatedTimeToExpiration"] = expires
    return json_response(200, {"credentials": credentials})
