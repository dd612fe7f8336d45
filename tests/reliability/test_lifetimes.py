"""Issue 3 acceptance: proactive refresh and replay, on a clock shared by client and emulator.

With the client's policy matching the emulator's session lifetime, a run over three lifetimes
meets no 401 at all: every session is replaced before the server would end it. A POST that meets
a 401 is executed exactly once, by the replay.
"""

from __future__ import annotations

import pytest

import tabsession
from tabsession.clock import ManualClock
from tabsession.emulator import Emulator, PatSpec
from tests.conftest import PAT_NAME, PAT_SECRET

AUTH = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
HOUR = 3600.0


def _emulator(clock: ManualClock, **config: object) -> Emulator:
    return Emulator(pats=(PatSpec(PAT_NAME, PAT_SECRET),), seed_items=10, clock=clock, **config)


def test_cloud_absolute_lifetime_three_lifetimes_no_401() -> None:
    """Cloud: 120 minutes from sign-in, whatever the activity. A call a minute for 6 hours."""
    clock = ManualClock()
    with _emulator(clock, mode="cloud", sites=("analytics",)) as emu:
        policy = tabsession.SessionPolicy.cloud(absolute=2 * HOUR)
        with tabsession.Client(emu.url, AUTH, site="analytics", policy=policy, clock=clock) as tab:
            for _ in range(int(3 * 2 * HOUR / 60)):
                tab.get("projects")
                clock.advance(60)
            stats = emu.stats()
            assert "401" not in stats["status_counts"], stats["status_counts"]
            # refreshed at 105 minutes (the advisory window opens at 1/8 of the lifetime)
            assert stats["signins"] == 4  # 0, 105, 210, 315 minutes
            assert tab.stats.refreshes == 3
            assert tab.stats.replays == 0


def test_server_idle_lifetime_with_long_pauses_no_401() -> None:
    """Server: 240 idle minutes. Busy stretches keep one session alive; pauses longer than the
    idle limit are bridged by a refresh before the next call, never by a 401."""
    clock = ManualClock()
    with _emulator(clock, mode="server", session_lifetime=4 * HOUR, lifetime_kind="idle") as emu:
        policy = tabsession.SessionPolicy.server(idle=4 * HOUR)
        with tabsession.Client(emu.url, AUTH, policy=policy, clock=clock) as tab:
            for _ in range(3):
                for _ in range(60):  # 10 busy hours: a call every 10 minutes
                    tab.get("workbooks", params={"pageSize": 5})
                    clock.advance(600)
                clock.advance(5 * HOUR)  # a pause longer than the idle limit
            tab.get("projects")
            stats = emu.stats()
            assert "401" not in stats["status_counts"], stats["status_counts"]
            assert stats["signins"] == 4  # the first, then one after each long pause
            assert tab.stats.refreshes == 3


def test_server_idle_plus_absolute_cap_no_401() -> None:
    """Server with `lifetime_limit` applied: idle 240 minutes, absolute 8 hours."""
    clock = ManualClock()
    with _emulator(
        clock, session_lifetime=4 * HOUR, lifetime_kind="idle", lifetime_limit=8 * HOUR
    ) as emu:
        policy = tabsession.SessionPolicy.server(idle=4 * HOUR, absolute=8 * HOUR)
        with tabsession.Client(emu.url, AUTH, policy=policy, clock=clock) as tab:
            for _ in range(3 * 8 * 6):  # 24 hours, a call every 10 minutes
                tab.get("projects")
                clock.advance(600)
            stats = emu.stats()
            assert "401" not in stats["status_counts"], stats["status_counts"]
            assert stats["signins"] == 4  # refreshed every 7.5 hours (8 h minus 1/8 of 4 h)


def test_policy_longer_than_server_lifetime_is_caught_by_replay() -> None:
    """When the policy overestimates the lifetime, the reactive path still hides every expiry."""
    clock = ManualClock()
    with _emulator(clock, mode="cloud", sites=("analytics",)) as emu:
        policy = tabsession.SessionPolicy.cloud(absolute=4 * HOUR)  # the server says 2 h
        with tabsession.Client(emu.url, AUTH, site="analytics", policy=policy, clock=clock) as tab:
            for _ in range(3 * 2 * 6):
                tab.get("projects")
                clock.advance(600)
            assert tab.stats.replays == 2  # each expiry met by one call, replayed once
            assert emu.stats()["status_counts"]["401"] == 2


@pytest.mark.parametrize("body", ["json", "bytes"])
def test_post_that_met_a_401_is_executed_exactly_once(body: str) -> None:
    clock = ManualClock()
    with _emulator(clock) as emu, tabsession.Client(emu.url, AUTH, clock=clock) as tab:
        before = len(tab.get("projects")["projects"]["project"])
        # the next POST to projects finds its session killed: 401, re-sign-in, replay
        emu.set_faults(
            [{"kind": "kill_session", "path": "projects$", "method": "POST", "times": 1}]
        )
        if body == "json":
            created = tab.post("projects", json={"project": {"name": "Quarterly"}})
        else:
            created = tab.post(
                "projects",
                content=b'<tsRequest><project name="Quarterly"/></tsRequest>',
                headers={"Content-Type": "text/xml"},
            )
        assert created["project"]["name"] == "Quarterly"
        names = [p["name"] for p in tab.get("projects")["projects"]["project"]]
        assert names.count("Quarterly") == 1
        assert len(names) == before + 1
        stats = emu.stats()
        assert stats["status_counts"]["401"] == 1
        assert stats["status_counts"]["201"] == 1
        assert stats["signins"] == 2
        assert tab.stats.replays == 1
