"""Token stores: where a signed-in session lives so that every client sharing the store shares one
session (and one sign-in per expiry).

    MemoryStore / AsyncMemoryStore       one process (the default)
    FileStore / AsyncFileStore           every process of one user on one host (a 0700 directory)
    RedisStore / AsyncRedisStore         every process on every host reaching one Redis
                                         (needs the "redis" extra: pip install "tabsession[redis]")
    FallbackStore / AsyncFallbackStore   wraps a shared store: process memory while it is down
    ThreadedAsyncStore                   wraps any sync store for asyncio (worker threads)

Persistent stores name records with an HMAC of the client's key, keyed by a random secret per
store (see `stores._identity`): without that secret nothing they hold can be matched against a
password dictionary, and with `secret=` kept outside the store, not even with all of it.

`RedisStore` and `AsyncRedisStore` are imported on first access, so using the other stores never
requires the redis package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tabsession.stores._threaded import ThreadedAsyncStore
from tabsession.stores.base import AsyncTokenStore, StoredSession, TokenStore, session_key
from tabsession.stores.fallback import AsyncFallbackStore, FallbackStore
from tabsession.stores.file import AsyncFileStore, FileStore
from tabsession.stores.memory import AsyncMemoryStore, MemoryStore

if TYPE_CHECKING:
    from tabsession.stores.redis import AsyncRedisStore, RedisStore

__all__ = [
    "AsyncFallbackStore",
    "AsyncFileStore",
    "AsyncMemoryStore",
    "AsyncRedisStore",
    "AsyncTokenStore",
    "FallbackStore",
    "FileStore",
    "MemoryStore",
    "RedisStore",
    "StoredSession",
    "ThreadedAsyncStore",
    "TokenStore",
    "session_key",
]

_LAZY = frozenset({"RedisStore", "AsyncRedisStore"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            from tabsession.stores import redis as redis_store
        except ImportError as exc:
            if exc.name is not None and exc.name.split(".")[0] == "redis":
                raise ImportError(
                    f"tabsession.stores.{name} needs the redis package: "
                    'pip install "tabsession[redis]"',
                    name=exc.name,
                ) from exc
            raise
        value = getattr(redis_store, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
