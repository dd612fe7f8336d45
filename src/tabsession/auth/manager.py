"""Keeping one live session per store key (rules R1, R3, R4, R10, R10b), as flows of effects.

The hot path (`fresh()`) reads the session this process already holds and checks the policy: a
few float operations, no locks, no I/O. Everything else goes through the token store, which is
what makes the rules hold across threads, asyncio tasks, processes and hosts alike:

- single flight (R3): a caller that needs a new session (its request met a 401 on generation g,
  or the policy says the session is about to end) first reads the store. If the store already
  holds a newer generation, it uses that. Otherwise it tries the store's lock; the winner
  re-reads, signs in, publishes generation g+1 and releases; the others wait for the new
  generation (or for the lock to come free) and read again. N concurrent failures → 1 sign-in.
- two tiers (R1): in the advisory window one caller refreshes while everyone else keeps using
  the current session (with a PAT they wait instead: its new sign-in ends the current session
  anyway); a failed advisory refresh is logged and tried again a minute later. In the mandatory
  window (or with no session at all) callers wait for the new session.
- a session that met a 401 is *dead*: no request is sent with it again.
- a refused sign-in (R4) is remembered for `failure_cooldown` seconds: callers in that time get
  the same `SignInFailed` at once, without another attempt that could lock the account.
- learned lifetime (R10b, `auth/lifetime.py`) and the PAT breaker (R10, `auth/breaker.py`) both
  read the deaths of sessions; their state travels in the store record.
- a site switch replaces the *target* (site and key) in one step; a flow that started for the
  previous target never installs its session afterwards, and never signs in for it.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from tabsession._config import ClientConfig
from tabsession._effects import Flow, acquire, load, now, publish, release, sleep, touch, wait
from tabsession._events import Events
from tabsession.auth.breaker import Breaker
from tabsession.auth.lifetime import Death, LearnedLifetime
from tabsession.auth.policy import Freshness, SessionPolicy
from tabsession.auth.signin import SignInResult, negotiate_version_flow, sign_in_flow
from tabsession.errors import SessionContention, SignInFailed, StoreUnavailable, TableauError
from tabsession.stores.base import StoredSession
from tabsession.transport.retry import RetryPolicy
from tabsession.transport.sender import Sender

__all__ = ["Breaker", "LiveSession", "SessionManager", "Target"]

DAY = 86400.0
ADVISORY_BACKOFF = 60.0
DRAIN_LIMIT = 5.0
STORE_GRACE = 5.0
"""Seconds a call waits for an unreachable token store before `StoreUnavailable` is raised."""
PAT_WARNING = 14 * DAY


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
    inflight: int = 0
    """Requests of this client under way with this session (see `SessionManager.sending`)."""
    draining: bool = False
    """A planned PAT refresh is waiting for `inflight` to reach 0: send nothing new with it."""

    @classmethod
    def from_record(cls, record: StoredSession, store_now: float, mono: float) -> LiveSession:
        """Anchor a record read from the store (store-clock times) on the client's clock."""
        age = max(0.0, store_now - record.signed_in_at)
        idle = max(0.0, store_now - record.last_used_at)
        return cls(record, mono - age, mono - idle, mono)

    def store_time(self, monotonic: float) -> float:
        """A reading of the client's clock translated to the store's clock."""
        return self.record.signed_in_at + (monotonic - self.signed_in)


@dataclass(frozen=True)
class Target:
    """Where sessions come from now: the site (contentUrl) and its store key. A site switch
    replaces the whole object, so `target is manager.target` tells a flow it is still current."""

    site: str
    key: str


@dataclass(frozen=True)
class _Judged:
    """What to do with the session at hand: use it, refresh it (advisory) or get a new one."""

    state: Freshness
    live: LiveSession | None = None


@dataclass
class _Deaths:
    """The last session this client saw die (one per generation) for the current target."""

    generation: int = 0
    death: Death | None = None


class SessionManager:
    """Owns the session of one (server, site, credential) key for one client."""

    def __init__(self, *, config: ClientConfig, sender: Sender, events: Events, key: str) -> None:
        self.config = config
        self.sender = sender
        self.server = config.server  # as configured: the store key is derived from it
        self.credential = config.auth
        self.clock = config.clock
        self.events = events
        self.breaker = config.breaker
        self.api_version = config.api_version
        self.owner = uuid.uuid4().hex
        self.configured_policy = config.policy
        self.target = Target(config.site, key)
        self._live: LiveSession | None = None
        self._swap = threading.Lock()
        self._failure: tuple[SignInFailed, float] | None = None
        self._advisory_after = -math.inf
        self._pat_warned = False
        self._signed_out = 0  # the newest generation this client ended itself: never reused
        self._dead = 0  # the newest generation seen refused (a 401): never sent again
        self._deaths = _Deaths()
        self._learned = LearnedLifetime()
        self._learned_text = ""
        self._provisional = False
        self.policy = config.policy
        self._policy_until = math.inf
        idle = config.policy.idle
        self._touch_every = (
            None if idle is None or not config.shared_store else min(60.0, idle / 20)
        )

    # -- reading state -----------------------------------------------------------------------

    @property
    def site(self) -> str:
        return self.target.site

    @property
    def key(self) -> str:
        return self.target.key

    @property
    def live(self) -> LiveSession | None:
        return self._live

    @property
    def learned_lifetime(self) -> str:
        """What was learned of the server's session lifetime ("" when nothing applies)."""
        return self._learned_text

    # -- the hot path --------------------------------------------------------------------------

    def fresh(self) -> LiveSession | None:
        """The held session if the policy calls it fresh, else None (then use `session_flow`)."""
        live = self._live
        if live is None or live.record.generation <= self._dead or live.draining:
            return None
        now_ = self.clock.monotonic()
        if (
            self._policy_at(live, now_).freshness(now_ - live.signed_in, now_ - live.last_used)
            is Freshness.FRESH
        ):
            return live
        return None

    def _policy_at(self, live: LiveSession, mono: float) -> SessionPolicy:
        """The policy to follow now (a provisional learned lifetime lapses at a known time)."""
        if mono >= self._policy_until:
            self._refresh_policy(live.store_time(mono))
        return self.policy

    def used(self, live: LiveSession, at: float) -> Flow[None]:
        """Note a successful use of `live` at monotonic time `at`; tell the store about it when
        other processes should hear (idle policies with a shared store, at most once a minute)."""
        if self._provisional:
            self._check_disproved(live, at)
        if at > live.last_used:
            live.last_used = at
        every = self._touch_every
        if every is None or at - live.touched < every:
            return
        live.touched = at
        try:
            yield from touch(self.key, live.record.generation, live.store_time(at))
        except TableauError as exc:  # best effort: a missed touch only costs an early refresh
            self.events.emit("touch_failed", f"could not record session use: {exc}")

    def sending(self, live: LiveSession, delta: int) -> bool:
        """Count requests under way with `live` (+1 before sending, -1 after the answer): a
        planned PAT refresh waits for them, since its sign-in ends their session. Returns False
        (counting nothing) when such a refresh has begun: get the new session instead."""
        with self._swap:
            if delta > 0 and live.draining:
                return False
            live.inflight += delta
            return True

    def _drain(self, live: LiveSession) -> Flow[None]:
        """Before a planned sign-in that ends `live` (a PAT): let this client's requests under
        way with it finish first (for at most `DRAIN_LIMIT` seconds), so none meets a 401."""
        if not self.credential.exclusive:
            return
        with self._swap:
            live.draining = True
        deadline = self.clock.monotonic() + DRAIN_LIMIT
        pause = 0.001
        while live.inflight > 0 and self.clock.monotonic() < deadline:
            yield from sleep(pause)
            pause = min(0.02, pause * 2)

    def _drained_sign_in(
        self, record: StoredSession | None, live: LiveSession, target: Target, *, advisory: bool
    ) -> Flow[LiveSession]:
        """A planned sign-in replacing `live`: drained first; `live` usable again if it fails."""
        yield from self._drain(live)
        try:
            if advisory:
                return (yield from self._advisory_refresh(record, live, target))
            return (yield from self._sign_in_and_publish(record, target, proactive=True))
        finally:
            live.draining = False

    def rejected(self, live: LiveSession, sent_at: float) -> None:
        """A request sent at `sent_at` with `live` met a 401: the session is dead. Its death is
        kept for the lifetime learner and the breaker, and reported once when it looks like
        PAT contention."""
        generation = live.record.generation
        with self._swap:
            if live.record.site_content_url != self.target.site:
                return  # a session of the site this client switched away from
            self._dead = max(self._dead, generation)
            if generation <= self._signed_out or self._deaths.generation >= generation:
                return
            death = Death(
                at=live.store_time(sent_at),
                age=max(0.0, sent_at - live.signed_in),
                idle=max(0.0, sent_at - live.last_used),
            )
            self._deaths.generation, self._deaths.death = generation, death
        breaker = self.breaker
        if (
            breaker is None
            or not self.credential.exclusive
            or not breaker.is_young(death, self._expected(death))
        ):
            return
        # one young death proves nothing (an administrator, a forced expiry): a repeated one,
        # within the breaker's window, is the mark of another job signing in with the PAT
        earlier = [d for d in live.record.young_deaths if d[0] > death.at - breaker.window]
        if earlier:
            self.events.emit(
                "contention",
                f"the session ended {death.age:.1f}s after sign-in ({len(earlier) + 1} "
                "sessions in a row ended young): another process or host is probably signing "
                "in with the same personal access token",
                age=death.age,
                generation=generation,
            )

    def forget(self) -> None:
        """Drop the held session (it was signed out): its generation is never used again, even
        though the store may still hold its record."""
        with self._swap:
            if self._live is not None:
                self._signed_out = max(self._signed_out, self._live.record.generation)
            self._live = None

    # -- the policy and what was learned ---------------------------------------------------------

    def _expected(self, death: Death) -> float:
        """The lifetime a session was expected to have, after learning from `death`."""
        return self._expected_lifetime(self._learned.observe(death), death.at)

    def _expected_lifetime(self, learned: LearnedLifetime, store_now: float) -> float:
        """The lifetime the breaker judges deaths against: the configured one when `policy=`
        was given, else the configured one shortened by what was learned."""
        if self.config.policy_explicit:
            return self.configured_policy.lifetime
        return learned.apply(self.configured_policy, store_now).lifetime

    def _learn(self, learned: LearnedLifetime, store_now: float) -> None:
        if learned == self._learned:
            return
        self._learned = learned
        self._refresh_policy(store_now)

    def _refresh_policy(self, store_now: float) -> None:
        learned = self._learned
        if self.config.policy_explicit:
            self.policy, self._policy_until = self.configured_policy, math.inf
            return
        self.policy = learned.apply(self.configured_policy, store_now)
        text = learned.describe(store_now)
        provisional = [
            x for x in (learned.absolute, learned.idle) if x is not None and not x.confirmed
        ]
        self._provisional = bool(provisional)
        # a provisional value stops applying at a known time: re-derive the policy then
        until = min(
            (x.learned_at + 3.5 * x.value for x in provisional if x.applies(store_now)),
            default=math.inf,
        )
        mono = self.clock.monotonic()
        self._policy_until = mono + (until - store_now) if math.isfinite(until) else math.inf
        if text != self._learned_text:
            self._learned_text = text
            if text:
                self.events.emit(
                    "lifetime_learned",
                    f"the server ends sessions sooner than assumed: following {text} "
                    f"(policy {self.configured_policy.describe()}); pass policy= to override",
                    learned=text,
                )

    def _check_disproved(self, live: LiveSession, at: float) -> None:
        learned = self._learned.seen_alive(at - live.signed_in, at - live.last_used)
        if learned is not self._learned:
            self._learn(learned, live.store_time(at))

    # -- taking a session from the store ---------------------------------------------------------

    def _install(self, live: LiveSession, target: Target) -> LiveSession | None:
        """Make `live` the held session unless a newer generation is held; None when `target`
        is no longer current (a site switch happened meanwhile)."""
        with self._swap:
            if target is not self.target:
                return None
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

    def _adopt(self, record: StoredSession | None, target: Target) -> Flow[LiveSession | None]:
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
        store_now = yield from now()
        learned = LearnedLifetime.from_dict(record.learned)
        if learned != self._learned:
            self._learn(learned, store_now)
        live = LiveSession.from_record(record, store_now, self.clock.monotonic())
        return self._install(live, target)

    def _judge(self, live: LiveSession | None, failed: StoredSession | None) -> _Judged:
        if live is None:
            return _Judged(Freshness.MANDATORY)
        generation = live.record.generation
        if failed is not None and generation <= failed.generation:
            return _Judged(Freshness.MANDATORY, live)
        if generation <= self._signed_out or generation <= self._dead or live.draining:
            return _Judged(Freshness.MANDATORY, live)
        mono = self.clock.monotonic()
        policy = self._policy_at(live, mono)
        return _Judged(policy.freshness(mono - live.signed_in, mono - live.last_used), live)

    def session_flow(self, failed: StoredSession | None = None) -> Flow[LiveSession]:
        """A session to use now. `failed`: the record whose token just met a 401 (a newer one is
        needed). Blocks (in the flow) only when there is no usable session.

        A store that cannot be reached (`StoreUnavailable`: Redis restarting, say) is waited for
        up to `STORE_GRACE` seconds, polling with a growing pause, before the error is raised:
        a short outage costs nothing. Use a `FallbackStore` to carry on through longer ones."""
        give_up_at: float | None = None
        pause = 0.05
        while True:
            try:
                return (yield from self._session_flow(failed))
            except StoreUnavailable:
                mono = self.clock.monotonic()
                give_up_at = mono + STORE_GRACE if give_up_at is None else give_up_at
                if mono >= give_up_at:
                    raise
                self.events.emit("store_unavailable", "the token store is unreachable; waiting")
                yield from sleep(pause)
                pause = min(1.0, pause * 2)

    def _session_flow(self, failed: StoredSession | None) -> Flow[LiveSession]:
        deadline = self.clock.monotonic() + self.config.wait_timeout
        target = self.target
        if failed is not None and failed.site_content_url != target.site:
            failed = None  # refused on the site this client has switched away from
        while True:
            if target is not self.target:  # the site was switched: serve the new one
                target, failed = self.target, None
            record = yield from load(target.key)
            judged = self._judge((yield from self._adopt(record, target)), failed)
            if target is not self.target:
                continue
            if judged.state is Freshness.FRESH and judged.live is not None:
                return judged.live
            advisory = judged.live if judged.state is Freshness.ADVISORY else None
            if advisory is not None and self.clock.monotonic() < self._advisory_after:
                return advisory
            if (yield from acquire(target.key, self.owner, self.config.lock_ttl)):
                try:
                    return (yield from self._under_lock(target, failed))
                except _Retarget:
                    continue
                finally:
                    yield from release(target.key, self.owner)
            if advisory is not None and not self.credential.exclusive:
                return advisory  # someone else is refreshing: keep using the current session
            mono = self.clock.monotonic()
            if mono >= deadline:
                raise TableauError(
                    f"waited {self.config.wait_timeout:g}s for another worker to sign in; "
                    "giving up. Is a process holding the store's lock stuck?"
                )
            seen = max(record.generation if record else 0, failed.generation if failed else 0)
            yield from wait(target.key, seen, min(1.0, deadline - mono))

    def _under_lock(self, target: Target, failed: StoredSession | None) -> Flow[LiveSession]:
        """Holding the key's lock: read again, then use, refresh or replace the session."""
        record = yield from load(target.key)
        live = yield from self._adopt(record, target)
        if target is not self.target:
            raise _Retarget
        judged = self._judge(live, failed)
        if judged.state is Freshness.FRESH and judged.live is not None:
            return judged.live
        if judged.state is Freshness.ADVISORY and judged.live is not None:
            return (yield from self._drained_sign_in(record, judged.live, target, advisory=True))
        # replacing a session the policy gave up on, before any 401, is proactive too
        # (not one this client signed out or saw refused: those simply ended)
        proactive = live is not None and live.record.generation > max(
            self._signed_out, self._dead, failed.generation if failed else 0
        )
        if proactive and live is not None:
            return (yield from self._drained_sign_in(record, live, target, advisory=False))
        return (yield from self._sign_in_and_publish(record, target, proactive=proactive))

    def version_flow(self, retry: RetryPolicy | None = None) -> Flow[str]:
        """The REST API version: configured, taken from a shared record, or negotiated once."""
        if self.api_version is None:
            self.api_version = yield from negotiate_version_flow(self.sender, retry)
        return self.api_version

    def _advisory_refresh(
        self, record: StoredSession | None, live: LiveSession, target: Target
    ) -> Flow[LiveSession]:
        try:
            return (yield from self._sign_in_and_publish(record, target, proactive=True))
        except TableauError as exc:
            self._advisory_after = self.clock.monotonic() + ADVISORY_BACKOFF
            self.events.emit(
                "advisory_refresh_failed",
                f"refreshing the session ahead of expiry failed ({exc}); using the current "
                f"session and trying again in {ADVISORY_BACKOFF:g}s",
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

    def _evidence(
        self, record: StoredSession | None, store_now: float
    ) -> tuple[LearnedLifetime, tuple[Death, ...]]:
        """What the record and this client's own observation say: the learned lifetime and the
        young-death history, with the death of the record's session if this client saw it."""
        learned = self._learned
        history: tuple[Death, ...] = ()
        if record is not None:
            learned = LearnedLifetime.from_dict(record.learned) if record.learned else learned
            history = _history(record)
        death = self._deaths.death
        if record is None or death is None or self._deaths.generation != record.generation:
            return learned, history
        if not self.config.policy_explicit:
            learned = learned.observe(death)
        breaker = self.breaker
        if breaker is not None and self._breaker_applies(breaker):
            history = breaker.record(history, death, self._expected_lifetime(learned, store_now))
        return learned, history

    def _breaker_applies(self, breaker: Breaker) -> bool:
        return self.credential.exclusive or not breaker.exclusive_only

    def _check_breaker(
        self, record: StoredSession | None, history: tuple[Death, ...], store_now: float
    ) -> None:
        breaker = self.breaker
        if breaker is None or not self._breaker_applies(breaker) or record is None:
            return
        verdict = breaker.verdict(history, store_now)
        if verdict.retry_at is None:
            return
        name = getattr(self.credential, "name", "")
        what = f"personal access token {name!r}" if name else "credentials"
        raise SessionContention(
            f"{verdict.describe(store_now, breaker.window)}. Something else is signing in "
            f"with the same {what}, ending this job's sessions. Give each job its own PAT, or "
            "share one session between jobs with a FileStore or RedisStore; to tune this, pass "
            "breaker=Breaker(max_young_deaths=..., window=...), or breaker=None to disable it."
        )

    def _sign_in_and_publish(
        self, record: StoredSession | None, target: Target, *, proactive: bool
    ) -> Flow[LiveSession]:
        self._check_cooldown()
        store_now = yield from now()
        learned, history = self._evidence(record, store_now)
        self._learn(learned, store_now)
        self._check_breaker(record, history, store_now)
        signin_retry = self.config.signin_retry
        version = yield from self.version_flow(signin_retry)
        if target is not self.target:
            raise _Retarget  # never sign in for a site this client has left
        try:
            result = yield from sign_in_flow(
                self.sender, self.credential, target.site, version, self.clock.time(), signin_retry
            )
        except SignInFailed as exc:
            self._failure = (exc, self.clock.monotonic() + self.config.failure_cooldown)
            self.events.emit("signin_failed", f"sign-in refused: {exc}", code=exc.code)
            raise
        return (yield from self._publish(record, target, result, history, proactive=proactive))

    def _publish(
        self,
        record: StoredSession | None,
        target: Target,
        result: SignInResult,
        history: tuple[Death, ...],
        *,
        proactive: bool,
    ) -> Flow[LiveSession]:
        """Store a fresh sign-in's session as the next generation and hold it (the caller holds
        the lock)."""
        live = yield from self._store(record, target, result, history)
        installed = self._install(live, target)
        if installed is None:
            raise _Retarget
        generation = live.record.generation
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
        return installed

    def _store(
        self,
        record: StoredSession | None,
        target: Target,
        result: SignInResult,
        history: tuple[Death, ...],
    ) -> Flow[LiveSession]:
        """Publish `result` under `target` as generation `max(seen) + 1`; if the store refuses
        (our lock lapsed and someone published meanwhile), the store's newer record wins."""
        mono = self.clock.monotonic()
        store_now = yield from now()
        current = target is self.target
        held = self._live if current else None
        generation = 1 + max(
            record.generation if record else 0,
            held.record.generation if held else 0,
            self._dead if current else 0,
            self._signed_out if current else 0,
        )
        # `server` and `site_content_url` are the values the store key is derived from (stores
        # check that a record belongs under its key); the pod a redirect led to is `origin`.
        new = StoredSession(
            token=result.token,
            site_id=result.site_id,
            site_content_url=target.site,
            user_id=result.user_id,
            generation=generation,
            signed_in_at=store_now,
            last_used_at=store_now,
            server=self.server,
            credential_id=self.credential.identity,
            api_version=result.api_version,
            origin=self.sender.server if self.sender.server != self.server else "",
            young_deaths=tuple((d.at, d.age, d.idle) for d in history),
            learned=self._learned.to_dict(),
        )
        if (yield from publish(target.key, new, self.owner)):
            return LiveSession(new, mono, mono, mono, result.pat_expires_in)
        stored = yield from load(target.key)
        if stored is None or stored.generation < generation:
            return LiveSession(new, mono, mono, mono, result.pat_expires_in)
        store_now = yield from now()
        return LiveSession.from_record(stored, store_now, self.clock.monotonic())

    def _warn_pat_expiry(self, seconds: float | None) -> None:
        if seconds is None or seconds >= PAT_WARNING or self._pat_warned:
            return
        self._pat_warned = True
        self.events.emit(
            "pat_expiring",
            f"the personal access token expires in {seconds / DAY:.1f} days: create a new one "
            "before then (this is the PAT's own lifetime, not the session's)",
            seconds=seconds,
        )

    # -- switching sites ---------------------------------------------------------------------------

    def lock_target_flow(self) -> Flow[Target]:
        """Take the current key's lock (waiting as long as `wait_timeout`), so that no sign-in
        for the current site runs while the site is switched. Release with `release_flow`."""
        target = self.target
        yield from self._lock(target.key, "to switch sites")
        return target

    def _lock(self, key: str, why: str) -> Flow[None]:
        deadline = self.clock.monotonic() + self.config.wait_timeout
        while not (yield from acquire(key, self.owner, self.config.lock_ttl)):
            if self.clock.monotonic() >= deadline:
                raise TableauError(f"timed out waiting for the store's lock {why}")
            yield from wait(key, 0, 0.2)

    def release_flow(self, target: Target) -> Flow[None]:
        yield from release(target.key, self.owner)

    def take_over_flow(self, site: str, key: str, result: SignInResult) -> Flow[LiveSession]:
        """After a site switch answered with `result`: publish its session under the new key
        (holding that key's lock, so other workers on that site share it), then make the new
        site the target and its session the held one, in one step. Every flow that started
        for the previous site restarts on the new one; none installs an old-site session."""
        target = Target(site, key)
        yield from self._lock(key, "after a site switch")
        try:
            record = yield from load(key)
            history = _history(record) if record else ()
            live = yield from self._store(record, target, result, history)
            with self._swap:
                self.target, self._live, self._failure = target, live, None
                # generations count per key: the new key's are judged on their own
                self._signed_out = self._dead = 0
                self._deaths = _Deaths()
        finally:
            yield from release(key, self.owner)
        self.events.emit(
            "site_switch",
            f"switched to site {site!r} (generation {live.record.generation})",
            site=site,
            generation=live.record.generation,
        )
        return live


def _history(record: StoredSession) -> tuple[Death, ...]:
    """The young-death history a store record carries (the breaker's evidence)."""
    return tuple(Death(*d) for d in record.young_deaths)


class _Retarget(Exception):
    """Internal: the site was switched while a flow was working for the previous one."""
