"""Keeping one live session per store key (rules R1, R3, R4, R10), as flows of effects.

The hot path (`fresh()`) reads the session this process already holds and checks the policy: a
few float operations, no locks, no I/O. Everything else goes through the token store, which is
what makes the rules hold across threads, asyncio tasks, processes and hosts alike:

- single flight (R3): a caller that needs a new session, because its request met a 401 on
  generation g or the policy says the session is about to end, first reads the store. If the
  store already holds a newer generation, it uses that. Otherwise it tries the store's lock; the
  winner re-reads, signs in, publishes generation g+1 and releases; the others wait for the new
  generation (or for the lock to come free) and read again. N concurrent failures → 1 sign-in.
- two tiers (R1): in the advisory window one caller refreshes while everyone else keeps using
  the current session; a failed advisory refresh is logged and tried again a minute later. In the
  mandatory window (or with no session at all) callers wait for the new session.
- a refused sign-in (R4) is remembered for `failure_cooldown` seconds: callers in that time get
  the same `SignInFailed` at once, without another attempt that could lock the account.
- the PAT breaker (R10): sign-ins for a key are timestamped in the store record; when
  `breaker.max_signins` happened within `breaker.window`, a further sign-in raises
  `SessionContention` instead of fighting whatever else signs in with the same PAT. A session
  refused soon after its sign-in is reported as likely contention.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from tabsession._effects import Flow, StoreOp
from tabsession._events import Events
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import Freshness, SessionPolicy
from tabsession.auth.signin import SignInResult, negotiate_version_flow, sign_in_flow
from tabsession.clock import Clock
from tabsession.errors import SessionContention, SignInFailed, TableauError
from tabsession.stores.base import StoredSession
from tabsession.transport.retry import RetryPolicy
from tabsession.transport.sender import Sender

__all__ = ["Breaker", "LiveSession", "SessionManager"]

DAY = 86400.0


@dataclass(frozen=True)
class Breaker:
    """Stop signing in after `max_signins` sign-ins within `window` seconds (per store key).

    Applies to credentials whose sign-ins end earlier sessions (PATs) unless `exclusive_only` is
    False. Raise `max_signins` for tests that expire sessions many times a minute.
    """

    max_signins: int = 3
    window: float = 600.0
    exclusive_only: bool = True

    def __post_init__(self) -> None:
        if self.max_signins < 1 or self.window <= 0:
            raise ValueError("the breaker needs max_signins >= 1 and a positive window")


@dataclass
class LiveSession:
    """A session as this process holds it: the shared record plus local (monotonic) clock anchors.

    `signed_in`/`last_used` are readings of the client's clock; ages are always measured on it.
    """

    record: StoredSession
    signed_in: float
    last_used: float
    touched: float
    pat_expires_in: float | None = None

    def store_time(self, monotonic: float) -> float:
        """A reading of the client's clock translated to the store's clock."""
        return self.record.signed_in_at + (monotonic - self.signed_in)


class SessionManager:
    """Owns the session of one (server, site, credential) key for one client."""

    def __init__(
        self,
        *,
        sender: Sender,
        credential: Credential,
        site: str,
        key: str,
        owner: str,
        policy: SessionPolicy,
        clock: Clock,
        events: Events,
        breaker: Breaker | None,
        api_version: str | None,
        shared_store: bool,
        lock_ttl: float,
        wait_timeout: float,
        failure_cooldown: float,
        signin_retry: RetryPolicy | None = None,
        advisory_backoff: float = 60.0,
        pat_warning: float = 14 * DAY,
    ) -> None:
        self.sender = sender
        self.server = sender.server  # as configured: the store key is derived from it
        self.credential = credential
        self.site = site
        self.key = key
        self.owner = owner
        self.policy = policy
        self.clock = clock
        self.events = events
        self.breaker = breaker
        self.api_version = api_version
        self.lock_ttl = lock_ttl
        self.wait_timeout = wait_timeout
        self.failure_cooldown = failure_cooldown
        self.advisory_backoff = advisory_backoff
        self.pat_warning = pat_warning
        self.signin_retry = signin_retry
        self._live: LiveSession | None = None
        self._swap = threading.Lock()
        self._failure: tuple[SignInFailed, float] | None = None
        self._advisory_after = -math.inf
        self._pat_warned = False
        self._signed_out = 0  # the newest generation this client ended itself: never reused
        self._contention_warned = 0  # the last generation reported as dying young
        idle = policy.idle
        self._touch_every = None if idle is None or not shared_store else min(60.0, idle / 20)

    # -- the hot path --------------------------------------------------------------------------

    @property
    def live(self) -> LiveSession | None:
        return self._live

    def fresh(self) -> LiveSession | None:
        """The held session if the policy calls it fresh, else None (then use `session_flow`)."""
        live = self._live
        if live is None:
            return None
        now = self.clock.monotonic()
        if self.policy.freshness(now - live.signed_in, now - live.last_used) is Freshness.FRESH:
            return live
        return None

    def used(self, live: LiveSession, at: float) -> StoreOp | None:
        """Note a use of `live` at monotonic time `at`. Returns a store `touch` to perform when
        other processes should hear about it (idle policies with a shared store, at most once a
        minute), else None."""
        if at > live.last_used:
            live.last_used = at
        every = self._touch_every
        if every is None or at - live.touched < every:
            return None
        live.touched = at
        return StoreOp("touch", (self.key, live.record.generation, live.store_time(at)))

    def forget(self) -> None:
        """Drop the held session (it was signed out): its generation is never used again, even
        though the store may still hold its record."""
        with self._swap:
            if self._live is not None:
                self._signed_out = max(self._signed_out, self._live.record.generation)
            self._live = None

    # -- taking a session from the store ---------------------------------------------------------

    def _install(self, live: LiveSession) -> LiveSession:
        """Make `live` the held session unless a newer generation is already held."""
        with self._swap:
            if live.record.generation <= self._signed_out:
                return live  # ended by this client: judged (MANDATORY), never held
            current = self._live
            if current is None or live.record.generation > current.record.generation:
                self._live = live
                record = live.record
                if record.api_version and self.api_version is None:
                    self.api_version = record.api_version
                if record.origin and record.origin != self.sender.server:
                    self.sender.server = record.origin  # another worker followed a pod redirect
                return live
            return current

    def _adopt(self, record: StoredSession | None) -> Flow[LiveSession | None]:
        """The session to judge: the store's record, or what we hold if it is as new or newer."""
        current = self._live
        if record is None:
            return current
        if current is not None and current.record.generation >= record.generation:
            if current.record.generation == record.generation and record.last_used_at > (
                current.store_time(current.last_used)
            ):
                current.last_used = current.signed_in + (
                    record.last_used_at - current.record.signed_in_at
                )
            return current
        store_now: float = yield StoreOp("now")
        mono = self.clock.monotonic()
        age = max(0.0, store_now - record.signed_in_at)
        idle = max(0.0, store_now - record.last_used_at)
        return self._install(LiveSession(record, mono - age, mono - idle, mono))

    def _judge(self, live: LiveSession | None, failed: StoredSession | None) -> Freshness:
        if live is None:
            return Freshness.MANDATORY
        if failed is not None and live.record.generation <= failed.generation:
            return Freshness.MANDATORY
        if live.record.generation <= self._signed_out:
            return Freshness.MANDATORY
        now = self.clock.monotonic()
        return self.policy.freshness(now - live.signed_in, now - live.last_used)

    def session_flow(self, failed: StoredSession | None = None) -> Flow[LiveSession]:
        """A session to use now. `failed`: the record whose token just met a 401 (a newer one is
        needed). Blocks (in the flow) only when there is no usable session."""
        deadline = self.clock.monotonic() + self.wait_timeout
        key, owner = self.key, self.owner
        while True:
            record: StoredSession | None = yield StoreOp("load", (key,))
            live = yield from self._adopt(record)
            state = self._judge(live, failed)
            if state is Freshness.FRESH and live is not None:
                return live
            advisory = state is Freshness.ADVISORY and live is not None
            if advisory and self.clock.monotonic() < self._advisory_after and live is not None:
                return live
            acquired: bool = yield StoreOp("acquire", (key, owner, self.lock_ttl))
            if acquired:
                try:
                    record = yield StoreOp("load", (key,))
                    live = yield from self._adopt(record)
                    state = self._judge(live, failed)
                    if state is Freshness.FRESH and live is not None:
                        return live
                    if state is Freshness.ADVISORY and live is not None:
                        return (yield from self._advisory_refresh(record, live))
                    # replacing a session the policy gave up on, before any 401, is proactive too
                    # (not a session this client signed out: that one simply ended)
                    proactive = (
                        failed is None
                        and live is not None
                        and live.record.generation > self._signed_out
                    )
                    return (
                        yield from self._sign_in_and_publish(record, failed, proactive=proactive)
                    )
                finally:
                    yield StoreOp("release", (key, owner))
            if advisory and live is not None:
                return live  # someone else is refreshing: keep using the current session
            now = self.clock.monotonic()
            if now >= deadline:
                raise TableauError(
                    f"waited {self.wait_timeout:g}s for another worker to sign in; giving up. "
                    "Is a process holding the store's lock stuck?"
                )
            seen = max(
                record.generation if record else 0,
                failed.generation if failed else 0,
            )
            yield StoreOp("wait", (key, seen, min(1.0, deadline - now)))

    def version_flow(self, retry: RetryPolicy | None = None) -> Flow[str]:
        """The REST API version: configured, taken from a shared record, or negotiated once."""
        if self.api_version is None:
            self.api_version = yield from negotiate_version_flow(self.sender, retry)
        return self.api_version

    def _advisory_refresh(
        self, record: StoredSession | None, live: LiveSession
    ) -> Flow[LiveSession]:
        try:
            return (yield from self._sign_in_and_publish(record, None, proactive=True))
        except TableauError as exc:
            self._advisory_after = self.clock.monotonic() + self.advisory_backoff
            self.events.emit(
                "advisory_refresh_failed",
                f"refreshing the session ahead of expiry failed ({exc}); using the current "
                f"session and trying again in {self.advisory_backoff:g}s",
                error=type(exc).__name__,
            )
            return live

    # -- signing in ------------------------------------------------------------------------------

    def _check_cooldown(self) -> None:
        if self._failure is None:
            return
        error, until = self._failure
        left = until - self.clock.monotonic()
        if left <= 0:
            self._failure = None
            return
        raise SignInFailed(
            f"{error.message} (not retried: the last sign-in was refused; tabsession tries again "
            f"only after {left:.0f}s more, to protect the account from lockout)",
            status=error.status,
            code=error.code,
            summary=error.summary,
            detail=error.detail,
            method=error.method,
            url=error.url,
            likely_cause=error.likely_cause,
        )

    def _check_breaker(self, record: StoredSession | None, store_now: float) -> tuple[float, ...]:
        breaker = self.breaker
        recent = record.recent_signins if record else ()
        if breaker is None:
            return recent[-10:]
        recent = tuple(t for t in recent if t > store_now - breaker.window)
        applies = self.credential.exclusive or not breaker.exclusive_only
        if applies and len(recent) >= breaker.max_signins:
            name = getattr(self.credential, "name", "")
            raise SessionContention(
                f"{len(recent)} sign-ins for this session in the last {breaker.window:g}s "
                f"(limit {breaker.max_signins}): something else is signing in with the same "
                f"{'personal access token ' + repr(name) if name else 'credentials'}, ending "
                "this job's sessions. Give each job its own PAT, or share one session between "
                "jobs with a FileStore or RedisStore."
            )
        return recent

    def _sign_in_and_publish(
        self, record: StoredSession | None, failed: StoredSession | None, *, proactive: bool
    ) -> Flow[LiveSession]:
        self._check_cooldown()
        store_now: float = yield StoreOp("now")
        recent = self._check_breaker(record, store_now)
        version = yield from self.version_flow(self.signin_retry)
        try:
            result = yield from sign_in_flow(
                self.sender,
                self.credential,
                self.site,
                version,
                self.clock.time(),
                self.signin_retry,
            )
        except SignInFailed as exc:
            self._failure = (exc, self.clock.monotonic() + self.failure_cooldown)
            self.events.emit("signin_failed", f"sign-in refused: {exc}", code=exc.code)
            raise
        return (yield from self._publish(record, failed, result, recent, proactive=proactive))

    def _publish(
        self,
        record: StoredSession | None,
        failed: StoredSession | None,
        result: SignInResult,
        recent: tuple[float, ...],
        *,
        proactive: bool,
    ) -> Flow[LiveSession]:
        """Store a fresh sign-in's session as the next generation (the caller holds the lock)."""
        mono = self.clock.monotonic()
        store_now: float = yield StoreOp("now")
        held = self._live
        generation = 1 + max(
            record.generation if record else 0,
            failed.generation if failed else 0,
            held.record.generation if held else 0,
        )
        # `server` and `site_content_url` are the values the store key is derived from (stores
        # check that a record belongs under its key); the pod a redirect led to is `origin`.
        new = StoredSession(
            token=result.token,
            site_id=result.site_id,
            site_content_url=self.site,
            user_id=result.user_id,
            generation=generation,
            signed_in_at=store_now,
            last_used_at=store_now,
            server=self.server,
            credential_id=self.credential.identity,
            api_version=result.api_version,
            origin=self.sender.server if self.sender.server != self.server else "",
            recent_signins=(*recent, store_now),
        )
        published: bool = yield StoreOp("publish", (self.key, new, self.owner))
        live = LiveSession(new, mono, mono, mono, result.pat_expires_in)
        if not published:
            # Our lock lapsed and someone published meanwhile: the store's record wins.
            stored: StoredSession | None = yield StoreOp("load", (self.key,))
            if stored is not None and stored.generation >= generation:
                adopted = yield from self._adopt(stored)
                if adopted is not None:
                    live = adopted
        live = self._install(live)
        fields: dict[str, Any] = {
            "generation": generation,
            "site_id": result.site_id,
            "site": result.site_content_url,
            "proactive": proactive,
        }
        self.events.emit("signin", f"signed in (generation {generation})", **fields)
        if proactive:
            self.events.emit("refresh", "refreshed the session ahead of expiry", **fields)
        self._warn_pat_expiry(result.pat_expires_in)
        return live

    def _warn_pat_expiry(self, seconds: float | None) -> None:
        if seconds is None or seconds >= self.pat_warning or self._pat_warned:
            return
        self._pat_warned = True
        self.events.emit(
            "pat_expiring",
            f"the personal access token expires in {seconds / DAY:.1f} days: create a new one "
            "before then (this is the PAT's own lifetime, not the session's)",
            seconds=seconds,
        )

    def note_rejected(self, live: LiveSession) -> None:
        """A 401 arrived on `live`: warn (once per session) when a PAT session died young, the
        mark of another process signing in with the same PAT."""
        generation = live.record.generation
        if not self.credential.exclusive or generation <= self._contention_warned:
            return
        age = self.clock.monotonic() - live.signed_in
        young = min(300.0, self.policy.lifetime / 10)
        if age < young:
            self._contention_warned = generation
            self.events.emit(
                "contention",
                f"the session ended {age:.0f}s after sign-in: another process or host is "
                "probably signing in with the same personal access token",
                age=age,
                generation=live.record.generation,
            )

    def take_over_flow(self, site: str, key: str, result: SignInResult) -> Flow[LiveSession]:
        """After a site switch: own `key` (the new site's) and publish the session `result`."""
        with self._swap:
            self.site, self.key, self._live, self._failure = site, key, None, None
        deadline = self.clock.monotonic() + self.wait_timeout
        while not (yield StoreOp("acquire", (key, self.owner, self.lock_ttl))):
            if self.clock.monotonic() >= deadline:
                raise TableauError("timed out waiting for the store's lock after a site switch")
            yield StoreOp("wait", (key, 0, 0.2))
        try:
            record: StoredSession | None = yield StoreOp("load", (key,))
            return (yield from self._publish(record, None, result, (), proactive=False))
        finally:
            yield StoreOp("release", (key, self.owner))
