"""Fault rules and the fault engine, without HTTP: which request gets which fault."""

from __future__ import annotations

from typing import Any

import pytest

from tabsession.emulator.faults import MAX_LATENCY_MS, FaultEngine, FaultRule


def _fired(
    engine: FaultEngine, n: int, method: str = "GET", path: str = "sites/x/workbooks"
) -> list[bool]:
    return [engine.decide(method, path).fired for _ in range(n)]


def test_no_rules_no_fault() -> None:
    engine = FaultEngine()
    decision = engine.decide("GET", "serverinfo")
    assert not decision.fired
    assert decision.latency_ms == 0


def test_global_latency_applies_to_every_request() -> None:
    engine = FaultEngine(latency_ms=25)
    assert engine.decide("GET", "x").latency_ms == 25
    engine.configure(latency_ms=5)
    assert engine.decide("GET", "x").latency_ms == 5
    engine.clear()
    assert engine.decide("GET", "x").latency_ms == 25  # back to the configured base


def test_every_nth_after_and_times() -> None:
    engine = FaultEngine()
    engine.configure(rules=[FaultRule("status", every=3)])
    assert _fired(engine, 9) == [False, False, True] * 3
    engine.configure(rules=[FaultRule("status", after=2, times=2)])
    assert _fired(engine, 6) == [False, False, True, True, False, False]
    engine.configure(rules=[FaultRule("status", after=1, every=2, times=1)])
    assert _fired(engine, 8) == [False, False, True, False, False, False, False, False]


def test_counters_are_visible() -> None:
    engine = FaultEngine()
    engine.configure(rules=[FaultRule("status", every=2)])
    _fired(engine, 5)
    rule = engine.describe()["rules"][0]
    assert (rule["matched"], rule["fired"]) == (5, 2)
    assert "_pattern" not in rule


def test_path_and_method_select_requests() -> None:
    engine = FaultEngine()
    engine.configure(rules=[FaultRule("status", path=r"workbooks", method="post")])
    assert not engine.decide("GET", "sites/s/workbooks").fired
    assert not engine.decide("POST", "sites/s/projects").fired
    assert engine.decide("POST", "sites/s/workbooks").fired
    assert engine.describe()["rules"][0]["method"] == "POST"


def test_probability_is_seeded_and_repeats() -> None:
    def pattern(seed: int) -> list[bool]:
        engine = FaultEngine(seed=seed)
        engine.configure(rules=[FaultRule("status", probability=0.3)])
        return _fired(engine, 200)

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 30 <= sum(first) <= 90
    engine = FaultEngine(seed=7)
    engine.configure(rules=[FaultRule("status", probability=0.3)])
    _fired(engine, 50)
    engine.clear()  # a fresh random sequence too
    engine.configure(rules=[FaultRule("status", probability=0.3)])
    assert _fired(engine, 200) == first


def test_first_responding_rule_wins_and_latency_adds_up() -> None:
    engine = FaultEngine(latency_ms=10)
    engine.configure(
        rules=[
            FaultRule("latency", latency_ms=5),
            FaultRule("status", status=429, retry_after="3"),
            FaultRule("status", status=503),
            FaultRule("latency", latency_ms=7),
        ]
    )
    decision = engine.decide("GET", "x")
    assert decision.respond is not None
    assert decision.respond.status == 429
    assert decision.latency_ms == 15  # the second latency rule is matched but not fired
    rules = engine.describe()["rules"]
    assert [r["matched"] for r in rules] == [1, 1, 1, 1]
    assert [r["fired"] for r in rules] == [1, 1, 0, 0]


def test_drop_kill_and_stale() -> None:
    engine = FaultEngine()
    engine.configure(rules=[FaultRule("drop", times=1)])
    assert engine.decide("GET", "x").drop
    assert not engine.decide("GET", "x").fired
    engine.configure(rules=[FaultRule("kill_session")])
    assert engine.decide("GET", "x").kill_session
    engine.configure(rules=[FaultRule("stale_session")])
    assert not engine.decide("GET", "sessions/current").fired  # only sign-ins count
    assert engine.decide("POST", "auth/signin", signin=True).stale_session
    assert engine.describe()["rules"][0]["matched"] == 1


def test_append_keeps_earlier_rules() -> None:
    engine = FaultEngine()
    engine.configure(rules=[FaultRule("drop")])
    engine.configure(rules=[FaultRule("status")], append=True)
    assert [r["kind"] for r in engine.describe()["rules"]] == ["drop", "status"]
    engine.configure(rules=[])
    assert engine.describe()["rules"] == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "explode"},
        {"kind": "status", "status": 200},
        {"kind": "status", "status": 429.5},
        {"kind": "status", "status": "429"},
        {"kind": "status", "every": 0},
        {"kind": "status", "every": True},
        {"kind": "status", "probability": 1.5},
        {"kind": "status", "probability": "high"},
        {"kind": "status", "times": -1},
        {"kind": "status", "after": -1},
        {"kind": "status", "method": 5},
        {"kind": "status", "path": "("},
        {"kind": "status", "path": ["x"]},
        {"kind": "status", "body": "pdf"},
        {"kind": "status", "retry_after": "1\r\nX-Evil: 1"},
        {"kind": "status", "retry_after": 3.5},
        {"kind": "latency", "latency_ms": -1},
        {"kind": "latency", "latency_ms": MAX_LATENCY_MS + 1},
        {"kind": "latency", "latency_ms": float("nan")},
        {"kind": "status", "colour": "red"},
        ["kind", "status"],
    ],
)
def test_bad_rules_are_value_errors(data: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked over HTTP
        FaultRule.from_dict(data)


def test_rule_from_dict_round_trips() -> None:
    data = {
        "kind": "status",
        "path": "workbooks$",
        "method": "get",
        "every": 2,
        "probability": 1,
        "after": 1,
        "times": 3,
        "status": 429,
        "retry_after": 30,
        "body": "json",
        "latency_ms": 0,
    }
    rule = FaultRule.from_dict(data)
    out = rule.to_dict()
    assert out["retry_after"] == "30"
    assert out["method"] == "GET"
    assert (
        FaultRule.from_dict({k: v for k, v in out.items() if k not in ("matched", "fired")}) == rule
    )


def test_engine_refuses_bad_global_latency() -> None:
    engine = FaultEngine()
    for bad in (-1.0, MAX_LATENCY_MS * 2):
        with pytest.raises(ValueError, match="latency_ms"):
            engine.configure(latency_ms=bad)
