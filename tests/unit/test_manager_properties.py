"""Property-based (stateful) tests of the session manager with its store, breaker and lifetime
learner: whatever happens, in any order,

- generations only grow, in the store and in what the client holds;
- a session that met a 401 is never handed out again;
- each death costs at most one sign-in, and a planned refresh exactly one;
- nothing under the floor is ever learned, and the policy followed is never longer than the
  configured one;
- the breaker only refuses a sign-in after at least `max_young_deaths` young deaths in its
  window.

Tableau is the scripted fake of test_manager; time is a manual clock.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tabsession import Breaker, Password, SessionPolicy
from tabsession.auth.lifetime import FLOOR
from tabsession.auth.manager import LiveSession
from tabsession.errors import SessionContention

from .test_manager import KEY, PAT, Harness

BREAKER = Breaker(max_young_deaths=3, window=600.0)


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(policy=None, breaker=BREAKER)
        self.configured = SessionPolicy.server()
        self.live: LiveSession | None = None
        self.dead: set[str] = set()
        self.highest = 0
        self.contention = False

    def _take(self, live: LiveSession) -> None:
        assert live.record.token not in self.dead, "a dead session was handed out"
        assert live.record.generation >= self.highest, "generations went back"
        self.highest = live.record.generation
        self.live = live

    @rule(seconds=st.floats(min_value=0.0, max_value=400.0))
    def time_passes(self, seconds: float) -> None:
        self.h.clock.advance(seconds)

    @rule()
    def call(self) -> None:
        """A call: the held session if fresh, else one from the flow (maybe a refresh)."""
        fresh = self.h.manager.fresh()
        before = self.h.tableau.signins
        if fresh is not None:
            self._take(fresh)
        else:
            try:
                self._take(self.h.session())
            except SessionContention:
                self.contention = True
                return
            assert self.h.tableau.signins - before <= 1
        assert self.live is not None
        self.h.script.run(self.h.manager.used(self.live, self.h.clock.monotonic()))

    @precondition(lambda self: self.live is not None)
    @rule()
    def refused(self) -> None:
        """The server ends the held session; the next request on it meets a 401."""
        live = self.live
        assert live is not None
        self.h.manager.rejected(live, self.h.clock.monotonic())
        self.dead.add(live.record.token)
        before = self.h.tableau.signins
        try:
            self._take(self.h.session(failed=live))
        except SessionContention:
            self.contention = True
            self.live = None
            assert self._young_deaths() >= BREAKER.max_young_deaths
            return
        assert self.h.tableau.signins - before == 1  # one sign-in per death

    @precondition(lambda self: self.live is not None)
    @rule()
    def signed_out(self) -> None:
        live = self.live
        assert live is not None
        self.h.manager.forget()
        self.dead.add(live.record.token)
        self.live = None

    def _young_deaths(self) -> int:
        record = self.h.store.load(KEY)
        ages = len(record.young_deaths) if record is not None else 0
        return ages + 1  # the death just seen is not yet published

    @invariant()
    def held_is_never_dead(self) -> None:
        held = self.h.manager.fresh()
        if held is not None:
            assert held.record.token not in self.dead

    @invariant()
    def store_generation_matches(self) -> None:
        record = self.h.store.load(KEY)
        if record is not None:
            assert record.generation >= self.highest or self.live is None

    @invariant()
    def learned_is_bounded(self) -> None:
        policy = self.h.manager.policy
        assert policy.lifetime >= FLOOR
        assert policy.lifetime <= self.configured.lifetime


TestManagerMachine = ManagerMachine.TestCase
TestManagerMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_the_machine_runs_with_a_password_too() -> None:
    """Passwords are never contention: the same steps never raise SessionContention."""
    h = Harness(policy=None, breaker=BREAKER, credential=Password("admin", "pw"))
    live = h.session()
    for _ in range(10):
        h.clock.advance(1.0)
        h.manager.rejected(live, h.clock.monotonic())
        live = h.session(failed=live)
    assert h.tableau.signins == 11
    assert PAT.exclusive
