"""Retry decisions (rule R7): Retry-After parsing, backoff, which statuses and errors are retried
for which methods, and the attempt and deadline bounds. Pure logic: no clock, no sleeping."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import pytest

from tabsession.transport.retry import RetryPolicy, backoff_delay, parse_retry_after

NOW = 1_800_000_000.0  # a fixed epoch reading


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def no_jitter(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(random=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


# -- parse_retry_after -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("120", 120.0),
        ("-5", 0.0),  # never negative
        ("-0.5", 0.0),
    ],
)
def test_retry_after_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_is_relative_to_now() -> None:
    assert parse_retry_after(http_date(NOW + 30), NOW) == pytest.approx(30.0)
    assert parse_retry_after(http_date(NOW + 3600), NOW) == pytest.approx(3600.0)


def test_retry_after_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(http_date(NOW - 3600), NOW) == 0.0


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Run with a local time zone far from UTC (HTTP dates are always GMT)."""
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset")
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_retry_after_obsolete_date_formats_are_gmt_whatever_the_local_zone() -> None:
    # RFC 9110 §5.6.7: recipients must accept asctime() and RFC 850 dates, and they are in GMT.
    moment = time.gmtime(NOW + 60)
    asctime = time.strftime("%a %b %d %H:%M:%S %Y", moment)
    assert parse_retry_after(asctime, NOW) == pytest.approx(60.0)
    assert parse_retry_after(http_date(NOW + 60), NOW) == pytest.approx(60.0)


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "3 seconds", "Wed, 99 Foo 2026 99:99:99 GMT", "inf", "nan", "-inf"],
)
def test_retry_after_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


# -- backoff ---------------------------------------------------------------------------------------


def test_backoff_grows_exponentially() -> None:
    delays = [
        backoff_delay(n, initial=0.5, maximum=1000, multiplier=2, jitter=0, random_fraction=0.9)
        for n in range(1, 7)
    ]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]


def test_backoff_is_capped_and_survives_huge_attempt_numbers() -> None:
    kwargs = {"initial": 0.5, "maximum": 30.0, "multiplier": 2.0, "jitter": 0.0}
    assert backoff_delay(7, random_fraction=0, **kwargs) == 30.0  # 32 capped at 30
    assert backoff_delay(50, random_fraction=0, **kwargs) == 30.0
    assert backoff_delay(100_000, random_fraction=0, **kwargs) == 30.0  # float overflow


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.999999])
def test_backoff_jitter_is_added_within_bounds(fraction: float) -> None:
    delay = backoff_delay(
        3, initial=1.0, maximum=30.0, multiplier=2.0, jitter=0.5, random_fraction=fraction
    )
    assert delay == pytest.approx(4.0 + 0.5 * fraction)
    assert 4.0 <= delay < 4.5


def test_policy_backoff_uses_its_random_source_within_jitter_bounds() -> None:
    policy = RetryPolicy()  # real randomness: every wait within [base, base + jitter)
    for attempt, base in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)):
        for _ in range(50):
            wait = policy.after_status("GET", 503, {}, attempt=attempt, elapsed=0.0, now=NOW)
            if attempt >= policy.attempts:
                assert wait is None
                continue
            assert wait is not None
            assert base <= wait < base + policy.backoff_jitter


# -- after_status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_429_is_retried_for_every_method(method: str) -> None:
    wait = no_jitter().after_status(method, 429, {}, attempt=1, elapsed=0.0, now=NOW)
    assert wait == 0.5


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get"])
def test_5xx_and_408_are_retried_for_idempotent_methods(status: int, method: str) -> None:
    wait = no_jitter().after_status(method, status, {}, attempt=2, elapsed=0.0, now=NOW)
    assert wait == 1.0


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PATCH", "post"])
def test_5xx_and_408_are_not_retried_for_other_methods(status: int, method: str) -> None:
    assert RetryPolicy().after_status(method, status, {}, attempt=1, elapsed=0, now=NOW) is None


def test_idempotent_override_makes_a_post_retryable_and_a_get_not() -> None:
    policy = no_jitter()
    assert policy.after_status("POST", 503, {}, attempt=1, elapsed=0, now=NOW, idempotent=True)
    assert (
        policy.after_status("GET", 503, {}, attempt=1, elapsed=0, now=NOW, idempotent=False) is None
    )
    assert policy.after_error("POST", sent=True, attempt=1, elapsed=0, idempotent=True)


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 405, 409, 501])
def test_other_statuses_are_never_retried(status: int) -> None:
    assert RetryPolicy().after_status("GET", status, {}, attempt=1, elapsed=0, now=NOW) is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_for_429_and_503(status: int) -> None:
    policy = no_jitter()
    headers = {"retry-after": "3"}
    assert policy.after_status("GET", status, headers, attempt=1, elapsed=0, now=NOW) == 3.0
    dated = {"retry-after": http_date(NOW + 42)}
    wait = policy.after_status("GET", status, dated, attempt=1, elapsed=0, now=NOW)
    assert wait == pytest.approx(42.0)


def test_retry_after_is_capped() -> None:
    policy = no_jitter(retry_after_cap=10.0)
    wait = policy.after_status("GET", 429, {"retry-after": "3600"}, attempt=1, elapsed=0, now=NOW)
    assert wait == 10.0


def test_retry_after_is_ignored_for_statuses_that_do_not_define_it() -> None:
    policy = no_jitter()
    wait = policy.after_status("GET", 500, {"retry-after": "99"}, attempt=1, elapsed=0, now=NOW)
    assert wait == 0.5  # backoff, not 99


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    policy = no_jitter()
    wait = policy.after_status("GET", 429, {"retry-after": "later"}, attempt=3, elapsed=0, now=NOW)
    assert wait == 2.0


def test_attempts_bound_the_number_of_sends() -> None:
    policy = no_jitter(attempts=3)
    assert policy.after_status("GET", 503, {}, attempt=1, elapsed=0, now=NOW) is not None
    assert policy.after_status("GET", 503, {}, attempt=2, elapsed=0, now=NOW) is not None
    assert policy.after_status("GET", 503, {}, attempt=3, elapsed=0, now=NOW) is None
    assert policy.after_error("GET", sent=False, attempt=3, elapsed=0) is None


def test_no_wait_may_end_past_the_deadline() -> None:
    policy = no_jitter(deadline=10.0)
    assert policy.after_status("GET", 503, {}, attempt=1, elapsed=9.5, now=NOW) == 0.5
    assert policy.after_status("GET", 503, {}, attempt=1, elapsed=9.6, now=NOW) is None
    # a Retry-After that would end past the deadline is not waited for at all
    late = {"retry-after": "11"}
    assert policy.after_status("GET", 429, late, attempt=1, elapsed=0.0, now=NOW) is None
    assert policy.after_error("GET", sent=True, attempt=1, elapsed=10.0) is None


def test_none_policy_never_retries() -> None:
    policy = RetryPolicy.none()
    assert policy.attempts == 1
    assert (
        policy.after_status("GET", 429, {"retry-after": "1"}, attempt=1, elapsed=0, now=NOW) is None
    )
    assert policy.after_error("GET", sent=False, attempt=1, elapsed=0) is None


# -- after_error -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT", "DELETE"])
def test_a_request_that_was_never_sent_is_retried_whatever_the_method(method: str) -> None:
    assert no_jitter().after_error(method, sent=False, attempt=1, elapsed=0) == 0.5


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_sent_non_idempotent_request_is_not_retried(method: str) -> None:
    assert RetryPolicy().after_error(method, sent=True, attempt=1, elapsed=0) is None


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_sent_idempotent_request_is_retried(method: str) -> None:
    assert no_jitter().after_error(method, sent=True, attempt=2, elapsed=0) == 1.0


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": -1},
        {"deadline": -1.0},
        {"retry_after_cap": -1.0},
        {"backoff_initial": -0.1},
    ],
)
def test_invalid_retry_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
