"""When to refresh a session before Tableau ends it (rule R1). Pure logic: no clock, no I/O.

Tableau does not say when a session will end; it depends on server settings the client cannot
read. A `SessionPolicy` states the assumption:

- Tableau Server (`SessionPolicy.server()`): a session ends after 240 minutes without use
  (`wgserver.session.idle_limit`; each call restarts the timer), optionally also at an absolute
  limit (`wgserver.session.lifetime_limit`).
- Tableau Cloud (`SessionPolicy.cloud()`): 120 minutes after sign-in, assumed absolute.

From the remaining time it derives three states, botocore-style:
`FRESH` (use the session), `ADVISORY` (one caller tries to refresh without blocking anyone; if
that fails the current session is still used) and `MANDATORY` (block until a new session exists).
The margins scale with the lifetime: 1/8 of it (at most 15 minutes) for advisory, 1/24 (at most
5 minutes) for mandatory, so a 120-minute session refreshes from minute 105 and must be replaced
by minute 115. The reactive path (sign in again on a 401) covers whatever the policy misjudges.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Freshness", "SessionPolicy"]

MINUTE = 60.0


class Freshness(enum.Enum):
    FRESH = "fresh"
    ADVISORY = "advisory"
    MANDATORY = "mandatory"


@dataclass(frozen=True)
class SessionPolicy:
    """Lifetime assumptions (seconds). `idle`: ends after that long unused; `absolute`: ends that
    long after sign-in; either may be None (no such limit). Margins None: derived (see module)."""

    idle: float | None = 240 * MINUTE
    absolute: float | None = None
    advisory_margin: float | None = None
    mandatory_margin: float | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        for label, value in (("idle", self.idle), ("absolute", self.absolute)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{label} lifetime must be a positive number of seconds")
        for label, value in (
            ("advisory_margin", self.advisory_margin),
            ("mandatory_margin", self.mandatory_margin),
        ):
            if value is not None and value < 0:
                raise ValueError(f"{label} cannot be negative")
        if self.advisory < self.mandatory:
            raise ValueError("the advisory margin must be at least the mandatory margin")

    # -- presets ---------------------------------------------------------------------------------

    @classmethod
    def server(cls, idle: float = 240 * MINUTE, absolute: float | None = None) -> SessionPolicy:
        """Tableau Server: `idle` seconds without use (default 240 minutes), plus the optional
        absolute `lifetime_limit` when your server applies one."""
        return cls(idle=idle, absolute=absolute, name="server")

    @classmethod
    def cloud(cls, absolute: float = 120 * MINUTE) -> SessionPolicy:
        """Tableau Cloud: `absolute` seconds after sign-in (default 120 minutes)."""
        return cls(idle=None, absolute=absolute, name="cloud")

    @classmethod
    def reactive_only(cls) -> SessionPolicy:
        """Never refresh ahead of time; only sign in again after a 401."""
        return cls(idle=None, absolute=None, name="reactive-only")

    @classmethod
    def for_server_url(cls, url: str) -> SessionPolicy:
        """The default: `cloud()` for *.online.tableau.com, `server()` for anything else."""
        host = (urlsplit(url if "//" in url else f"https://{url}").hostname or "").lower()
        cloud = host == "online.tableau.com" or host.endswith(".online.tableau.com")
        return cls.cloud() if cloud else cls.server()

    # -- decisions -------------------------------------------------------------------------------

    @property
    def lifetime(self) -> float:
        """The shortest configured limit (inf when there is none)."""
        limits = [v for v in (self.idle, self.absolute) if v is not None]
        return min(limits) if limits else math.inf

    @property
    def advisory(self) -> float:
        if self.advisory_margin is not None:
            return self.advisory_margin
        return 0.0 if math.isinf(self.lifetime) else min(15 * MINUTE, self.lifetime / 8)

    @property
    def mandatory(self) -> float:
        if self.mandatory_margin is not None:
            return self.mandatory_margin
        derived = 0.0 if math.isinf(self.lifetime) else min(5 * MINUTE, self.lifetime / 24)
        # an explicit advisory margin below the derived mandatory one lowers the mandatory one
        return min(derived, self.advisory)

    def remaining(self, age: float, idle_for: float) -> float:
        """Seconds until the server is expected to end a session `age` seconds old, last used
        `idle_for` seconds ago."""
        left = math.inf
        if self.idle is not None:
            left = min(left, self.idle - idle_for)
        if self.absolute is not None:
            left = min(left, self.absolute - age)
        return left

    def freshness(self, age: float, idle_for: float) -> Freshness:
        """FRESH, ADVISORY or MANDATORY (strictly below a margin moves to the next state)."""
        left = self.remaining(age, idle_for)
        if left < self.mandatory or left <= 0:
            return Freshness.MANDATORY
        if left < self.advisory:
            return Freshness.ADVISORY
        return Freshness.FRESH

    def describe(self) -> str:
        parts = []
        if self.idle is not None:
            parts.append(f"idle {self.idle / MINUTE:g} min")
        if self.absolute is not None:
            parts.append(f"absolute {self.absolute / MINUTE:g} min")
        return f"{self.name} ({', '.join(parts) or 'no limit'})"
