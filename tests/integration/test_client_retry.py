"""Retries over real HTTP (rule R7): Retry-After, backoff, which methods are retried after which
failures, dropped and refused connections, and the bounds. Waits go to an injected sleeper (or
`instant_waits()`), so nothing waits for real; counts come from the emulator's fault rules."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from tabsession import (
    Client,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)
from tabsession.clock import ManualClock
from tabsession.testing import instant_waits

from ._support import Sleeps, counter, emulator, fired, free_port, matched, password

PROJECTS = "projects$"


def status(code: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "status", "path": PROJECTS, "status": code, **extra}


def client(url: str, sleeps: Sleeps, **kwargs: Any) -> Client:
    return Client(url, password(), sleep=sleeps, **kwargs)


def test_429_retry_after_seconds_is_honoured() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([status(429, retry_after="3", times=1)])
        assert tab.get("projects")["projects"]
        assert sleeps.calls == [3.0]
        assert fired(emu) == [1]
        stats = tab.stats
        assert (stats.retries, stats.waits, stats.waits_seconds) == (1, 1, 3.0)
        assert emu.stats()["signins"] == 1


def test_429_is_retried_for_a_post_too() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([status(429, retry_after="1", times=2, method="POST")])
        assert tab.post("projects", json={"project": {"name": "Once"}})["project"]["name"] == "Once"
        assert sleeps.calls == [1.0, 1.0]
        assert emu.stats()["status_counts"]["201"] == 1
        names = [p["name"] for p in tab.get("projects")["projects"]["project"]]
        assert names.count("Once") == 1


def test_429_retry_after_http_date_is_honoured() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        when = email.utils.formatdate(time.time() + 20, usegmt=True)
        emu.set_faults([status(429, retry_after=when, times=1)])
        tab.get("projects")
        assert len(sleeps.calls) == 1
        assert 17.0 <= sleeps.calls[0] <= 20.5


def test_429_retry_after_is_capped() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, retry=RetryPolicy(retry_after_cap=7.0)) as tab:
        tab.sign_in()
        emu.set_faults([status(429, retry_after="3600", times=1)])
        tab.get("projects")
        assert sleeps.calls == [7.0]


def test_429_without_retry_after_backs_off_with_jitter() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(random=lambda: 0.5)  # jitter 0.5 s * 0.5
    with emulator() as emu, client(emu.url, sleeps, retry=policy) as tab:
        tab.sign_in()
        emu.set_faults([status(429, times=3)])
        tab.get("projects")
        assert sleeps.calls == [0.75, 1.25, 2.25]
        assert fired(emu) == [3]


def test_429_with_real_jitter_stays_within_bounds() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([status(429, times=2)])
        tab.get("projects")
        first, second = sleeps.calls
        assert 0.5 <= first < 1.0
        assert 1.0 <= second < 1.5


def test_429_that_never_ends_is_rate_limited_with_retry_after() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, retry=RetryPolicy(attempts=2)) as tab:
        tab.sign_in()
        emu.set_faults([status(429, retry_after="9", body="json")])
        with pytest.raises(RateLimited) as caught:
            tab.get("projects")
        assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
            429,
            "429000",
            9.0,
        )
        assert sleeps.calls == [9.0]
        assert fired(emu) == [2]


def test_503_on_get_is_retried_then_succeeds() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, retry=RetryPolicy(random=lambda: 0.0)) as tab:
        tab.sign_in()
        emu.set_faults([status(503, times=2)])
        assert tab.get("projects")["projects"]
        assert sleeps.calls == [0.5, 1.0]
        assert fired(emu) == [2]
        assert emu.stats()["status_counts"]["503"] == 2
        assert tab.stats.retries == 2


def test_503_on_post_is_not_retried() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([status(503, method="POST")])
        with pytest.raises(ServerError) as caught:
            tab.post("projects", json={"project": {"name": "Maybe"}})
        assert caught.value.status == 503
        assert caught.value.summary == "503 Service Unavailable"
        assert matched(emu) == [1]  # exactly one POST reached the server
        assert sleeps.calls == []
        assert tab.stats.retries == 0


@pytest.mark.parametrize(
    ("code", "title"), [(502, "502 Bad Gateway"), (504, "504 Gateway Timeout")]
)
def test_html_gateway_errors_become_server_errors_with_the_page_title(
    code: int, title: str
) -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, retry=RetryPolicy(attempts=3)) as tab:
        tab.sign_in()
        emu.set_faults([status(code, body="html")])
        with pytest.raises(ServerError) as caught:
            tab.get("projects")
        error = caught.value
        assert (error.status, error.code, error.summary) == (code, None, title)
        assert title in str(error)
        assert fired(emu) == [3]
        assert len(sleeps.calls) == 2


def test_no_retry_policy_surfaces_the_first_error() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, retry=RetryPolicy.none()) as tab:
        tab.sign_in()
        emu.set_faults([status(503)])
        with pytest.raises(ServerError):
            tab.get("projects")
        assert fired(emu) == [1]
        assert sleeps.calls == []


def test_a_failing_sign_in_is_retried_like_any_safe_request() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        emu.set_faults([{"kind": "status", "path": "auth/signin", "status": 503, "times": 2}])
        assert tab.get("projects")
        assert fired(emu) == [2]
        assert len(sleeps.calls) == 2
        assert emu.stats()["signins"] == 1


# -- connections -----------------------------------------------------------------------------------


def test_a_dropped_connection_on_get_is_retried() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([{"kind": "drop", "path": PROJECTS, "times": 1}])
        assert tab.get("projects")["projects"]
        assert emu.stats()["connections_dropped"] == 1
        assert matched(emu) == [2]
        assert tab.stats.retries == 1
        assert len(sleeps.calls) == 1


def test_a_dropped_connection_on_post_is_a_transport_error_and_not_repeated() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        before = len(tab.get("projects")["projects"]["project"])
        emu.set_faults([{"kind": "drop", "path": PROJECTS, "method": "POST"}])
        with pytest.raises(TransportError) as caught:
            tab.post("projects", json={"project": {"name": "Lost"}})
        assert caught.value.sent is True
        assert caught.value.method == "POST"
        assert matched(emu) == [1]  # the POST was not repeated
        assert emu.stats()["connections_dropped"] == 1
        assert sleeps.calls == []
        emu.clear_faults()
        assert len(tab.get("projects")["projects"]["project"]) == before


def test_connection_refused_is_transport_error_not_sent_after_retries() -> None:
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{free_port()}"
    with instant_waits(), Client(url, password(), api_version="3.23", sleep=sleeps) as tab:
        with pytest.raises(TransportError) as caught:
            tab.get("projects")
        assert caught.value.sent is False
        assert caught.value.url == f"{url}/api/3.23/auth/signin"
        assert "ConnectError" in str(caught.value)
        stats = tab.stats
        # a sign-in gets its own budget, 3 attempts (it runs under the store's lock)
        assert (stats.retries, stats.waits) == (2, 2)
        assert sleeps.calls == []  # instant_waits: counted, not slept


def test_the_deadline_stops_retries() -> None:
    clock = ManualClock()
    policy = RetryPolicy(attempts=10, deadline=3.0, random=lambda: 0.0)
    with emulator() as emu:
        tab = Client(emu.url, password(), retry=policy, clock=clock, sleep=clock.advance)
        tab.sign_in()
        emu.set_faults([status(503)])
        with pytest.raises(ServerError):
            tab.get("projects")
        # sends at 0 s, 0.5 s and 1.5 s; the next wait (2 s) would end past 3 s
        assert fired(emu) == [3]
        assert clock.monotonic() == 1.5
        tab.close()


def test_instant_waits_skip_the_sleeper_but_count_the_waits() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps) as tab:
        tab.sign_in()
        emu.set_faults([status(429, retry_after="30", times=2), counter(PROJECTS)])
        with instant_waits():
            tab.get("projects")
        assert sleeps.calls == []
        assert (tab.stats.waits, tab.stats.waits_seconds) == (2, 60.0)
        assert matched(emu) == [3, 3]


def test_a_read_timeout_is_retried_for_get_and_not_for_post() -> None:
    sleeps = Sleeps()
    with emulator() as emu, client(emu.url, sleeps, timeout=0.5) as tab:
        tab.sign_in()
        slow = {"kind": "latency", "path": PROJECTS, "latency_ms": 1500}
        emu.set_faults([{**slow, "method": "GET", "times": 1}, {**slow, "method": "POST"}])
        assert tab.get("projects")["projects"]
        assert fired(emu) == [1, 0]
        assert matched(emu) == [2, 0]  # timed out once, then answered
        with pytest.raises(TransportError) as caught:
            tab.post("projects", json={"project": {"name": "Slow"}})
        assert caught.value.sent is True  # it may have taken effect: not sent again
        assert "Timeout" in str(caught.value)
        assert matched(emu) == [2, 1]
        assert len(sleeps.calls) == 1
