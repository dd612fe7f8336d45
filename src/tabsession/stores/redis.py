"""A token store in Redis: one session shared by every process on every host that can reach it.

Requires the `redis` extra (`pip install "tabsession[redis]"`); importing `tabsession.stores`
does not.

Keys (with the default prefix "{tabsession}:"; `<name>` is a keyed hash of the client's key, see
`stores._identity`):

    {tabsession}:secret          32 random bytes (hex) that key every name; set once with SET NX
    {tabsession}:session:<name>  the record, a JSON string (`StoredSession.to_dict()`), expiring
                                 after `record_ttl` seconds without a publish or touch
    {tabsession}:lock:<name>     the sign-in lock: the owner string, set with NX and a TTL

The braces are a Cluster hash tag: every key lives in one slot, so the scripts below (which touch
a record and its lock together) run on Redis Cluster too. A custom prefix needs a tag as well to
be used with a Cluster client (checked).

Every check-and-write is one Lua script, atomic on the server: `publish` writes only if the lock
still holds the caller's owner string and the new generation is greater than the stored one (a
writer whose lock expired, or that lost a race, never overwrites a newer session); `release`
deletes the lock only if it still holds the caller's owner string; `touch` updates
`last_used_at` only if the stored generation still matches. `now()` is the Redis server's clock
(`TIME`), so every host measures a session's age with the same clock.

One shape for both classes: each operation is written once, as a plan (a generator that yields
Redis calls and computes the result from their replies, `_Plans`); `RedisStore` runs plans with
blocking calls, `AsyncRedisStore` awaits them. Every public method is one line.

Failures are bounded: no command retries, and every socket operation times out
(`connect_timeout`, `socket_timeout`), so when Redis is down or hung every method raises
`StoreUnavailable` within about the sum of both timeouts. Rejected credentials raise
`ConfigurationError`. Messages name the server as host:port and never include credentials.
`fallback="local"` wraps the store in a `FallbackStore` (see `stores.fallback`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, AuthorizationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from tabsession.errors import ConfigurationError, StoreUnavailable
from tabsession.stores._identity import (
    KeyedNames,
    decode_secret,
    encode_secret,
    given_secret,
    new_secret,
)
from tabsession.stores.base import StoredSession, poll_delays

__all__ = ["DEFAULT_PREFIX", "AsyncRedisStore", "RedisStore"]

logger = logging.getLogger("tabsession.stores")

Fallback = Literal["error", "local"]
DEFAULT_PREFIX: Final = "{tabsession}:"
_T = TypeVar("_T")

# What a failed call raises: Redis errors, socket errors, asyncio timeouts. Rejected credentials
# are ConnectionErrors in redis-py but a configuration error here.
_FAILURES: Final = (RedisError, OSError, asyncio.TimeoutError)
_UNREACHABLE: Final = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
_REJECTED: Final = (AuthenticationError, AuthorizationError)
_HASH_TAG: Final = re.compile(r"\{[^{}]+\}")
_CLUSTER_CLIENTS: Final = (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)

# KEYS[1] secret; ARGV[1] a fresh secret. Returns the stored secret (ARGV[1] if none was).
_SECRET_LUA: Final = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""

# KEYS[1] lock; ARGV[1] owner.
_RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] lock, KEYS[2] record; ARGV[1] owner, ARGV[2] generation, ARGV[3] record JSON,
# ARGV[4] record TTL (ms), ARGV[5] SHA-1 of a stored value the client read and judged not to be a
# usable record (corrupt, foreign), or "". Returns 1 stored, 0 lock not held by owner, -1 not
# newer. The stored generation fences every value except that judged one, so a value `load()`
# ignores can never block publishing forever, and a value written since the client read it
# (a newer publish, a touch) is always fenced.
_PUBLISH_LUA: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local current = redis.call('GET', KEYS[2])
if current and redis.sha1hex(current) ~= ARGV[5] then
  local ok, record = pcall(cjson.decode, current)
  if ok and type(record) == 'table' then
    local stored = tonumber(record['generation'])
    if stored and stored >= tonumber(ARGV[2]) then
      return -1
    end
  end
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
"""

# KEYS[1] record; ARGV[1] generation, ARGV[2] at, ARGV[3] touched record JSON (built by the
# client from the same generation), ARGV[4] record TTL (ms). Every field but last_used_at is fixed
# for a generation, so writing ARGV[3] changes only last_used_at, and only forward.
_TOUCH_LUA: Final = """
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
local ok, record = pcall(cjson.decode, current)
if not ok or type(record) ~= 'table' then
  return 0
end
if tonumber(record['generation']) ~= tonumber(ARGV[1]) then
  return 0
end
local last = tonumber(record['last_used_at'])
if last and last >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""

# KEYS[1] record, KEYS[2] lock. One atomic snapshot for wait(): {record or false, lock exists}.
_SNAPSHOT_LUA: Final = """
return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2])}
"""


def _where_url(url: str) -> str:
    """host:port (or the socket path) of a Redis URL: never the userinfo or query string."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "unix":
            return f"unix:{parts.path}"
        host = parts.hostname or "localhost"
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{parts.port or 6379}"
    except ValueError:
        return "<unparsable Redis URL>"


def _safe_url(url: str) -> str:
    """The URL without userinfo, query string or fragment (which may carry a password)."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparsable Redis URL>"


def _url_password(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
        query = urllib.parse.parse_qs(parts.query).get("password")
    except ValueError:
        return None
    if password:
        return urllib.parse.unquote(password)
    return query[0] if query else None


def _where_client(client: Any) -> tuple[str, str | None]:
    """host:port and password of a caller-supplied client (plain, Sentinel-managed or Cluster)."""
    if isinstance(client, _CLUSTER_CLIENTS):
        manager = getattr(client, "nodes_manager", None)
        kwargs: dict[str, Any] = dict(getattr(manager, "connection_kwargs", None) or {})
        nodes = client.get_nodes()
        where = f"cluster {nodes[0].host}:{nodes[0].port}" if nodes else "<Redis Cluster>"
    else:
        try:
            kwargs = dict(client.connection_pool.connection_kwargs)
        except AttributeError:
            return "<custom Redis client>", None
        if kwargs.get("path"):
            where = f"unix:{kwargs['path']}"
        else:
            host = str(kwargs.get("host", "localhost"))
            if ":" in host:
                host = f"[{host}]"
            where = f"{host}:{kwargs.get('port', 6379)}"
            service = getattr(client.connection_pool, "service_name", None)
            if service:
                where = f"sentinel service {service}"
    password = kwargs.get("password")
    return where, password if isinstance(password, str) and password else None


# -- one shape for both classes: plans of Redis calls -------------------------------------------


@dataclass(frozen=True)
class _Scripts:
    """The registered Lua scripts (sync or async `Script` objects: same call signature)."""

    secret: Any
    release: Any
    publish: Any
    touch: Any
    snapshot: Any

    @classmethod
    def register(cls, client: Any) -> _Scripts:
        return cls(
            secret=client.register_script(_SECRET_LUA),
            release=client.register_script(_RELEASE_LUA),
            publish=client.register_script(_PUBLISH_LUA),
            touch=client.register_script(_TOUCH_LUA),
            snapshot=client.register_script(_SNAPSHOT_LUA),
        )


# A call: given the client and the scripts, a reply (sync) or an awaitable of one (async).
_Call = Callable[[Any, _Scripts], Any]


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Plan = Generator["_Call | _Sleep", Any, _T]


class _Plans:
    """Every store operation, written once, as a generator of `_Call`s (and `_Sleep`s for
    wait), plus the configuration, key names, decoding and messages both classes share."""

    def __init__(
        self,
        *,
        where: str,
        password: str | None,
        prefix: str,
        record_ttl: float,
        poll_interval: float,
        secret: str | bytes | None,
    ) -> None:
        self.where = where
        self.password = password
        self.prefix = prefix
        self.record_ttl_ms = max(1, round(record_ttl * 1000))
        self.poll_interval = poll_interval
        self._given = KeyedNames(given_secret(secret)) if secret is not None else None
        self._names: KeyedNames | None = None
        self._warned: dict[str, str] = {}
        self._warned_lock = threading.Lock()

    # -- names

    def secret_key(self) -> str:
        return f"{self.prefix}secret"

    def record_key(self, names: KeyedNames, key: str) -> str:
        return f"{self.prefix}session:{names.name(key)}"

    def lock_key(self, names: KeyedNames, key: str) -> str:
        return f"{self.prefix}lock:{names.name(key)}"

    def names(self, *, create: bool, refresh: bool = False) -> _Plan[KeyedNames | None]:
        """The store's names: from the given secret, or the secret key in Redis (cached; with
        `create`, set with SET NX if missing; `refresh` reads it again, as acquire does)."""
        if self._given is not None:
            return self._given
        if self._names is not None and not refresh:
            return self._names
        secret_key = self.secret_key()
        if create:
            fresh = encode_secret(new_secret()).strip()
            raw = yield lambda c, s: s.secret(keys=[secret_key], args=[fresh], client=c)
        else:
            raw = yield lambda c, s: c.get(secret_key)
            if raw is None:
                return None
        secret = decode_secret(raw.encode() if isinstance(raw, str) else raw)
        if secret is None:
            raise StoreUnavailable(
                f"Redis key {secret_key} at {self.where} does not hold a tabsession store "
                "secret; delete it (the next sign-in creates a new one)"
            )
        self._names = KeyedNames(secret)
        return self._names

    def _writable(self, *, refresh: bool = False) -> _Plan[KeyedNames]:
        names = yield from self.names(create=True, refresh=refresh)
        assert names is not None
        return names

    # -- the operations

    def now(self) -> _Plan[float]:
        seconds, microseconds = yield lambda c, s: c.time()
        return int(seconds) + int(microseconds) / 1_000_000

    def load(self, key: str) -> _Plan[StoredSession | None]:
        names = yield from self.names(create=False)
        if names is None:
            return None
        record_key = self.record_key(names, key)
        raw = yield lambda c, s: c.get(record_key)
        return self.decode(names, key, raw)

    def acquire(self, key: str, owner: str, ttl: float) -> _Plan[bool]:
        names = yield from self._writable(refresh=True)
        lock_key, ttl_ms = self.lock_key(names, key), max(1, round(ttl * 1000))
        return bool((yield lambda c, s: c.set(lock_key, owner, nx=True, px=ttl_ms)))

    def release(self, key: str, owner: str) -> _Plan[None]:
        names = yield from self._writable()
        keys = [self.lock_key(names, key)]
        yield lambda c, s: s.release(keys=keys, args=[owner], client=c)

    def publish(self, key: str, record: StoredSession, owner: str) -> _Plan[bool]:
        names = yield from self._writable()
        record_key = self.record_key(names, key)
        raw = yield lambda c, s: c.get(record_key)
        current = self.decode(names, key, raw)
        if current is not None and current.generation >= record.generation:
            return False
        ignorable = "" if raw is None or current is not None else _sha1(raw)
        keys = [self.lock_key(names, key), record_key]
        sealed = _dumps(names.seal(key, record))
        args = [owner, record.generation, sealed, self.record_ttl_ms, ignorable]
        return int((yield lambda c, s: s.publish(keys=keys, args=args, client=c))) == 1

    def touch(self, key: str, generation: int, at: float) -> _Plan[None]:
        names = yield from self.names(create=False)
        if names is None:
            return
        record_key = self.record_key(names, key)
        current = self.decode(names, key, (yield lambda c, s: c.get(record_key)))
        if current is None or current.generation != generation or current.last_used_at >= at:
            return
        args = [generation, repr(float(at)), _dumps(current.touched(at)), self.record_ttl_ms]
        yield lambda c, s: s.touch(keys=[record_key], args=args, client=c)

    def wait(self, key: str, generation: int, timeout: float) -> _Plan[None]:
        deadline = time.monotonic() + max(0.0, timeout)
        names = yield from self.names(create=False)
        if names is None:
            return  # no secret: nobody ever locked anything here
        keys = [self.record_key(names, key), self.lock_key(names, key)]
        for delay in poll_delays(self.poll_interval):
            raw, lock_exists = yield lambda c, s: s.snapshot(keys=keys, client=c)
            record = self.decode(names, key, raw)
            if (record is not None and record.generation > generation) or not int(lock_exists):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield _Sleep(min(delay, remaining))

    # -- replies and errors

    def decode(self, names: KeyedNames, key: str, raw: bytes | str | None) -> StoredSession | None:
        """The stored record, or None (warning once per stored value) if it is not ours."""
        if raw is None:
            self._warned.pop(key, None)
            return None
        data = raw.encode() if isinstance(raw, str) else raw
        parsed = names.parse(key, data)
        if not isinstance(parsed, str):
            self._warned.pop(key, None)
            return parsed
        fingerprint = hashlib.sha256(data).hexdigest()
        with self._warned_lock:
            if self._warned.get(key) == fingerprint:
                return None
            self._warned[key] = fingerprint
        logger.warning(
            "tabsession Redis store is ignoring key %s at %s: it %s.",
            self.record_key(names, key),
            self.where,
            parsed,
        )
        return None

    def error(self, exc: BaseException) -> StoreUnavailable | ConfigurationError:
        detail = (str(exc) or type(exc).__name__).replace(self.password or "\x00", "***")
        if isinstance(exc, _REJECTED):
            return ConfigurationError(f"Redis at {self.where} rejected the credentials: {detail}")
        if isinstance(exc, _UNREACHABLE):
            return StoreUnavailable(f"Redis at {self.where} is unreachable: {detail}")
        return StoreUnavailable(f"Redis at {self.where} failed: {detail}")


def _sha1(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _dumps(record: StoredSession) -> str:
    return json.dumps(record.to_dict(), separators=(",", ":"))


# -- construction, shared ------------------------------------------------------------------------


class _RedisBase:
    """Constructor and properties shared by both classes. Subclasses say what `from_url` builds
    (`_client_class`) and give a no-retry policy of the matching flavour (`_no_retry`)."""

    _client_class: Any
    _no_retry: Callable[[], Any]

    def __new__(cls, *args: Any, fallback: Fallback = "error", **kwargs: Any) -> Any:
        wrapped = _fallback_alias(cls, fallback, args, kwargs)
        return wrapped if wrapped is not None else super().__new__(cls)

    def __init__(
        self,
        target: str | Any = "redis://127.0.0.1:6379/0",
        *,
        client: Any = None,
        prefix: str = DEFAULT_PREFIX,
        record_ttl: float = 86400.0,
        socket_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        poll_interval: float = 0.05,
        username: str | None = None,
        password: str | None = None,
        secret: str | bytes | None = None,
        fallback: Fallback = "error",
    ) -> None:
        del fallback  # handled by __new__: "local" never gets here
        for name, value in (
            ("record_ttl", record_ttl),
            ("socket_timeout", socket_timeout),
            ("connect_timeout", connect_timeout),
            ("poll_interval", poll_interval),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, not {value!r}")
        if client is None and not isinstance(target, str):
            client, target = target, None  # RedisStore(existing_client)
        self._owns_client = client is None
        if client is None:
            url = str(target)
            self._url = _safe_url(url)
            where, url_password = _where_url(url), _url_password(url)
            options: dict[str, Any] = {}
            if username is not None:
                options["username"] = username
            if password is not None:
                options["password"] = password
            try:
                client = self._client_class.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=connect_timeout,
                    retry=type(self)._no_retry(),
                    health_check_interval=0,
                    **options,
                )
            except ValueError:
                raise ValueError(f"invalid Redis URL {self._url!r}") from None
            password = password or url_password
        else:
            where, client_password = _where_client(client)
            self._url = f"<client for {where}>"
            password = password or client_password
        if isinstance(client, _CLUSTER_CLIENTS) and not _HASH_TAG.search(prefix):
            raise ValueError(
                f"prefix {prefix!r} has no hash tag: on Redis Cluster a record and its lock must "
                "share a slot; use a prefix like '{tabsession}:' (the default)"
            )
        self._client = client
        self._scripts = _Scripts.register(client)
        self._plans = _Plans(
            where=where,
            password=password,
            prefix=prefix,
            record_ttl=record_ttl,
            poll_interval=float(poll_interval),
            secret=secret,
        )

    @property
    def prefix(self) -> str:
        return self._plans.prefix

    @property
    def poll_interval(self) -> float:
        return self._plans.poll_interval

    @property
    def client(self) -> Any:
        """The redis-py client this store talks through."""
        return self._client

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r}, prefix={self._plans.prefix!r})"


def _fallback_alias(cls: type, fallback: Fallback, args: Any, kwargs: Any) -> Any:
    """`fallback="local"`: the store wrapped in a FallbackStore (None for plain "error")."""
    if fallback == "error":
        return None
    if fallback != "local":
        raise ValueError(f"fallback must be 'error' or 'local', not {fallback!r}")
    from tabsession.stores import fallback as wrappers

    primary = cls(*args, **kwargs)
    if issubclass(cls, AsyncRedisStore):
        return wrappers.AsyncFallbackStore(primary)
    return wrappers.FallbackStore(primary)


class RedisStore(_RedisBase):
    """Share one session between every process and host that can reach one Redis server.

    `target` is a URL (default a local Redis, `redis://127.0.0.1:6379/0`; `rediss://` for TLS,
    `rediss://user:password@host:6380/0` with an ACL user) or an existing client: a
    `redis.Redis`, one from `Sentinel.master_for()`, or a `redis.cluster.RedisCluster` (also
    accepted as `client=`). `username=`/`password=` keep credentials out of the URL. A client
    given keeps its own timeouts and retries, and `close()` leaves it open.

    `prefix` namespaces the keys: change it to keep separate pools of sessions in one database
    (keep a `{hash tag}` in it for Redis Cluster). `record_ttl` (default one day) is how long a
    record survives without a publish or touch: longer than any Tableau session can idle, short
    enough that abandoned keys disappear. `socket_timeout` and `connect_timeout` (default 2 s
    each) bound every call, so a dead or hung Redis costs at most about their sum before
    `StoreUnavailable`; lower them on a fast local network, raise them over slow links. `wait()`
    polls 5 ms after it starts, then less and less often, at most every `poll_interval` (0.05 s).
    `secret` replaces the random secret kept in Redis (at least 16 bytes): then the Redis keys
    alone reveal nothing about the credentials, even to someone who can read every key.

    `fallback="error"` (default): when Redis is unreachable every method raises
    `StoreUnavailable`. `fallback="local"` returns `FallbackStore(RedisStore(...))` instead: it
    keeps working from process memory while Redis is down and goes back to Redis when it answers.
    """

    _client: redis.Redis
    _client_class = redis.Redis

    @staticmethod
    def _no_retry() -> Any:
        return Retry(NoBackoff(), 0)

    def _run(self, plan: _Plan[_T]) -> _T:
        reply: Any = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
                reply = None
                continue
            try:
                reply = step(self._client, self._scripts)
            except _FAILURES as exc:
                raise self._plans.error(exc) from exc

    def record_key(self, key: str) -> str:
        """The Redis key of `key`'s record (creating the store's secret if it has none)."""
        return self._plans.record_key(self._run(self._plans._writable()), key)

    def lock_key(self, key: str) -> str:
        """The Redis key of `key`'s sign-in lock."""
        return self._plans.lock_key(self._run(self._plans._writable()), key)

    def now(self) -> float:
        """The Redis server's clock (`TIME`), shared by every host using this store."""
        return self._run(self._plans.now())

    def load(self, key: str) -> StoredSession | None:
        return self._run(self._plans.load(key))

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """`SET lock owner NX PX ttl`: the lock expires `ttl` seconds after a crashed holder."""
        return self._run(self._plans.acquire(key, owner, ttl))

    def release(self, key: str, owner: str) -> None:
        self._run(self._plans.release(key, owner))

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Store `record` if `owner` holds the lock and it raises the stored generation (checked
        atomically on the server). A stored value `load()` ignores is overwritten."""
        return self._run(self._plans.publish(key, record, owner))

    def touch(self, key: str, generation: int, at: float) -> None:
        """Update `last_used_at` (and refresh the record's TTL) if `generation` is current.
        Raises `StoreUnavailable` when Redis is unreachable, like every other method."""
        self._run(self._plans.touch(key, generation, at))

    def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll until a newer generation is stored, the lock is free, or `timeout` passes."""
        self._run(self._plans.wait(key, generation, timeout))

    def close(self) -> None:
        """Close the connection pool (only if this store created the client). Never raises."""
        if self._owns_client:
            try:
                self._client.close()
            except _FAILURES as exc:  # pragma: no cover - close rarely fails
                logger.debug("closing %r failed: %s", self, exc)


class AsyncRedisStore(_RedisBase):
    """The asyncio twin of `RedisStore`, on `redis.asyncio` (native async, no threads).

    Same constructor, keys, scripts, defaults and failure behaviour, so sync and async clients on
    any host share one session. Takes a `redis.asyncio.Redis` (or `redis.asyncio.RedisCluster`,
    or one from `redis.asyncio.Sentinel.master_for()`). Use one instance per event loop
    (redis.asyncio connections belong to the loop that opened them) and `await store.close()`.
    """

    _client: redis.asyncio.Redis
    _client_class = redis.asyncio.Redis

    @staticmethod
    def _no_retry() -> Any:
        return AsyncRetry(NoBackoff(), 0)

    async def _run(self, plan: _Plan[_T]) -> _T:
        reply: Any = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(step, _Sleep):
                await asyncio.sleep(step.seconds)
                reply = None
                continue
            try:
                awaitable: Awaitable[Any] = step(self._client, self._scripts)
                reply = await awaitable
            except _FAILURES as exc:
                raise self._plans.error(exc) from exc

    async def record_key(self, key: str) -> str:
        """The Redis key of `key`'s record (creating the store's secret if it has none)."""
        return self._plans.record_key(await self._run(self._plans._writable()), key)

    async def lock_key(self, key: str) -> str:
        """The Redis key of `key`'s sign-in lock."""
        return self._plans.lock_key(await self._run(self._plans._writable()), key)

    async def now(self) -> float:
        """The Redis server's clock (`TIME`), shared by every host using this store."""
        return await self._run(self._plans.now())

    async def load(self, key: str) -> StoredSession | None:
        return await self._run(self._plans.load(key))

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """`SET lock owner NX PX ttl`: the lock expires `ttl` seconds after a crashed holder."""
        return await self._run(self._plans.acquire(key, owner, ttl))

    async def release(self, key: str, owner: str) -> None:
        await self._run(self._plans.release(key, owner))

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Store `record` if `owner` holds the lock and it raises the stored generation."""
        return await self._run(self._plans.publish(key, record, owner))

    async def touch(self, key: str, generation: int, at: float) -> None:
        """Update `last_used_at` (and refresh the record's TTL) if `generation` is current."""
        await self._run(self._plans.touch(key, generation, at))

    async def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll until a newer generation is stored, the lock is free, or `timeout` passes."""
        await self._run(self._plans.wait(key, generation, timeout))

    async def close(self) -> None:
        """Close the connection pool (only if this store created the client). Never raises."""
        if self._owns_client:
            try:
                await self._client.aclose()
            except _FAILURES as exc:  # pragma: no cover - close rarely fails
                logger.debug("closing %r failed: %s", self, exc)
