"""When and how long to wait before sending a request again (rule R7). Pure logic: the caller
supplies the clock readings and does the sleeping.

- 429 (throttled) and 503 (unavailable) honour `Retry-After`, in seconds or as an HTTP date,
  capped at `retry_after_cap`; without it, exponential backoff with jitter.
- 429 is retried for every method: the server refused the request before acting on it.
- 5xx, 408 and transport errors after the request was sent are retried only for idempotent
  methods (GET, HEAD, OPTIONS, PUT, DELETE): a POST that timed out may have taken effect.
- A connection that could not be made (nothing was sent) is retried for every method.
- Everything is bounded: at most `attempts` sends, and no wait that would end past `deadline`
  seconds after the first send.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy", "backoff_delay", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` → seconds to wait (never negative), or None when absent or unreadable.

    Accepts delta-seconds (`"7"`, `"1.5"`) and HTTP dates (`"Wed, 21 Oct 2026 07:28:00 GMT"`);
    `now` is the current epoch time, used for dates.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # asctime and "-0000" dates: HTTP dates are always GMT
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    multiplier: float,
    jitter: float,
    random_fraction: float,
) -> float:
    """Wait before retry number `attempt` (1-based): `initial * multiplier**(attempt-1)` capped at
    `maximum`, plus `jitter * random_fraction` seconds (random_fraction in [0, 1))."""
    try:
        base = initial * multiplier ** max(0, attempt - 1)
    except OverflowError:
        base = maximum
    return min(maximum, base) + jitter * random_fraction


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries. Defaults suit long-running jobs; `RetryPolicy.none()` disables
    retries (errors surface at once).

    `attempts`: sends per request at most (1 = no retry). `deadline`: seconds from the first send
    after which no retry starts. `backoff_*`: exponential backoff for errors without
    `Retry-After`. `retry_after_cap`: the longest `Retry-After` wait honoured; a longer one is
    waited for `retry_after_cap` seconds (and the deadline still applies).
    """

    attempts: int = 5
    deadline: float = 300.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_multiplier: float = 2.0
    backoff_jitter: float = 0.5
    retry_after_cap: float = 120.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    any_method_statuses: frozenset[int] = frozenset({429})
    retry_after_statuses: frozenset[int] = frozenset({429, 503})
    idempotent_methods: frozenset[str] = IDEMPOTENT_METHODS
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.deadline < 0 or self.retry_after_cap < 0 or self.backoff_initial < 0:
            raise ValueError("durations cannot be negative")

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(attempts=1)

    def _idempotent(self, method: str, override: bool | None) -> bool:
        return override if override is not None else method.upper() in self.idempotent_methods

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            multiplier=self.backoff_multiplier,
            jitter=self.backoff_jitter,
            random_fraction=self.random(),
        )

    def _within_budget(self, attempt: int, elapsed: float, wait: float) -> float | None:
        if attempt >= self.attempts or elapsed + wait > self.deadline:
            return None
        return wait

    def after_status(
        self,
        method: str,
        status: int,
        headers: Mapping[str, str],
        *,
        attempt: int,
        elapsed: float,
        now: float,
        idempotent: bool | None = None,
    ) -> float | None:
        """Seconds to wait before resending after `status`, or None to give up.

        `attempt` is how many sends were made so far; `elapsed` seconds since the first.
        `idempotent` overrides what the method implies (sign-in is safe to repeat).
        """
        if status not in self.retry_statuses:
            return None
        if status not in self.any_method_statuses and not self._idempotent(method, idempotent):
            return None
        wait = None
        if status in self.retry_after_statuses:
            asked = parse_retry_after(headers.get("retry-after"), now)
            if asked is not None:
                wait = min(asked, self.retry_after_cap)
        if wait is None:
            wait = self._backoff(attempt)
        return self._within_budget(attempt, elapsed, wait)

    def after_error(
        self,
        method: str,
        *,
        sent: bool,
        attempt: int,
        elapsed: float,
        idempotent: bool | None = None,
    ) -> float | None:
        """Seconds to wait after a transport error, or None to give up. `sent=False` means the
        request never left (connection refused): safe to resend whatever the method."""
        if sent and not self._idempotent(method, idempotent):
            return None
        return self._within_budget(attempt, elapsed, self._backoff(attempt))
