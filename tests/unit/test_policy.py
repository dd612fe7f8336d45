"""SessionPolicy (rule R1): presets, derived margins, the three freshness states and their
boundaries, and the guarantee that a session never gets fresher as it ages."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsession.auth.policy import Freshness, SessionPolicy

MINUTE = 60.0
RANK = {Freshness.FRESH: 0, Freshness.ADVISORY: 1, Freshness.MANDATORY: 2}


# -- presets ---------------------------------------------------------------------------------------


def test_server_preset_is_240_minutes_idle_without_absolute_limit() -> None:
    policy = SessionPolicy.server()
    assert (policy.idle, policy.absolute, policy.name) == (240 * MINUTE, None, "server")
    assert policy.lifetime == 240 * MINUTE
    # margins are capped: 15 and 5 minutes, not 1/8 and 1/24 of four hours
    assert (policy.advisory, policy.mandatory) == (15 * MINUTE, 5 * MINUTE)


def test_server_preset_with_absolute_cap_uses_the_shorter_limit() -> None:
    policy = SessionPolicy.server(idle=240 * MINUTE, absolute=60 * MINUTE)
    assert policy.lifetime == 60 * MINUTE
    assert policy.advisory == 60 * MINUTE / 8
    assert policy.mandatory == 60 * MINUTE / 24


def test_cloud_preset_is_120_minutes_absolute() -> None:
    policy = SessionPolicy.cloud()
    assert (policy.idle, policy.absolute, policy.name) == (None, 120 * MINUTE, "cloud")
    # "a 120-minute session refreshes from minute 105 and must be replaced by minute 115"
    assert policy.advisory == 15 * MINUTE
    assert policy.mandatory == 5 * MINUTE
    assert policy.freshness(age=104.9 * MINUTE, idle_for=0) is Freshness.FRESH
    assert policy.freshness(age=105.1 * MINUTE, idle_for=0) is Freshness.ADVISORY
    assert policy.freshness(age=115.1 * MINUTE, idle_for=0) is Freshness.MANDATORY


def test_the_default_constructor_is_the_server_assumption() -> None:
    policy = SessionPolicy()
    assert (policy.idle, policy.absolute) == (240 * MINUTE, None)


@pytest.mark.parametrize(
    ("lifetime", "advisory", "mandatory"),
    [
        (240.0, 30.0, 10.0),  # 1/8 and 1/24 of a short lifetime
        (24 * MINUTE, 3 * MINUTE, 1 * MINUTE),
        (96 * MINUTE, 12 * MINUTE, 4 * MINUTE),
        (120 * MINUTE, 15 * MINUTE, 5 * MINUTE),  # both caps reached exactly
        (600 * MINUTE, 15 * MINUTE, 5 * MINUTE),  # capped
    ],
)
def test_margins_scale_with_the_lifetime_up_to_their_caps(
    lifetime: float, advisory: float, mandatory: float
) -> None:
    for policy in (SessionPolicy.server(idle=lifetime), SessionPolicy.cloud(absolute=lifetime)):
        assert policy.advisory == pytest.approx(advisory)
        assert policy.mandatory == pytest.approx(mandatory)


def test_explicit_margins_win_over_derived_ones() -> None:
    policy = SessionPolicy(idle=1000.0, advisory_margin=400.0, mandatory_margin=7.0)
    assert (policy.advisory, policy.mandatory) == (400.0, 7.0)
    assert policy.freshness(age=0, idle_for=1000 - 399) is Freshness.ADVISORY
    assert policy.freshness(age=0, idle_for=1000 - 6) is Freshness.MANDATORY


# -- the three states and their boundaries ---------------------------------------------------------


def test_boundaries_are_strictly_below_the_margin() -> None:
    policy = SessionPolicy.cloud(absolute=2400.0)  # advisory 300, mandatory 100
    assert (policy.advisory, policy.mandatory) == (300.0, 100.0)
    # exactly at the advisory margin: still fresh; just under: advisory
    assert policy.freshness(age=2100.0, idle_for=0) is Freshness.FRESH
    assert policy.freshness(age=2100.001, idle_for=0) is Freshness.ADVISORY
    # exactly at the mandatory margin: still advisory; just under: mandatory
    assert policy.freshness(age=2300.0, idle_for=0) is Freshness.ADVISORY
    assert policy.freshness(age=2300.001, idle_for=0) is Freshness.MANDATORY
    # at and past the end
    assert policy.freshness(age=2400.0, idle_for=0) is Freshness.MANDATORY
    assert policy.freshness(age=9999.0, idle_for=0) is Freshness.MANDATORY


def test_a_session_with_no_time_left_is_mandatory_even_with_zero_margins() -> None:
    policy = SessionPolicy(idle=100.0, advisory_margin=0.0, mandatory_margin=0.0)
    assert policy.freshness(age=0, idle_for=99.9) is Freshness.FRESH
    assert policy.freshness(age=0, idle_for=100.0) is Freshness.MANDATORY
    assert policy.freshness(age=0, idle_for=150.0) is Freshness.MANDATORY


def test_a_brand_new_session_is_fresh() -> None:
    for policy in (SessionPolicy.server(), SessionPolicy.cloud()):
        assert policy.freshness(age=0, idle_for=0) is Freshness.FRESH


def test_idle_policy_ignores_age_and_counts_idle_time() -> None:
    policy = SessionPolicy.server(idle=2400.0)  # advisory 300, mandatory 100
    # a session used a moment ago is fresh whatever its age (the idle timer slides)
    assert policy.freshness(age=10 * 2400.0, idle_for=1.0) is Freshness.FRESH
    assert policy.freshness(age=2200.0, idle_for=2200.0) is Freshness.ADVISORY
    assert policy.freshness(age=2350.0, idle_for=2350.0) is Freshness.MANDATORY
    assert policy.remaining(age=1e9, idle_for=400.0) == 2000.0


def test_absolute_policy_ignores_use_and_counts_age() -> None:
    policy = SessionPolicy.cloud(absolute=2400.0)
    # used a moment ago, but old: using it does not extend an absolute lifetime
    assert policy.freshness(age=2200.0, idle_for=0.0) is Freshness.ADVISORY
    assert policy.freshness(age=2350.0, idle_for=0.0) is Freshness.MANDATORY
    assert policy.remaining(age=400.0, idle_for=1e9) == 2000.0


def test_idle_and_absolute_together_take_whichever_ends_first() -> None:
    policy = SessionPolicy.server(idle=1000.0, absolute=5000.0)  # margins from 1000
    assert policy.remaining(age=100.0, idle_for=10.0) == 990.0  # idle ends first
    assert policy.remaining(age=4900.0, idle_for=10.0) == 100.0  # absolute ends first
    assert policy.freshness(age=4500.0, idle_for=1.0) is Freshness.FRESH  # 500 left
    assert policy.freshness(age=4900.0, idle_for=1.0) is Freshness.ADVISORY  # 100 left
    assert policy.freshness(age=4990.0, idle_for=1.0) is Freshness.MANDATORY  # 10 left
    assert policy.freshness(age=200.0, idle_for=990.0) is Freshness.MANDATORY  # idle: 10 left


def test_reactive_only_never_refreshes_ahead_of_time() -> None:
    policy = SessionPolicy.reactive_only()
    assert (policy.idle, policy.absolute, policy.name) == (None, None, "reactive-only")
    assert math.isinf(policy.lifetime)
    assert (policy.advisory, policy.mandatory) == (0.0, 0.0)
    assert math.isinf(policy.remaining(age=1e12, idle_for=1e12))
    assert policy.freshness(age=1e12, idle_for=1e12) is Freshness.FRESH


# -- choosing a preset from the URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10ax.online.tableau.com",
        "https://prod-useast-b.online.tableau.com/",
        "prod-apnortheast-a.online.tableau.com",  # no scheme
        "https://online.tableau.com",
        "HTTPS://EU-WEST-1A.ONLINE.TABLEAU.COM/#/site/x",
        "https://dub01.online.tableau.com:443/api/3.28",
    ],
)
def test_tableau_cloud_urls_get_the_cloud_preset(url: str) -> None:
    policy = SessionPolicy.for_server_url(url)
    assert policy == SessionPolicy.cloud()


@pytest.mark.parametrize(
    "url",
    [
        "https://tableau.example.com",
        "http://127.0.0.1:8000",
        "tableau.internal",
        "https://online.tableau.com.evil.example",  # suffix match, not substring
        "https://notonline.tableau.com",
        "https://example.com/online.tableau.com",  # in the path, not the host
    ],
)
def test_other_urls_get_the_server_preset(url: str) -> None:
    assert SessionPolicy.for_server_url(url) == SessionPolicy.server()


# -- invalid arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"idle": 0.0},
        {"idle": -1.0},
        {"idle": math.inf},
        {"idle": math.nan},
        {"idle": None, "absolute": 0.0},
        {"idle": None, "absolute": -5.0},
        {"idle": None, "absolute": math.inf},
        {"advisory_margin": -1.0},
        {"mandatory_margin": -0.5},
        {"advisory_margin": 10.0, "mandatory_margin": 20.0},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float | None]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - messages differ per field
        SessionPolicy(**kwargs)  # type: ignore[arg-type]


def test_describe_names_the_limits() -> None:
    assert SessionPolicy.server().describe() == "server (idle 240 min)"
    assert SessionPolicy.cloud().describe() == "cloud (absolute 120 min)"
    assert SessionPolicy.reactive_only().describe() == "reactive-only (no limit)"
    both = SessionPolicy.server(idle=30 * MINUTE, absolute=90 * MINUTE).describe()
    assert both == "server (idle 30 min, absolute 90 min)"


# -- property: freshness never improves as time passes ---------------------------------------------


lifetimes = st.one_of(st.none(), st.floats(min_value=1.0, max_value=1e6))
times = st.floats(min_value=0.0, max_value=2e6)


@st.composite
def policies(draw: st.DrawFn) -> SessionPolicy:
    idle, absolute = draw(lifetimes), draw(lifetimes)
    if draw(st.booleans()):
        return SessionPolicy(idle=idle, absolute=absolute)
    mandatory = draw(st.floats(min_value=0.0, max_value=1e5))
    advisory = mandatory + draw(st.floats(min_value=0.0, max_value=1e5))
    return SessionPolicy(
        idle=idle, absolute=absolute, advisory_margin=advisory, mandatory_margin=mandatory
    )


@settings(max_examples=300, database=None, deadline=None)
@given(policy=policies(), age=times, idle=times, more_age=times, more_idle=times)
def test_freshness_is_monotone_as_remaining_time_decreases(
    policy: SessionPolicy, age: float, idle: float, more_age: float, more_idle: float
) -> None:
    idle = min(idle, age)  # a session cannot be idle for longer than it has existed
    later_age, later_idle = age + more_age, min(idle + more_idle, age + more_age)
    before, after = policy.freshness(age, idle), policy.freshness(later_age, later_idle)
    assert policy.remaining(later_age, later_idle) <= policy.remaining(age, idle)
    assert RANK[after] >= RANK[before]


@settings(max_examples=300, database=None, deadline=None)
@given(policy=policies(), age=times, idle=times)
def test_freshness_agrees_with_remaining_time(
    policy: SessionPolicy, age: float, idle: float
) -> None:
    left = policy.remaining(age, idle)
    state = policy.freshness(age, idle)
    if left <= 0 or left < policy.mandatory:
        assert state is Freshness.MANDATORY
    elif left < policy.advisory:
        assert state is Freshness.ADVISORY
    else:
        assert state is Freshness.FRESH


def test_an_advisory_margin_below_the_derived_mandatory_one_lowers_it() -> None:
    """advisory_margin=60 with the 240-minute default: the derived mandatory margin (5 minutes)
    would exceed it, so mandatory follows it down instead of the policy being refused."""
    policy = SessionPolicy(advisory_margin=60.0)
    assert policy.advisory == 60.0
    assert policy.mandatory == 60.0
    assert policy.freshness(age=0.0, idle_for=240 * 60 - 61) is Freshness.FRESH
    assert policy.freshness(age=0.0, idle_for=240 * 60 - 59) is Freshness.MANDATORY
    explicit = SessionPolicy(advisory_margin=60.0, mandatory_margin=30.0)
    assert explicit.mandatory == 30.0
