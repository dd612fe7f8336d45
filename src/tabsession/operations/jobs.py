"""Waiting for a job (`GET jobs/{id}`) until it ends (shared by both clients; I/O-free).

The poll interval starts at `first_interval` and grows by half each poll up to `max_interval`.
Expired sessions are renewed by the request flow. 429s the sender's retries could not absorb
are waited out here: `Retry-After`, else the "retry after N minutes" that Tableau writes in the
error's detail, else the current interval.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tabsession._effects import Flow, sleep
from tabsession._responses import parse_payload
from tabsession.errors import (
    ConfigurationError,
    JobCancelled,
    JobFailed,
    JobTimeout,
    RateLimited,
    TableauError,
)

if TYPE_CHECKING:
    from tabsession._core import ClientCore

__all__ = [
    "FIRST_INTERVAL",
    "MAX_INTERVAL",
    "MAX_RATE_WAIT",
    "hinted_wait",
    "job_notes",
    "next_interval",
    "wait_flow",
]

FIRST_INTERVAL = 1.0
MAX_INTERVAL = 30.0
"""Polls start 1 s apart and slow down to one every 30 s: quick jobs end quickly, hour-long
refreshes cost two requests a minute."""
MAX_RATE_WAIT = 3600.0
"""The longest 429 hint honoured (Tableau has asked for 29 minutes)."""

JobProgress = Callable[[dict[str, Any]], None]
_HINT = re.compile(r"retry\s+after\s+(\d+(?:\.\d+)?)\s*(second|sec|minute|min|hour|hr)", re.I)
_UNIT = {"sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "hr": 3600.0, "hour": 3600.0}


def next_interval(interval: float, maximum: float) -> float:
    return min(maximum, interval * 1.5)


def hinted_wait(error: RateLimited) -> float | None:
    """Seconds a 429 asked for: `Retry-After`, else "retry after N minutes" in its words."""
    if error.retry_after is not None:
        return min(MAX_RATE_WAIT, max(0.0, error.retry_after))
    for text in (error.detail, error.summary, error.message):
        found = _HINT.search(text or "")
        if found:
            unit = found.group(2).lower()
            return min(MAX_RATE_WAIT, float(found.group(1)) * _UNIT[unit])
    return None


def job_notes(job: dict[str, Any]) -> str:
    """What Tableau wrote about the job (its `notes`, wherever the job type puts them)."""
    for value in job.values():
        if isinstance(value, dict) and "notes" in value:
            notes = value["notes"]
            return notes if isinstance(notes, str) else str(notes or "")
    notes = job.get("notes")
    return notes if isinstance(notes, str) else ""


def _finish_code(job: dict[str, Any]) -> int | None:
    code = job.get("finishCode")
    if code is None or code == "":
        return None
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


def wait_flow(
    core: ClientCore,
    job_id: str,
    *,
    timeout: float | None,
    on_progress: JobProgress | None,
    first_interval: float = FIRST_INTERVAL,
    max_interval: float = MAX_INTERVAL,
) -> Flow[dict[str, Any]]:
    """Poll `jobs/{job_id}` until it ends: the job on success, `JobFailed`/`JobCancelled`
    otherwise, `JobTimeout` after `timeout` seconds (None: no limit)."""
    if not job_id or not isinstance(job_id, str):
        raise ConfigurationError("job_id must be a job's id (a string)")
    if timeout is not None and timeout < 0:
        raise ConfigurationError("timeout cannot be negative")
    if not 0 < first_interval <= max_interval:
        raise ConfigurationError("poll intervals must be positive, the first the smallest")
    clock = core.clock
    start = clock.monotonic()
    interval = first_interval
    path = f"jobs/{job_id}"
    while True:
        try:
            response = yield from core.request_flow("GET", path)
        except RateLimited as exc:
            pause = hinted_wait(exc)
            yield from _pause(core, job_id, start, timeout, pause or interval, "rate limited")
            continue
        data = parse_payload(response.content, response.headers.get("content-type", ""))
        job = data.get("job") if isinstance(data, dict) else None
        if not isinstance(job, dict):
            raise TableauError(f"GET {path} answered without a job", method="GET")
        if on_progress is not None:
            on_progress(job)
        code = _finish_code(job)
        if code == 0:
            return job
        if code is not None:
            notes = job_notes(job)
            error = JobCancelled if code == 2 else JobFailed
            what = "was cancelled" if code == 2 else f"failed (finishCode {code})"
            raise error(
                f"job {job_id} {what}" + (f": {notes}" if notes else ""),
                job=job,
                job_id=job_id,
                notes=notes,
                method="GET",
            )
        yield from _pause(core, job_id, start, timeout, interval, "not finished")
        interval = next_interval(interval, max_interval)


def _pause(
    core: ClientCore, job_id: str, start: float, timeout: float | None, seconds: float, why: str
) -> Flow[None]:
    if timeout is not None:
        left = timeout - (core.clock.monotonic() - start)
        if left <= 0:
            raise JobTimeout(
                f"job {job_id} did not end within {timeout:g} s", job_id=job_id, method="GET"
            )
        seconds = min(seconds, left)
    core.events.emit(
        "job_wait",
        f"job {job_id} {why}: polling again in {seconds:.1f}s",
        job_id=job_id,
        seconds=seconds,
    )
    yield from sleep(seconds)
