"""The proxy's own sessions: the tokens it hands to its clients, never sent upstream.

A local token stands for "a client that signed in to the proxy". It carries no upstream state:
every forwarded request uses the one live upstream session, whatever local token it came with.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LOCAL_TOKEN_PREFIX", "LocalSession", "LocalSessions"]

LOCAL_TOKEN_PREFIX = "tsp-"
"""Every local token starts with this, so a leaked one is recognisable as the proxy's (and is
useless anywhere else)."""


@dataclass
class LocalSession:
    """One client's sign-in at the proxy. `key` names the access key it used (never a secret)."""

    key: str
    created: float
    last_used: float


class LocalSessions:
    """Local tokens, ended by sign-out, by `idle_timeout` seconds without use, or, beyond
    `max_sessions`, oldest-used first (tools such as tabcmd sign in on every command and never
    sign out, so the table must stay bounded).

    The defaults (8 idle hours, 10,000 sessions) keep a day of scripted use alive; lower them
    when many untrusted clients share the proxy. `clock` is injectable for tests.
    """

    def __init__(
        self,
        *,
        idle_timeout: float = 8 * 3600.0,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if idle_timeout <= 0 or max_sessions < 1:
            raise ValueError("idle_timeout must be positive and max_sessions at least 1")
        self._idle = idle_timeout
        self._max = max_sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, LocalSession] = OrderedDict()
        self.created = 0
        self.ended = 0
        self.expired = 0
        self.evicted = 0

    def issue(self, key: str) -> str:
        """A new local token for a client that proved it holds access key `key`."""
        token = LOCAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._sessions[token] = LocalSession(key, now, now)
            self.created += 1
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
                self.evicted += 1
        return token

    def use(self, token: str | None) -> LocalSession | None:
        """The live session of `token` (its idle clock restarted), or None if there is none."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_used >= self._idle:
                del self._sessions[token]
                self.expired += 1
                return None
            session.last_used = now
            self._sessions.move_to_end(token)
            return session

    def end(self, token: str | None) -> bool:
        """Sign-out: end `token`'s session. False if it was not live."""
        if self.use(token) is None:
            return False
        with self._lock:
            if self._sessions.pop(token or "", None) is None:
                return False
            self.ended += 1
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def __repr__(self) -> str:
        return f"LocalSessions({len(self)} live)"
