"""SessionManager's rules (R1 two tiers, R3 single flight, R4 no sign-in retry, R10 breaker,
R10b learned lifetime),
driven by hand: the flows' effects are performed by a scripted interpreter against a store on a
manual clock, and Tableau is a function that answers requests with canned responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tabsession import Breaker, Password, PersonalAccessToken, RetryPolicy, SessionPolicy
from tabsession._config import ClientConfig
from tabsession._events import Events
from tabsession.auth.credentials import Credential
from tabsession.auth.manager import LiveSession, SessionManager
from tabsession.auth.policy import Freshness
from tabsession.clock import ManualClock
from tabsession.errors import (
    ServerError,
    SessionContention,
    SignInFailed,
    TableauError,
)
from tabsession.transport.sender import Sender

from ._flows import ClockedStore, Script, credentials_response, error_response, json_response

SERVER = "https://tableau.example.com"
KEY = "session-key"
PAT = PersonalAccessToken("ci-pat", "pat-secret")
# advisory window: the last 900 s (15 min); mandatory: the last 300 s (5 min)
POLICY = SessionPolicy.cloud(absolute=10_000.0)


class FakeTableau:
    """Answers serverinfo and sign-in; `signin_answer` decides how sign-ins go."""

    def __init__(self) -> None:
        self.signin_answer = "ok"
        self.expires: str | None = None
        self.version = "3.23"
        self.signins = 0
        self.serverinfo = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/serverinfo"):
            self.serverinfo += 1
            return json_response(200, {"serverInfo": {"restApiVersion": self.version}})
        assert path.endswith("/auth/signin"), path
        self.signins += 1
        if self.signin_answer == "401":
            return error_response(401, "401001", "Signin Error", "Error signing in")
        if self.signin_answer == "500":
            return error_response(500, "500000", "Internal Server Error", "boom")
        return credentials_response(f"token-{self.signins}", expires=self.expires)


class Harness:
    def __init__(
        self,
        *,
        credential: Credential = PAT,
        policy: SessionPolicy | None = POLICY,
        breaker: Breaker | None = None,
        api_version: str | None = "3.23",
        shared_store: bool = False,
        clock: ManualClock | None = None,
        store: ClockedStore | None = None,
        tableau: FakeTableau | None = None,
        owner: str = "owner-a",
    ) -> None:
        self.clock = clock or ManualClock(start=1_700_000_000.0)
        self.store = store or ClockedStore(self.clock)
        self.tableau = tableau or FakeTableau()
        self.events: list[tuple[str, dict[str, Any]]] = []
        events = Events(self._hook)
        self.events_counter = events
        config = ClientConfig.build(
            SERVER,
            credential,
            policy=policy,
            breaker=breaker,
            api_version=api_version,
            shared_store=shared_store,
            clock=self.clock,
            retry=RetryPolicy.none(),
            wait_timeout=30.0,
            lock_ttl=25.0,
            timeout=1.0,
        )
        self.manager = SessionManager(
            config=config,
            sender=Sender(config.server, RetryPolicy.none(), self.clock, events),
            events=events,
            key=KEY,
        )
        self.manager.owner = owner
        self.script = Script(self.tableau, self.store)

    def _hook(self, name: str, fields: Mapping[str, Any]) -> None:
        self.events.append((name, dict(fields)))

    def session(self, failed: LiveSession | None = None) -> LiveSession:
        return self.script.run(self.manager.session_flow(None if failed is None else failed.record))

    def dies(self, live: LiveSession, after: float) -> LiveSession:
        """`after` seconds of steady use pass, a request on `live` meets a 401, and a new
        session is taken."""
        self.clock.advance(after)
        now = self.clock.monotonic()
        self.script.run(self.manager.used(live, now - 0.1))
        self.manager.rejected(live, now)
        return self.session(failed=live)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.events if event == name]


# -- basics ----------------------------------------------------------------------------------------


def test_first_use_signs_in_once_and_publishes_generation_1() -> None:
    h = Harness()
    live = h.session()
    assert live.record.generation == 1
    assert live.record.token == "token-1"
    assert h.tableau.signins == 1
    stored = h.store.load(KEY)
    assert stored is not None
    assert stored.generation == 1
    assert stored.token == "token-1"
    assert h.store.acquire(KEY, "someone-else", 1.0)  # the lock was released


def test_a_fresh_session_is_reused_without_any_request() -> None:
    h = Harness()
    first = h.session()
    h.clock.advance(1000)
    assert h.manager.fresh() is first
    assert h.session() is first
    assert h.tableau.signins == 1


def test_the_api_version_is_negotiated_once_when_not_given() -> None:
    h = Harness(api_version=None)
    h.tableau.version = "3.21"
    live = h.session()
    assert live.record.api_version == "3.21"
    assert h.script.paths()[:2] == ["GET /api/2.4/serverinfo", "POST /api/3.21/auth/signin"]
    h.session(failed=live)
    assert h.tableau.serverinfo == 1


# -- two tiers (R1) --------------------------------------------------------------------------------


def test_advisory_refresh_failure_keeps_the_old_session_and_backs_off_60s() -> None:
    h = Harness()
    old = h.session()
    h.clock.advance(9_200)  # 800 s left: advisory window
    assert h.manager.fresh() is None
    h.tableau.signin_answer = "500"

    kept = h.session()
    assert kept is old
    assert h.tableau.signins == 2  # one refresh attempt
    assert [f["error"] for f in h.named("advisory_refresh_failed")] == ["ServerError"]

    for step in (0.0, 30.0, 29.0):  # within the 60 s back-off: no new attempt
        h.clock.advance(step)
        assert h.session() is old
    assert h.tableau.signins == 2

    h.clock.advance(2.0)  # 61 s after the failure
    assert h.session() is old
    assert h.tableau.signins == 3
    assert len(h.named("advisory_refresh_failed")) == 2

    h.tableau.signin_answer = "ok"
    h.clock.advance(61.0)
    new = h.session()
    assert new.record.generation == 2
    assert new.record.token == "token-4"
    assert len(h.named("refresh")) == 1
    assert h.events_counter.snapshot().refreshes == 1


def test_advisory_refresh_success_replaces_the_session() -> None:
    h = Harness()
    h.session()
    h.clock.advance(9_200)
    new = h.session()
    assert (new.record.generation, h.tableau.signins) == (2, 2)
    assert h.named("signin")[-1]["proactive"] is True
    assert h.manager.fresh() is new


def test_mandatory_refresh_failure_raises() -> None:
    h = Harness()
    h.session()
    h.clock.advance(9_800)  # 200 s left: mandatory window
    h.tableau.signin_answer = "500"
    with pytest.raises(ServerError):
        h.session()
    assert h.tableau.signins == 2
    assert h.named("advisory_refresh_failed") == []


def test_a_session_past_its_end_is_replaced_before_use() -> None:
    h = Harness()
    h.session()
    h.clock.advance(10_001)
    assert h.session().record.generation == 2


# -- refused sign-in (R4) --------------------------------------------------------------------------


def test_sign_in_failure_is_not_retried_during_the_cooldown() -> None:
    h = Harness()
    h.tableau.signin_answer = "401"
    errors = []
    for _ in range(3):
        with pytest.raises(SignInFailed) as caught:
            h.session()
        errors.append(caught.value)
    assert h.tableau.signins == 1  # exactly one attempt reached the server
    assert all(e.code == "401001" for e in errors)
    assert all("ci-pat" in e.likely_cause for e in errors)
    assert "not retried" in str(errors[1])
    assert len(h.named("signin_failed")) == 1

    h.clock.advance(59.0)
    with pytest.raises(SignInFailed):
        h.session()
    assert h.tableau.signins == 1

    h.clock.advance(2.0)  # the cooldown is over: one new attempt
    h.tableau.signin_answer = "ok"
    assert h.session().record.generation == 1
    assert h.tableau.signins == 2


def test_sign_in_failure_cooldown_also_stops_reactive_re_sign_in() -> None:
    h = Harness()
    live = h.session()
    h.tableau.signin_answer = "401"  # e.g. the PAT was revoked
    with pytest.raises(SignInFailed):
        h.session(failed=live)
    with pytest.raises(SignInFailed):
        h.session(failed=live)
    assert h.tableau.signins == 2


# -- the PAT breaker (R10) -------------------------------------------------------------------------


def test_breaker_trips_on_three_young_deaths_and_backs_off() -> None:
    h = Harness(breaker=Breaker(max_young_deaths=3, window=600.0))
    live = h.session()
    live = h.dies(live, 1.0)
    live = h.dies(live, 1.0)
    assert h.tableau.signins == 3
    h.clock.advance(1.0)
    h.manager.rejected(live, h.clock.monotonic())  # the third young death
    with pytest.raises(SessionContention, match="ci-pat") as caught:
        h.session(failed=live)
    assert "ended young" in str(caught.value)
    assert "1.0s" in str(caught.value)  # the ages it saw
    assert "max_young_deaths" in str(caught.value)  # the knob
    assert h.tableau.signins == 3  # the 4th sign-in was never sent
    assert h.manager.fresh() is None  # the dead token is not handed out again
    h.clock.advance(4.0)  # 4 s after the last death: still backing off (5 s)
    with pytest.raises(SessionContention):
        h.session(failed=live)
    assert h.tableau.signins == 3
    h.clock.advance(1.5)  # past the back-off: one probe sign-in
    live = h.session(failed=live)
    assert h.tableau.signins == 4
    live_at = h.clock.monotonic()
    h.clock.advance(1.0)
    h.manager.rejected(live, h.clock.monotonic())  # the probe dies young too: 10 s now
    h.clock.advance(9.0)
    with pytest.raises(SessionContention):
        h.session(failed=live)
    h.clock.advance(1.5)
    live = h.session(failed=live)
    assert h.tableau.signins == 5
    assert live_at < h.clock.monotonic()
    # the contention stops: this session lives 2 minutes, and its death is not young
    live = h.dies(live, 120.0)
    assert h.tableau.signins == 6
    live = h.dies(live, 1.0)  # one young death on its own trips nothing
    assert h.tableau.signins == 7


def test_young_deaths_leave_the_window() -> None:
    h = Harness(breaker=Breaker(max_young_deaths=2, window=600.0))
    live = h.session()
    live = h.dies(live, 1.0)
    h.clock.advance(601.0)  # a lone young session... that lived 601 s: not young
    live = h.dies(live, 1.0)
    live = h.dies(live, 1.0)
    assert h.tableau.signins == 4


def test_planned_refreshes_and_own_sign_outs_never_count() -> None:
    h = Harness(breaker=Breaker(max_young_deaths=1, window=600.0))
    h.session()
    for _ in range(5):  # five planned refreshes in the advisory window
        h.clock.advance(9_200)
        h.session()
    for _ in range(5):  # five sign-outs by this client, each followed by a sign-in
        h.manager.forget()
        h.session()
    assert h.tableau.signins == 11
    assert h.named("contention") == []


def test_breaker_ignores_non_exclusive_credentials_unless_told() -> None:
    h = Harness(credential=Password("admin", "pw"), breaker=Breaker(max_young_deaths=1))
    live = h.session()
    live = h.dies(live, 1.0)
    live = h.dies(live, 1.0)
    assert h.tableau.signins == 3
    strict = Harness(
        credential=Password("admin", "pw"),
        breaker=Breaker(max_young_deaths=1, exclusive_only=False),
    )
    live = strict.session()
    strict.clock.advance(1.0)
    strict.manager.rejected(live, strict.clock.monotonic())
    with pytest.raises(SessionContention):
        strict.session(failed=live)


def test_no_breaker_means_no_limit() -> None:
    h = Harness(breaker=None)
    live = h.session()
    for _ in range(10):
        live = h.dies(live, 0.5)
    assert h.tableau.signins == 11


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_young_deaths": 0},
        {"window": 0.0},
        {"window": -1.0},
        {"backoff": 0.0},
        {"backoff": 10.0, "max_backoff": 5.0},
        {"young_age": 0.0},
    ],
)
def test_breaker_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Breaker(**kwargs)  # type: ignore[arg-type]


# -- the learned lifetime (R10b) -------------------------------------------------------------------


def test_a_short_absolute_lifetime_is_learned_from_the_first_death() -> None:
    h = Harness(policy=None, breaker=Breaker())  # the Server preset: 240 idle minutes
    live = h.session()
    live = h.dies(live, 20.0)
    assert h.manager.learned_lifetime == "absolute 20s"
    assert h.named("lifetime_learned")[0]["learned"] == "absolute 20s"
    assert h.named("contention") == []
    h.clock.advance(17.0)
    assert h.manager.fresh() is live
    h.clock.advance(1.0)  # 18 s: inside the learned lifetime's advisory window
    assert h.manager.fresh() is None
    refreshed = h.session()
    assert refreshed.record.generation == live.record.generation + 1
    assert h.named("refresh")  # planned, not a 401
    stored = h.store.load(KEY)
    assert stored is not None
    assert stored.learned["absolute"][0] == 20.0  # shared through the store


def test_a_provisional_lifetime_lapses_then_a_second_death_confirms_it() -> None:
    h = Harness(policy=None)
    live = h.dies(h.session(), 20.0)
    for _ in range(4):  # refreshed ahead of the learned lifetime while it applies (70 s)
        h.clock.advance(18.0)
        live = h.session()
    assert h.manager.learned_lifetime == ""  # lapsed: the session runs its course again
    live = h.dies(live, 2.5)  # it dies at 20.5 s of age
    assert h.manager.learned_lifetime == "absolute 20s"
    h.clock.advance(500.0)
    h.session()
    assert h.manager.learned_lifetime == "absolute 20s"  # confirmed: it no longer lapses


def test_random_early_kills_never_shrink_what_was_learned() -> None:
    h = Harness(policy=None)
    live = h.dies(h.session(), 100.0)
    live = h.dies(live, 100.0)  # confirmed at 100 s
    live = h.dies(live, 30.0)  # one early kill
    live = h.dies(live, 55.0)  # another, at another age
    assert h.manager.learned_lifetime == "absolute 100s"
    live = h.dies(live, 54.0)  # two early deaths that agree: the lifetime really is shorter
    assert h.manager.learned_lifetime == "absolute 54s"


def test_deaths_after_a_long_idle_stretch_teach_an_idle_limit() -> None:
    h = Harness(policy=None)
    live = h.session()
    h.clock.advance(40.0)  # unused for 40 s, then refused
    h.manager.rejected(live, h.clock.monotonic())
    live = h.session(failed=live)
    assert h.manager.learned_lifetime == "idle 40s"
    h.clock.advance(36.0)  # idle for 36 s: refreshed before use instead of meeting a 401
    assert h.manager.fresh() is None


def test_an_explicit_policy_wins_over_what_is_learned() -> None:
    h = Harness(policy=SessionPolicy.server())
    live = h.dies(h.session(), 20.0)
    assert h.manager.learned_lifetime == ""
    h.clock.advance(19.0)
    assert h.manager.fresh() is live


def test_lifetimes_under_the_floor_are_never_learned() -> None:
    h = Harness(policy=None, breaker=None)
    live = h.session()
    for _ in range(5):
        live = h.dies(live, 3.0)
    assert h.manager.learned_lifetime == ""


# -- single flight (R3) ----------------------------------------------------------------------------


def test_a_401_on_generation_g_with_g_plus_1_in_the_store_causes_no_sign_in() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    store, tableau = ClockedStore(clock), FakeTableau()
    a = Harness(clock=clock, store=store, tableau=tableau, shared_store=True, owner="a")
    b = Harness(clock=clock, store=store, tableau=tableau, shared_store=True, owner="b")
    first = a.session()
    seen_by_b = b.session()
    assert seen_by_b.record.generation == 1
    assert tableau.signins == 1  # b adopted a's session
    second = a.session(failed=first)  # a met a 401 first and signed in again
    assert (second.record.generation, tableau.signins) == (2, 2)

    replayed = b.session(failed=seen_by_b)  # b's request on generation 1 met a 401 too
    assert replayed.record.generation == 2
    assert replayed.record.token == second.record.token
    assert tableau.signins == 2
    assert b.named("signin") == []


def test_a_401_on_the_newest_generation_signs_in_once() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    store, tableau = ClockedStore(clock), FakeTableau()
    a = Harness(clock=clock, store=store, tableau=tableau, shared_store=True, owner="a")
    b = Harness(clock=clock, store=store, tableau=tableau, shared_store=True, owner="b")
    live = a.session()
    seen = b.session()
    renewed = b.session(failed=seen)
    assert (renewed.record.generation, tableau.signins) == (2, 2)
    # a's own request on generation 1 failed later: the store already has 2
    assert a.session(failed=live).record.generation == 2
    assert tableau.signins == 2


def test_a_signed_out_generation_is_never_used_again() -> None:
    h = Harness()
    ended = h.session()
    h.manager.forget()  # what sign-out does; the store still holds generation 1
    stored = h.store.load(KEY)
    assert stored is not None
    assert stored.generation == 1
    assert h.manager.fresh() is None
    renewed = h.session()
    assert (renewed.record.generation, h.tableau.signins) == (2, 2)
    assert renewed.record.token != ended.record.token
    assert h.manager.fresh() is renewed


def test_an_older_store_record_never_replaces_a_newer_held_session() -> None:
    h = Harness()
    live = h.session()
    newer = h.session(failed=live)
    assert newer.record.generation == 2
    h.manager._install(LiveSession(live.record, 0.0, 0.0, 0.0), h.manager.target)
    assert h.manager.live is newer


# -- what else the manager reports -----------------------------------------------------------------


def test_pat_expiry_warning_is_given_once_when_the_pat_nears_its_end() -> None:
    h = Harness()
    h.tableau.expires = "3:04:05"  # days:hours:minutes
    live = h.session()
    assert live.pat_expires_in == ((3 * 24 + 4) * 60 + 5) * 60.0
    h.session(failed=live)
    warnings = h.named("pat_expiring")
    assert len(warnings) == 1
    assert warnings[0]["seconds"] == live.pat_expires_in


def test_no_pat_expiry_warning_for_a_young_pat() -> None:
    h = Harness()
    h.tableau.expires = "300:00:00"
    h.session()
    assert h.named("pat_expiring") == []


def test_repeated_young_pat_deaths_are_reported_as_contention() -> None:
    h = Harness(breaker=Breaker())
    live = h.session()
    live = h.dies(live, 5.0)  # one young death proves nothing
    assert h.named("contention") == []
    h.clock.advance(5.0)
    h.manager.rejected(live, h.clock.monotonic())  # the second in a row does
    assert [f["generation"] for f in h.named("contention")] == [2]
    assert h.events_counter.snapshot().contention_warnings == 1
    h.manager.rejected(live, h.clock.monotonic())  # the same death, seen again
    live = h.session(failed=live)
    h.clock.advance(10_000.0)
    h.manager.rejected(live, h.clock.monotonic())  # an old session dying is not contention
    assert len(h.named("contention")) == 1


def test_password_sessions_are_never_contention() -> None:
    h = Harness(credential=Password("admin", "pw"), breaker=Breaker())
    live = h.session()
    h.manager.rejected(live, h.clock.monotonic())
    assert h.named("contention") == []


def test_a_refused_session_is_never_handed_out_again() -> None:
    h = Harness()
    live = h.session()
    assert h.manager.fresh() is live
    h.manager.rejected(live, h.clock.monotonic())
    assert h.manager.fresh() is None


def test_use_is_shared_through_the_store_at_most_once_a_minute_for_idle_policies() -> None:
    h = Harness(policy=SessionPolicy.server(), shared_store=True)
    live = h.session()
    start = h.clock.monotonic()

    def stored_use() -> float:
        record = h.store.load(KEY)
        assert record is not None
        return record.last_used_at

    first = stored_use()
    h.script.run(h.manager.used(live, start + 1.0))
    assert stored_use() == first
    h.script.run(h.manager.used(live, start + 61.0))
    assert stored_use() == first + 61.0
    h.script.run(h.manager.used(live, start + 62.0))
    assert stored_use() == first + 61.0
    private = Harness(policy=SessionPolicy.server(), shared_store=False)
    live = private.session()
    private.script.run(private.manager.used(live, 1e6))
    assert live.last_used == 1e6


def test_freshness_follows_the_policy_on_the_managers_clock() -> None:
    h = Harness()
    live = h.session()
    now = h.clock.monotonic()
    assert POLICY.freshness(now - live.signed_in, now - live.last_used) is Freshness.FRESH
    h.clock.advance(9_101)
    assert h.manager.fresh() is None


def test_waiting_for_another_workers_sign_in_gives_up_at_the_deadline() -> None:
    h = Harness()
    assert h.store.acquire(KEY, "a-stuck-worker", 90.0)

    class NoWaitStore(ClockedStore):
        def wait(self, key: str, generation: int, timeout: float) -> None:
            h.clock.advance(timeout)  # time passes, nothing changes

    store = NoWaitStore(h.clock)
    store._slots = h.store._slots  # same records and locks
    h.script.store = store
    with pytest.raises(TableauError, match="waited 30s"):
        h.session()
    assert h.tableau.signins == 0
