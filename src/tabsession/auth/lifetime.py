"""Learning the server's real session lifetime from the sessions it ends (rule R10b). Pure logic.

The configured `SessionPolicy` is an assumption (240 idle minutes on Server, 120 absolute on
Cloud). A server may be set otherwise; tabsession cannot read its settings, but it sees when
its sessions die. Each death (a 401 on a session nobody here ended) is one `Death`: its age and
how long it had been idle. From those:

- a death after a long idle stretch (idle for at least half its age) teaches an idle limit;
  any other teaches an absolute one;
- the first sample of a kind is provisional: it applies for `PROVISIONAL_SPAN` lifetimes, then
  the client lets one session run its course again. A second death within `TOLERANCE` of the
  learned value confirms it for good; a session seen alive well past it
  (`DISPROVED_AT` times the value) withdraws it. So one random early kill costs a few extra
  refreshes, never a permanent change;
- random early deaths never shrink a learned value: it shrinks only when two deaths in a row
  agree on a shorter one;
- nothing under `FLOOR` seconds is learned: no real server ends sessions that fast, and such
  deaths are what the PAT breaker looks at (another sign-in, an administrator);
- the result travels in the store record, so every worker sharing the store benefits.

`LearnedLifetime.apply(policy)` gives the policy to follow: each limit is the shorter of the
configured and the learned one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from tabsession.auth.policy import SessionPolicy

__all__ = ["FLOOR", "Death", "LearnedLifetime"]

FLOOR = 10.0
"""Seconds: the shortest lifetime ever learned (so the floor on how often the client refreshes)."""
TOLERANCE = 0.15
"""Two deaths agree when they differ by at most this fraction."""
PROVISIONAL_SPAN = 3.5
"""A one-sample value applies for this many of its lifetimes after it was learned."""
DISPROVED_AT = 1.5
"""A session alive at this multiple of a provisional value disproves it."""


@dataclass(frozen=True, slots=True)
class Death:
    """One session the server ended: store time of the refused request, the session's age then,
    and how long it had gone unused before that request."""

    at: float
    age: float
    idle: float

    @property
    def kind(self) -> str:
        return "idle" if self.idle >= FLOOR and self.idle >= self.age / 2 else "absolute"

    @property
    def span(self) -> float:
        """The limit this death suggests: its idle time or its age."""
        return self.idle if self.kind == "idle" else self.age


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(a, b)


@dataclass(frozen=True, slots=True)
class Learned:
    """What was learned for one kind of limit."""

    value: float
    confirmed: bool
    learned_at: float
    candidate: float = 0.0
    """A shorter value seen once since: a second agreeing death adopts it."""

    def applies(self, now: float) -> bool:
        return self.confirmed or now - self.learned_at < PROVISIONAL_SPAN * self.value

    def observe(self, span: float, at: float) -> Learned:
        if _agree(span, self.value):
            return Learned(min(span, self.value), True, self.learned_at)
        if span < self.value:
            if self.candidate and _agree(span, self.candidate):
                return Learned(min(span, self.candidate), True, at)
            return replace(self, candidate=span)
        # longer than learned: only a provisional value (one early kill) gives way
        return self if self.confirmed else Learned(span, False, at)


@dataclass(frozen=True, slots=True)
class LearnedLifetime:
    """The lifetimes learned so far for one store key (None: nothing learned of that kind)."""

    absolute: Learned | None = None
    idle: Learned | None = None

    def observe(self, death: Death) -> LearnedLifetime:
        span = death.span
        if not (span >= FLOOR and math.isfinite(span)):
            return self
        kind = death.kind
        current: Learned | None = getattr(self, kind)
        learned = (
            Learned(span, False, death.at) if current is None else current.observe(span, death.at)
        )
        return replace(self, **{kind: learned})

    def seen_alive(self, age: float, idle: float) -> LearnedLifetime:
        """A session answered at `age` after `idle` seconds unused: withdraw what that disproves."""
        absolute, idle_limit = self.absolute, self.idle
        if absolute is not None and not absolute.confirmed and age > DISPROVED_AT * absolute.value:
            absolute = None
        if (
            idle_limit is not None
            and not idle_limit.confirmed
            and idle > DISPROVED_AT * (idle_limit.value)
        ):
            idle_limit = None
        if absolute is self.absolute and idle_limit is self.idle:
            return self
        return LearnedLifetime(absolute, idle_limit)

    def limits(self, now: float) -> tuple[float | None, float | None]:
        """(idle, absolute) seconds that apply at store time `now`."""
        idle = self.idle.value if self.idle is not None and self.idle.applies(now) else None
        absolute = (
            self.absolute.value
            if self.absolute is not None and self.absolute.applies(now)
            else None
        )
        return idle, absolute

    def apply(self, policy: SessionPolicy, now: float) -> SessionPolicy:
        """`policy` with each limit shortened to the learned one where that applies."""
        idle, absolute = self.limits(now)
        if idle is None and absolute is None:
            return policy
        new_idle = _shorter(policy.idle, idle)
        new_absolute = _shorter(policy.absolute, absolute)
        if new_idle == policy.idle and new_absolute == policy.absolute:
            return policy
        return SessionPolicy(idle=new_idle, absolute=new_absolute, name=f"{policy.name}+learned")

    def describe(self, now: float) -> str:
        idle, absolute = self.limits(now)
        parts = []
        if idle is not None:
            parts.append(f"idle {idle:.0f}s")
        if absolute is not None:
            parts.append(f"absolute {absolute:.0f}s")
        return ", ".join(parts)

    # -- the store record's form -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind in ("absolute", "idle"):
            learned: Learned | None = getattr(self, kind)
            if learned is not None:
                out[kind] = [
                    learned.value,
                    learned.confirmed,
                    learned.learned_at,
                    learned.candidate,
                ]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> LearnedLifetime:
        """Lenient: anything unexpected is simply not learned."""
        if not isinstance(data, dict):
            return cls()
        found: dict[str, Learned] = {}
        for kind in ("absolute", "idle"):
            raw = data.get(kind)
            try:
                value, confirmed, learned_at, candidate = raw  # type: ignore[misc]
                learned = Learned(
                    float(value), bool(confirmed), float(learned_at), float(candidate)
                )
            except (TypeError, ValueError):
                continue
            if learned.value >= FLOOR and math.isfinite(learned.value):
                found[kind] = learned
        return cls(**found)


def _shorter(configured: float | None, learned: float | None) -> float | None:
    if learned is None:
        return configured
    return learned if configured is None else min(configured, learned)
