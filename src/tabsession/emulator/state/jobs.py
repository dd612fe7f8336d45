"""Asynchronous jobs the emulator starts (extract refreshes, publishes with `asJob=true`).

A job's state is a function of the emulated clock, never of a timer: it is Pending for the first
tenth of its duration, then InProgress with a progress that grows with time, then Success (or
Failed, when a `job_failure` fault rule matched the request that started it). `cancel()` ends
a job that has not finished (finishCode 2). Moving the clock (`advance`, `time_scale`) moves
every job with it. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tabsession.clock import Clock
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.seed import stable_id

__all__ = ["FINISH_CODES", "Job", "JobBoard"]

FINISH_CODES = {"Success": 0, "Failed": 1, "Cancelled": 2}
_PENDING_SHARE = 0.1


@dataclass
class Job:
    """One job: what it works on, when it started, how long it takes and how it ends."""

    id: str
    type: str
    """Tableau's job type: RefreshExtract, PublishWorkbook or PublishDatasource."""
    target_kind: str
    """`workbook` or `datasource`."""
    target: dict[str, str]
    created: float
    duration: float
    fails: bool = False
    cancelled_at: float | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "Cancelled"
        elapsed = now - self.created
        if elapsed >= self.duration:
            return "Failed" if self.fails else "Success"
        if elapsed < self.duration * _PENDING_SHARE:
            return "Pending"
        return "InProgress"

    def progress(self, now: float) -> int:
        status = self.status(now)
        if status in FINISH_CODES:
            return 100
        if status == "Pending" or self.duration <= 0:
            return 0
        return min(99, int(100 * (now - self.created) / self.duration))

    def started_at(self) -> float:
        return self.created + self.duration * _PENDING_SHARE

    def ended_at(self) -> float:
        return self.cancelled_at if self.cancelled_at is not None else self.created + self.duration


class JobBoard:
    """The jobs started on one site since the emulator started (or was reset)."""

    def __init__(self, site_key: str, clock: Clock, duration: float) -> None:
        self._site_key = site_key
        self._clock = clock
        self._duration = duration
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._cancelled_seeded: dict[str, float] = {}
        self._counter = 0

    def start(
        self, job_type: str, target_kind: str, target: Mapping[str, Any], *, fails: bool = False
    ) -> Job:
        with self._lock:
            self._counter += 1
            job = Job(
                id=stable_id(self._site_key, "job", "started", str(self._counter)),
                type=job_type,
                target_kind=target_kind,
                target={"id": str(target["id"]), "name": str(target.get("name", ""))},
                created=self._clock.time(),
                duration=self._duration,
                fails=fails,
            )
            self._jobs[job.id] = job
            return job

    def find(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def now(self) -> float:
        return self._clock.time()

    def cancel(self, job_id: str) -> Job:
        """Cancel a running job (a finished one stays as it ended, like Tableau's)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise ApiError.item_not_found("404031", "job", job_id)
            now = self._clock.time()
            if job.status(now) not in FINISH_CODES:
                job.cancelled_at = now
            return job

    def cancel_seeded(self, job_id: str) -> float:
        """Record that a seeded (still running) job was cancelled; returns when."""
        with self._lock:
            return self._cancelled_seeded.setdefault(job_id, self._clock.time())

    def seeded_cancelled_at(self, job_id: str) -> float | None:
        with self._lock:
            return self._cancelled_seeded.get(job_id)

    def has_cancelled_seeded(self) -> bool:
        with self._lock:
            return bool(self._cancelled_seeded)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())
