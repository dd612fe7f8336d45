"""A token store in Redis: one session shared by every process on every host that can reach it.

Requires the `redis` extra (`pip install "tabsession[redis]"`); importing `tabsession.stores`
does not.

Keys (with the default prefix "tabsession:"):

    tabsession:session:<key>   the record, a JSON string (`StoredSession.to_dict()`), expiring
                               after `record_ttl` seconds without a publish or touch
    tabsession:lock:<key>      the sign-in lock: the owner string, set with NX and a TTL

Every check-and-write is one Lua script, so it is atomic on the server: `publish` writes only if
the lock still holds the caller's owner string and the new generation is greater than the stored
one (a writer whose lock expired, or that lost a race, can never overwrite a newer session);
`release` deletes the lock only if it still holds the caller's owner string; `touch` updates
`last_used_at` only if the stored generation still matches. `now()` is the Redis server's clock
(`TIME`), so every host measures a session's age with the same clock.

Failures are bounded: no command retries, and every socket operation times out
(`connect_timeout`, `socket_timeout`), so when Redis is down or hung every method raises
`StoreUnavailable` within about the sum of both timeouts (or, with `fallback="local"`, switches
to an in-process store). Messages name the server as host:port and never include credentials.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, TypeVar

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, AuthorizationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from tabsession.errors import StoreUnavailable
from tabsession.stores.base import StoredSession, session_key
from tabsession.stores.memory import AsyncMemoryStore, MemoryStore

__all__ = ["AsyncRedisStore", "RedisStore"]

logger = logging.getLogger("tabsession.stores")

Fallback = Literal["error", "local"]
_T = TypeVar("_T")
_Arg = str | int | float

# Errors meaning "cannot talk to Redis" (as opposed to Redis answering with an error). Rejected
# credentials are ConnectionErrors in redis-py but a configuration error here: never "unreachable",
# never a reason to fall back.
_UNREACHABLE: Final = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
_REJECTED: Final = (AuthenticationError, AuthorizationError)


def _unreachable(exc: BaseException) -> bool:
    return isinstance(exc, _UNREACHABLE) and not isinstance(exc, _REJECTED)


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


def _where(url: str) -> str:
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


def _client_where(client: Any) -> tuple[str, str | None]:
    """host:port and password of a caller-supplied client's connection pool."""
    try:
        kwargs = dict(client.connection_pool.connection_kwargs)
    except AttributeError:
        return "<custom Redis client>", None
    password = kwargs.get("password")
    password = password if isinstance(password, str) and password else None
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}", password
    host = str(kwargs.get("host", "localhost"))
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{kwargs.get('port', 6379)}", password


class _RedisCommon:
    """What the sync and async stores share: configuration, key names, decoding, messages."""

    def __init__(
        self,
        url: str,
        *,
        client_supplied: Any,
        prefix: str,
        record_ttl: float,
        socket_timeout: float,
        connect_timeout: float,
        poll_interval: float,
        fallback: Fallback,
    ) -> None:
        if fallback not in ("error", "local"):
            raise ValueError(f"fallback must be 'error' or 'local', not {fallback!r}")
        for name, value in (
            ("record_ttl", record_ttl),
            ("socket_timeout", socket_timeout),
            ("connect_timeout", connect_timeout),
            ("poll_interval", poll_interval),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, not {value!r}")
        self._prefix = prefix
        self._record_ttl_ms = max(1, round(record_ttl * 1000))
        self._socket_timeout = float(socket_timeout)
        self._connect_timeout = float(connect_timeout)
        self._poll_interval = float(poll_interval)
        self._fallback: Fallback = fallback
        if client_supplied is not None:
            self._where, self._password = _client_where(client_supplied)
            self._url = f"<client for {self._where}>"
        else:
            self._where = _where(url)
            self._password = _url_password(url)
            self._url = _safe_url(url)
        self._warned: dict[str, str] = {}
        self._warned_lock = threading.Lock()

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    def _record_key(self, key: str) -> str:
        return f"{self._prefix}session:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self._prefix}lock:{key}"

    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _error(self, exc: BaseException) -> StoreUnavailable:
        detail = self._scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, _REJECTED):
            return StoreUnavailable(f"Redis at {self._where} rejected the credentials: {detail}")
        if _unreachable(exc):
            return StoreUnavailable(f"Redis at {self._where} is unreachable: {detail}")
        return StoreUnavailable(f"Redis at {self._where} failed: {detail}")

    def _degradation_warning(self, exc: BaseException) -> None:
        logger.warning(
            "%s: Redis at %s is unreachable (%s). fallback='local': this store now keeps "
            "sessions in this process's memory for the rest of its life, even if Redis comes "
            "back; other processes and hosts no longer share its session.",
            type(self).__name__,
            self._where,
            self._scrub(str(exc)) or type(exc).__name__,
        )

    def _decode(self, key: str, raw: bytes | str | None) -> StoredSession | None:
        """The stored record, or None (warning once per stored value) if it is not ours."""
        if raw is None:
            self._warned.pop(key, None)
            return None
        data = raw.encode() if isinstance(raw, str) else raw
        try:
            record = StoredSession.from_dict(json.loads(data))
        except (ValueError, OverflowError, RecursionError):
            # Deliberately vague: parser messages can quote the value (a token).
            reason = "is corrupt or not a tabsession session record"
        else:
            if session_key(record.server, record.site_content_url, record.credential_id) == key:
                self._warned.pop(key, None)
                return record
            reason = "holds a session for another server, site or credential than its key says"
        fingerprint = hashlib.sha256(data).hexdigest()
        with self._warned_lock:
            if self._warned.get(key) == fingerprint:
                return None
            self._warned[key] = fingerprint
        logger.warning(
            "tabsession %s is ignoring Redis key %s at %s: it %s.",
            type(self).__name__,
            self._record_key(key),
            self._where,
            reason,
        )
        return None

    def _judge(self, key: str, raw: bytes | str | None) -> tuple[StoredSession | None, str]:
        """The usable record in `raw` (or None), and the SHA-1 of `raw` when it is a value that
        `load()` ignores (so `publish` may overwrite it), else ""."""
        record = self._decode(key, raw)
        if raw is None or record is not None:
            return record, ""
        data = raw.encode() if isinstance(raw, str) else raw
        return None, hashlib.sha1(data, usedforsecurity=False).hexdigest()

    def _settled(self, key: str, generation: int, snapshot: Any) -> bool:
        raw, lock_exists = snapshot
        record = self._decode(key, raw)
        return (record is not None and record.generation > generation) or not int(lock_exists)

    @staticmethod
    def _ttl_ms(ttl: float) -> int:
        return max(1, round(ttl * 1000))

    @staticmethod
    def _dumps(record: StoredSession) -> str:
        return json.dumps(record.to_dict(), separators=(",", ":"))


class RedisStore(_RedisCommon):
    """Share one session between every process and host that can reach one Redis server.

    `url` defaults to a local Redis (`redis://127.0.0.1:6379/0`); credentials and TLS go in the
    URL (`rediss://user:password@host:6380/0`), or pass a ready `client=` (a `redis.Redis`; its
    own timeouts and retries then apply, and `close()` leaves it open).

    `prefix` namespaces the keys: change it to keep separate pools of sessions in one database.
    `record_ttl` (default one day) is how long a record survives without a publish or touch:
    longer than any Tableau session can idle, short enough that abandoned keys disappear.
    `socket_timeout` and `connect_timeout` (default 2 s each) bound every call, so a dead or hung
    Redis costs at most about their sum before `StoreUnavailable`; lower them on a fast local
    network, raise them over slow links. `wait()` polls every `poll_interval` (default 0.05 s).

    `fallback="error"` (default): when Redis is unreachable every method raises
    `StoreUnavailable`. `fallback="local"`: on the first unreachable call the store logs one
    warning and from then on behaves like an in-process `MemoryStore` for the rest of its life
    (even if Redis comes back), so the process keeps working but no longer shares its session.
    Redis answering with an error (e.g. a read-only replica) always raises `StoreUnavailable`.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: redis.Redis | None = None,
        prefix: str = "tabsession:",
        record_ttl: float = 86400.0,
        socket_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        poll_interval: float = 0.05,
        fallback: Fallback = "error",
    ) -> None:
        super().__init__(
            url,
            client_supplied=client,
            prefix=prefix,
            record_ttl=record_ttl,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            poll_interval=poll_interval,
            fallback=fallback,
        )
        self._owns_client = client is None
        if client is None:
            try:
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=connect_timeout,
                    retry=Retry(NoBackoff(), 0),
                    health_check_interval=0,
                )
            except ValueError:
                raise ValueError(f"invalid Redis URL {self._url!r}") from None
        self._client: redis.Redis = client
        self._release_script = client.register_script(_RELEASE_LUA)
        self._publish_script = client.register_script(_PUBLISH_LUA)
        self._touch_script = client.register_script(_TOUCH_LUA)
        self._snapshot_script = client.register_script(_SNAPSHOT_LUA)
        self._local: MemoryStore | None = None
        self._degrade_lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """True once `fallback="local"` has switched this store to process memory."""
        return self._local is not None

    def _redis(self, call: Callable[[], _T]) -> _T | MemoryStore:
        """Run one Redis call. On failure raise `StoreUnavailable`, or (fallback="local" and
        Redis unreachable) return the in-process store the caller must use instead."""
        try:
            return call()
        except (RedisError, OSError) as exc:
            if self._fallback == "local" and _unreachable(exc):
                return self._degrade(exc)
            raise self._error(exc) from exc

    def _degrade(self, exc: BaseException) -> MemoryStore:
        with self._degrade_lock:
            if self._local is None:
                self._local = MemoryStore()
                self._degradation_warning(exc)
            return self._local

    def now(self) -> float:
        """The Redis server's clock (`TIME`), shared by every host using this store."""
        local = self._local
        if local is None:
            result = self._redis(self._client.time)
            if not isinstance(result, MemoryStore):
                seconds, microseconds = result
                return int(seconds) + int(microseconds) / 1_000_000
            local = result
        return local.now()

    def load(self, key: str) -> StoredSession | None:
        local = self._local
        if local is None:
            result = self._redis(lambda: self._client.get(self._record_key(key)))
            if not isinstance(result, MemoryStore):
                return self._decode(key, result)
            local = result
        return local.load(key)

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """`SET lock owner NX PX ttl`: the lock expires `ttl` seconds after a crashed holder."""
        local = self._local
        if local is None:
            lock_key, ttl_ms = self._lock_key(key), self._ttl_ms(ttl)
            result = self._redis(lambda: self._client.set(lock_key, owner, nx=True, px=ttl_ms))
            if not isinstance(result, MemoryStore):
                return bool(result)
            local = result
        return local.acquire(key, owner, ttl)

    def release(self, key: str, owner: str) -> None:
        local = self._local
        if local is None:
            keys = [self._lock_key(key)]
            result = self._redis(lambda: self._release_script(keys=keys, args=[owner]))
            if not isinstance(result, MemoryStore):
                return
            local = result
        local.release(key, owner)

    def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Store `record` if `owner` holds the lock and it raises the stored generation (checked
        atomically on the server). A stored value `load()` ignores (corrupt, foreign) is
        overwritten."""
        local = self._local
        if local is None:
            record_key = self._record_key(key)
            raw = self._redis(lambda: self._client.get(record_key))
            if isinstance(raw, MemoryStore):
                return raw.publish(key, record, owner)
            current, ignorable = self._judge(key, raw)
            if current is not None and current.generation >= record.generation:
                return False
            keys = [self._lock_key(key), record_key]
            args: list[_Arg] = [owner, record.generation, self._dumps(record)]
            args += [self._record_ttl_ms, ignorable]
            result = self._redis(lambda: self._publish_script(keys=keys, args=args))
            if not isinstance(result, MemoryStore):
                return int(result) == 1
            local = result
        return local.publish(key, record, owner)

    def touch(self, key: str, generation: int, at: float) -> None:
        """Update `last_used_at` (and refresh the record's TTL) if `generation` is current.

        Raises `StoreUnavailable` when Redis is unreachable, like every other method; callers
        treating touch as best effort should catch it.
        """
        local = self._local
        if local is None:
            raw = self._redis(lambda: self._client.get(self._record_key(key)))
            if not isinstance(raw, MemoryStore):
                current = self._decode(key, raw)
                if current is None or current.generation != generation:
                    return
                if current.last_used_at >= at:
                    return
                keys = [self._record_key(key)]
                touched = self._dumps(current.touched(at))
                args: list[_Arg] = [generation, repr(float(at)), touched, self._record_ttl_ms]
                result = self._redis(lambda: self._touch_script(keys=keys, args=args))
                if not isinstance(result, MemoryStore):
                    return
                local = result
            else:
                local = raw
        local.touch(key, generation, at)

    def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll every `poll_interval` until a newer generation is stored, the lock is free, or
        `timeout` seconds pass."""
        deadline = time.monotonic() + max(0.0, timeout)
        keys = [self._record_key(key), self._lock_key(key)]
        while True:
            local = self._local
            if local is not None:
                local.wait(key, generation, max(0.0, deadline - time.monotonic()))
                return
            result = self._redis(lambda: self._snapshot_script(keys=keys))
            if not isinstance(result, MemoryStore) and self._settled(key, generation, result):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if not isinstance(result, MemoryStore):
                time.sleep(min(self._poll_interval, remaining))

    def close(self) -> None:
        """Close the connection pool (only if this store created the client). Never raises."""
        if self._owns_client:
            try:
                self._client.close()
            except (RedisError, OSError) as exc:  # pragma: no cover - close rarely fails
                logger.debug("closing %r failed: %s", self, exc)

    def __repr__(self) -> str:
        mode = ", degraded to local memory" if self._local is not None else ""
        return f"RedisStore({self._url!r}, prefix={self._prefix!r}{mode})"


class AsyncRedisStore(_RedisCommon):
    """The asyncio twin of `RedisStore`, on `redis.asyncio` (native async, no threads).

    Same constructor, keys, scripts, defaults and failure behaviour as `RedisStore`, so sync and
    async clients on any host share one session. `client=` takes a `redis.asyncio.Redis`. Use
    one instance per event loop (redis.asyncio connections belong to the loop that opened them)
    and `await store.close()` when done. With `fallback="local"` it degrades to an
    `AsyncMemoryStore`.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: redis.asyncio.Redis | None = None,
        prefix: str = "tabsession:",
        record_ttl: float = 86400.0,
        socket_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        poll_interval: float = 0.05,
        fallback: Fallback = "error",
    ) -> None:
        super().__init__(
            url,
            client_supplied=client,
            prefix=prefix,
            record_ttl=record_ttl,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            poll_interval=poll_interval,
            fallback=fallback,
        )
        self._owns_client = client is None
        if client is None:
            try:
                client = redis.asyncio.Redis.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=connect_timeout,
                    retry=AsyncRetry(NoBackoff(), 0),
                    health_check_interval=0,
                )
            except ValueError:
                raise ValueError(f"invalid Redis URL {self._url!r}") from None
        self._client: redis.asyncio.Redis = client
        self._release_script = client.register_script(_RELEASE_LUA)
        self._publish_script = client.register_script(_PUBLISH_LUA)
        self._touch_script = client.register_script(_TOUCH_LUA)
        self._snapshot_script = client.register_script(_SNAPSHOT_LUA)
        self._local: AsyncMemoryStore | None = None

    @property
    def degraded(self) -> bool:
        """True once `fallback="local"` has switched this store to process memory."""
        return self._local is not None

    async def _redis(self, call: Callable[[], Awaitable[_T]]) -> _T | AsyncMemoryStore:
        try:
            return await call()
        except (RedisError, *_UNREACHABLE) as exc:
            if self._fallback == "local" and _unreachable(exc):
                return self._degrade(exc)
            raise self._error(exc) from exc

    def _degrade(self, exc: BaseException) -> AsyncMemoryStore:
        if self._local is None:
            self._local = AsyncMemoryStore()
            self._degradation_warning(exc)
        return self._local

    async def now(self) -> float:
        """The Redis server's clock (`TIME`), shared by every host using this store."""
        local = self._local
        if local is None:
            result = await self._redis(self._client.time)
            if not isinstance(result, AsyncMemoryStore):
                seconds, microseconds = result
                return int(seconds) + int(microseconds) / 1_000_000
            local = result
        return await local.now()

    async def load(self, key: str) -> StoredSession | None:
        local = self._local
        if local is None:
            result = await self._redis(lambda: self._client.get(self._record_key(key)))
            if not isinstance(result, AsyncMemoryStore):
                return self._decode(key, result)
            local = result
        return await local.load(key)

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """`SET lock owner NX PX ttl`: the lock expires `ttl` seconds after a crashed holder."""
        local = self._local
        if local is None:
            lock_key, ttl_ms = self._lock_key(key), self._ttl_ms(ttl)
            result = await self._redis(
                lambda: self._client.set(lock_key, owner, nx=True, px=ttl_ms)
            )
            if not isinstance(result, AsyncMemoryStore):
                return bool(result)
            local = result
        return await local.acquire(key, owner, ttl)

    async def release(self, key: str, owner: str) -> None:
        local = self._local
        if local is None:
            keys = [self._lock_key(key)]
            result = await self._redis(lambda: self._release_script(keys=keys, args=[owner]))
            if not isinstance(result, AsyncMemoryStore):
                return
            local = result
        await local.release(key, owner)

    async def publish(self, key: str, record: StoredSession, owner: str) -> bool:
        """Store `record` if `owner` holds the lock and it raises the stored generation (checked
        atomically on the server). A stored value `load()` ignores is overwritten."""
        local = self._local
        if local is None:
            record_key = self._record_key(key)
            raw = await self._redis(lambda: self._client.get(record_key))
            if isinstance(raw, AsyncMemoryStore):
                return await raw.publish(key, record, owner)
            current, ignorable = self._judge(key, raw)
            if current is not None and current.generation >= record.generation:
                return False
            keys = [self._lock_key(key), record_key]
            args: list[_Arg] = [owner, record.generation, self._dumps(record)]
            args += [self._record_ttl_ms, ignorable]
            result = await self._redis(lambda: self._publish_script(keys=keys, args=args))
            if not isinstance(result, AsyncMemoryStore):
                return int(result) == 1
            local = result
        return await local.publish(key, record, owner)

    async def touch(self, key: str, generation: int, at: float) -> None:
        """Update `last_used_at` (and refresh the record's TTL) if `generation` is current.
        Raises `StoreUnavailable` when Redis is unreachable."""
        local = self._local
        if local is None:
            raw = await self._redis(lambda: self._client.get(self._record_key(key)))
            if not isinstance(raw, AsyncMemoryStore):
                current = self._decode(key, raw)
                if current is None or current.generation != generation:
                    return
                if current.last_used_at >= at:
                    return
                keys = [self._record_key(key)]
                touched = self._dumps(current.touched(at))
                args: list[_Arg] = [generation, repr(float(at)), touched, self._record_ttl_ms]
                result = await self._redis(lambda: self._touch_script(keys=keys, args=args))
                if not isinstance(result, AsyncMemoryStore):
                    return
                local = result
            else:
                local = raw
        await local.touch(key, generation, at)

    async def wait(self, key: str, generation: int, timeout: float) -> None:
        """Poll every `poll_interval` until a newer generation is stored, the lock is free, or
        `timeout` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        keys = [self._record_key(key), self._lock_key(key)]
        while True:
            local = self._local
            if local is not None:
                await local.wait(key, generation, max(0.0, deadline - loop.time()))
                return
            result = await self._redis(lambda: self._snapshot_script(keys=keys))
            if not isinstance(result, AsyncMemoryStore) and self._settled(key, generation, result):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            if not isinstance(result, AsyncMemoryStore):
                await asyncio.sleep(min(self._poll_interval, remaining))

    async def close(self) -> None:
        """Close the connection pool (only if this store created the client). Never raises."""
        if self._owns_client:
            try:
                await self._client.aclose()
            except (RedisError, OSError) as exc:  # pragma: no cover - close rarely fails
                logger.debug("closing %r failed: %s", self, exc)

    def __repr__(self) -> str:
        mode = ", degraded to local memory" if self._local is not None else ""
        return f"AsyncRedisStore({self._url!r}, prefix={self._prefix!r}{mode})"
