"""The token-store contract: where a signed-in session lives so that everyone who shares the
store shares one session (and one sign-in per expiry).

A store holds one `StoredSession` record per key, plus a lock per key. Keys come from
`session_key(server, site, credential_id)`: one record per server + site + credential identity.

The client's single-flight rule (R3) is written once, against this protocol:

1. `load(key)`: if the record's generation is newer than the one that failed, use it.
2. otherwise `acquire(key, owner, ttl)` (never blocks); the winner re-reads, signs in, and
   `publish()`es generation `max(seen) + 1`; the store refuses a publish from a non-owner or one
   that does not raise the generation (fencing: a late writer never overwrites a newer session);
   then `release(key, owner)`.
3. losers `wait(key, generation, timeout)` until a newer generation appears or the lock is free,
   and go back to step 1.

Stores that persist records (FileStore, RedisStore) never write the client's key or
`credential_id` as given (for a password, both are plain hashes of it): both are replaced by
HMACs keyed by a random per-store secret (`stores._identity.KeyedNames`; a custom store that
persists should use it too), so a loaded record's `credential_id` is the store's, not the one
published. Every other field round-trips.

Stores never see secrets: a record holds the session token (which is what is shared), never a
password, PAT secret or JWT. `StoredSession.__repr__` hides the token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AsyncTokenStore",
    "StoredSession",
    "TokenStore",
    "poll_delays",
    "session_key",
]

RECORD_FORMAT = 1


def session_key(server: str, site_content_url: str, credential_id: str) -> str:
    """The store key for one server + site + credential identity (a short, filename-safe hash)."""
    raw = f"{server.rstrip('/').lower()}\x00{site_content_url.lower()}\x00{credential_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


FIRST_POLL: float = 0.005
"""The first delay of a store's polling wait(): short, so that a waiter notices another worker's
sign-in almost as fast as an in-memory wait would."""


def poll_delays(limit: float, first: float = FIRST_POLL) -> Iterator[float]:
    """Delays between the polls of a wait(): `first` (5 ms), growing by half each time, up to
    `limit` (a store's `poll_interval`). Endless: the caller stops at its deadline."""
    delay = min(first, limit)
    while True:
        yield delay
        delay = min(limit, delay * 1.5)


@dataclass(frozen=True)
class StoredSession:
    """One live (or last known) Tableau session, as shared through a store.

    Times are epoch seconds read from the store's own clock (`TokenStore.now()`), so every reader
    of a record measures ages against the same clock even when hosts' clocks disagree.
    """

    token: str = field(repr=False)
    site_id: str
    site_content_url: str
    """The site as the client names it (its key is derived from it)."""
    user_id: str
    generation: int
    signed_in_at: float
    last_used_at: float
    server: str
    """The server URL as configured (the key is derived from it, with the site and credential)."""
    credential_id: str
    api_version: str = ""
    origin: str = ""
    """Where API calls go when that differs from `server` (a Tableau Cloud pod after a sign-in
    redirect); empty otherwise."""
    young_deaths: tuple[tuple[float, float, float], ...] = ()
    """Recent sessions of this key that died young: (store time, age, idle seconds), newest last.
    The PAT breaker reads them (`tabsession.auth.breaker`)."""
    learned: dict[str, Any] = field(default_factory=dict)
    """The session lifetimes learned from the server so far (`tabsession.auth.lifetime`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "token": self.token,
            "site_id": self.site_id,
            "site_content_url": self.site_content_url,
            "user_id": self.user_id,
            "generation": self.generation,
            "signed_in_at": self.signed_in_at,
            "last_used_at": self.last_used_at,
            "server": self.server,
            "credential_id": self.credential_id,
            "api_version": self.api_version,
            "origin": self.origin,
            "young_deaths": [list(d) for d in self.young_deaths],
            "learned": dict(self.learned),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredSession:
        """Rebuild a record; raises `ValueError` on anything that is not a record we wrote."""
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise ValueError("not a tabsession session record")
        try:
            return cls(
                token=str(data["token"]),
                site_id=str(data["site_id"]),
                site_content_url=str(data["site_content_url"]),
                user_id=str(data["user_id"]),
                generation=int(data["generation"]),
                signed_in_at=float(data["signed_in_at"]),
                last_used_at=float(data["last_used_at"]),
                server=str(data["server"]),
                credential_id=str(data["credential_id"]),
                api_version=str(data.get("api_version", "")),
                origin=str(data.get("origin", "")),
                young_deaths=tuple(
                    (float(at), float(age), float(idle))
                    for at, age, idle in data.get("young_deaths", ())
                ),
                learned=dict(data.get("learned") or {}),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"malformed tabsession session record: {exc}") from None

    def touched(self, at: float) -> StoredSession:
        return replace(self, last_used_at=max(self.last_used_at, at))


@runtime_checkable
class TokenStore(Protocol):
    """Synchronous store. Every method is bounded: none blocks longer than its timeout."""

    def now(self) -> float:
        """Epoch seconds by the store's clock (Redis: the server's TIME; others: this host)."""
        ...

    def load(self, key: str) -> StoredSession | None:
        """The record under `key`, or None.

        Missing and expired records are None; corrupt or foreign ones too, with a warning."""
        ...

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Try once, without blocking, to take the sign-in lock for `key`.

        `ttl` bounds how long a lock held by a crashed owner survives (stores whose locks die with
        their process may ignore it). Re-acquiring a lock the same owner holds returns False.
        """
        ...

    def release(self, key: str, owner: str) -> None:
        """Release the lock if (and only if) `owner` holds it."""
        ...

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Store `record` if `owner` holds the lock and `record.generation` is greater than the
        stored one (or nothing is stored). Returns False, storing nothing, otherwise."""
        ...

    def touch(self, key: str, generation: int, at: float) -> None:
        """Best effort: note a use of `generation` at store time `at` (ignored if superseded)."""
        ...

    def wait(self, key: str, generation: int, timeout: float) -> None:
        """Return when the stored generation exceeds `generation`, the lock is free, or
        `timeout` seconds pass, whichever comes first. May return early: callers re-check."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTokenStore(Protocol):
    """The asyncio twin of `TokenStore`: same methods, same meaning, awaitable."""

    async def now(self) -> float: ...

    async def load(self, key: str) -> StoredSession | None: ...

    async def acquire(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool: ...

    async def touch(self, key: str, generation: int, at: float) -> None: ...

    async def wait(self, key: str, generation: int, timeout: float) -> None: ...

    async def close(self) -> None: ...
