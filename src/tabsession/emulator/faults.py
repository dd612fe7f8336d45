"""Fault injection: rules that decide, per request, whether something goes wrong.

A rule matches requests by path (a regular expression searched in the path after
`/api/{version}/`), method, and then fires on every Nth match (`every`), with a probability
(`probability`, drawn from a seeded generator so runs repeat), after skipping some matches
(`after`), and at most `times` times. Kinds:

- `latency`: wait `latency_ms` before answering;
- `status`: answer `status` (429, 500, 502, 503, 504, ...) instead of the real response, with an
  optional `Retry-After` (seconds or an HTTP date) and a `body` of `xml`, `json`, `html` or
  `empty` (`auto`: XML/JSON as asked for, HTML for 502/503/504 like a proxy's error page);
- `drop`: close the connection without sending a byte;
- `kill_session`: end the caller's session just before it is checked (the call gets 401002);
- `stale_session`: on a sign-in, make the new session refuse its first use once;
- `job_failure`: a job started by a matching request (`POST workbooks/{id}/refresh`, ...)
  ends Failed instead of Success. The request itself succeeds.

This module decides; the HTTP layer carries out what it decides. Thread-safe.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["FaultDecision", "FaultEngine", "FaultRule"]

FaultKind = Literal["latency", "status", "drop", "kill_session", "stale_session", "job_failure"]
BodyKind = Literal["auto", "xml", "json", "html", "empty"]
_KINDS = ("latency", "status", "drop", "kill_session", "stale_session", "job_failure")
_BODIES = ("auto", "xml", "json", "html", "empty")
MAX_LATENCY_MS = 600_000.0
"""Ten minutes: the most one rule (or the global setting) may delay a request."""
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,200}$")
# JSON types each field accepts (bool is excluded from the numbers on purpose).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "path": (str, type(None)),
    "method": (str, type(None)),
    "every": (int, type(None)),
    "probability": (int, float),
    "after": (int,),
    "times": (int, type(None)),
    "status": (int,),
    "retry_after": (str, int, type(None)),
    "body": (str,),
    "latency_ms": (int, float),
}


@dataclass
class FaultRule:
    kind: FaultKind
    path: str | None = None
    method: str | None = None
    every: int | None = None
    probability: float = 1.0
    after: int = 0
    times: int | None = None
    status: int = 503
    retry_after: str | None = None
    body: BodyKind = "auto"
    latency_ms: float = 0.0
    # counters, kept on the rule so `GET /_emulator/faults` shows them
    matched: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}")
        if self.body not in _BODIES:
            raise ValueError(f"fault body must be one of {', '.join(_BODIES)}")
        if self.every is not None and self.every < 1:
            raise ValueError("every must be at least 1")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.times is not None and self.times < 0:
            raise ValueError("times cannot be negative")
        if self.after < 0:
            raise ValueError("after cannot be negative")
        if not 0.0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"latency_ms must be between 0 and {MAX_LATENCY_MS:g}")
        if self.retry_after is not None and not _HEADER_VALUE.match(str(self.retry_after)):
            raise ValueError("retry_after must be a short printable header value")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("a status fault needs an error status (400-599)")
        if self.method is not None:
            self.method = self.method.upper()
        try:
            self._pattern = re.compile(self.path) if self.path else None
        except re.error as exc:
            raise ValueError(f"bad path pattern {self.path!r}: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError("a fault rule is a JSON object")
        known = {
            "kind", "path", "method", "every", "probability", "after", "times",
            "status", "retry_after", "body", "latency_ms",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule fields: {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a fault rule needs a kind")
        for key, value in data.items():
            allowed = _FIELD_TYPES[key]
            if isinstance(value, bool) or not isinstance(value, allowed):
                names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
                raise ValueError(f"fault rule field '{key}' must be {names}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"fault rule field '{key}' must be finite")
        try:
            rule = cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if rule.retry_after is not None:
            rule.retry_after = str(rule.retry_after)
        return rule

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("_pattern", None)
        return out

    def _matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def _fires(self, rng: random.Random) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        position = self.matched - self.after
        if position <= 0:
            return False
        if self.every is not None and position % self.every != 0:
            return False
        return self.probability >= 1.0 or rng.random() < self.probability


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request. Empty (`latency_ms == 0`, no `respond`) means nothing."""

    latency_ms: float = 0.0
    respond: FaultRule | None = None
    drop: bool = False
    kill_session: bool = False
    stale_session: bool = False
    rules_fired: int = 0
    """How many rules fired for this request (latency rules included)."""

    @property
    def fired(self) -> bool:
        """True when the request's outcome changes (not only its timing)."""
        return bool(self.respond or self.drop or self.kill_session or self.stale_session)


NO_FAULT = FaultDecision()


class FaultEngine:
    """The current rules plus a global latency. `decide()` is called once per API request."""

    def __init__(self, *, latency_ms: float = 0.0, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._base_latency = latency_ms
        self._latency = latency_ms
        self._rules: list[FaultRule] = []
        self._seed = seed
        self._rng = random.Random(seed)

    def configure(
        self,
        *,
        rules: list[FaultRule] | None = None,
        latency_ms: float | None = None,
        append: bool = False,
    ) -> None:
        with self._lock:
            if latency_ms is not None:
                if not 0 <= latency_ms <= MAX_LATENCY_MS:
                    raise ValueError(f"latency_ms must be between 0 and {MAX_LATENCY_MS:g}")
                self._latency = latency_ms
            if rules is not None:
                self._rules = [*self._rules, *rules] if append else list(rules)

    def clear(self) -> None:
        """No rules, the configured base latency, a fresh random sequence."""
        with self._lock:
            self._rules = []
            self._latency = self._base_latency
            self._rng = random.Random(self._seed)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"latency_ms": self._latency, "rules": [r.to_dict() for r in self._rules]}

    def decide(self, method: str, path: str, *, signin: bool = False) -> FaultDecision:
        """Match every rule against one request; the first firing response-rule wins."""
        with self._lock:
            if not self._rules:
                return FaultDecision(latency_ms=self._latency) if self._latency else NO_FAULT
            latency = self._latency
            respond: FaultRule | None = None
            drop = kill = stale = False
            count = 0
            for rule in self._rules:
                if (rule.kind == "stale_session" and not signin) or rule.kind == "job_failure":
                    continue
                if not rule._matches(method, path):
                    continue
                rule.matched += 1
                if respond is not None or drop:
                    continue
                if not rule._fires(self._rng):
                    continue
                rule.fired += 1
                count += 1
                if rule.kind == "latency":
                    latency += rule.latency_ms
                elif rule.kind == "status":
                    respond = rule
                elif rule.kind == "drop":
                    drop = True
                elif rule.kind == "kill_session":
                    kill = True
                else:
                    stale = True
            return FaultDecision(latency, respond, drop, kill, stale, count)

    def job_fails(self, method: str, path: str) -> bool:
        """Whether the job this request starts should fail (a `job_failure` rule fires)."""
        with self._lock:
            fails = False
            for rule in self._rules:
                if rule.kind != "job_failure" or not rule._matches(method, path):
                    continue
                rule.matched += 1
                if not fails and rule._fires(self._rng):
                    rule.fired += 1
                    fails = True
            return fails
