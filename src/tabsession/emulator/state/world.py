"""The whole emulated server: clock, sites with their content, accounts and sessions, faults and
counters. The HTTP layer holds one `EmulatorState` and calls into it; nothing here sees HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from tabsession.clock import AdvanceableClock, ScaledClock
from tabsession.emulator.config import EmulatorConfig
from tabsession.emulator.faults import FaultEngine
from tabsession.emulator.state.auth import AuthState
from tabsession.emulator.state.content import SiteContent
from tabsession.emulator.state.files import Budget, FileStore
from tabsession.emulator.state.jobs import JobBoard
from tabsession.emulator.state.seed import stable_id
from tabsession.emulator.state.stats import Stats
from tabsession.emulator.state.uploads import UploadSessions

__all__ = ["EmulatorState", "ExportSlots", "Site"]


class ExportSlots:
    """View exports in progress, against an optional limit (Tableau Cloud: 20 at once).

    A slot is held for at most `hold` seconds (real time): one whose request was abandoned
    before it finished frees itself then, so an aborted download cannot use up the limit."""

    GRACE = 5.0
    """Seconds a slot outlives its expected hold before it counts as abandoned."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._held: dict[int, float] = {}
        self._next = 0
        self._lock = threading.Lock()

    def try_acquire(self, hold: float) -> int | None:
        """A slot's ticket, or None when the limit is reached."""
        now = time.monotonic()
        with self._lock:
            self._held = {t: end for t, end in self._held.items() if end > now}
            if self.limit is not None and len(self._held) >= self.limit:
                return None
            self._next += 1
            self._held[self._next] = now + hold + self.GRACE
            return self._next

    def release(self, ticket: int) -> None:
        with self._lock:
            self._held.pop(ticket, None)


@dataclass
class Site:
    id: str
    name: str
    content_url: str
    content: SiteContent

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "contentUrl": self.content_url}


class EmulatorState:
    """Everything the emulator knows. Thread-safe; `reset()` returns to the configured start."""

    def __init__(self, config: EmulatorConfig, clock: AdvanceableClock | None = None) -> None:
        self.config = config
        self.clock: AdvanceableClock = clock or ScaledClock(config.time_scale)
        self.stats = Stats()
        self.faults = FaultEngine(latency_ms=config.latency_ms, seed=config.random_seed)
        self._lock = threading.Lock()
        self._sites: dict[str, Site] = {}
        self._sites_by_url: dict[str, Site] = {}
        self.budget = Budget(config.max_stored_bytes)
        self.files = FileStore(self.budget)
        self.uploads = UploadSessions(
            self.budget, self.clock, outlive_session=config.upload_outlives_session
        )
        self.exports = ExportSlots(config.export_limit)
        self._jobs: dict[str, JobBoard] = {}
        self._build_sites()
        self.auth = AuthState(config, self.clock, self, self.stats)

    def _build_sites(self) -> None:
        config = self.config
        accounts = [config.admin, *config.users]
        sites = {}
        for url in config.site_urls:
            site_id = stable_id("site", url or "default-site")
            name = url or "Default"
            content = SiteContent(site_id, url, config.seed_items, accounts, self.clock)
            sites[site_id] = Site(site_id, name, url, content)
        with self._lock:
            self._sites = sites
            self._sites_by_url = {s.content_url.lower(): s for s in sites.values()}

    def reset(self) -> None:
        """Fresh content, no sessions, no faults, zeroed counters (the clock keeps running)."""
        self._build_sites()
        self.files.clear()
        self.uploads.clear()
        with self._lock:
            self._jobs = {}
        self.auth.reset()
        self.faults.clear()
        self.stats.reset()

    def jobs_for(self, site_id: str) -> JobBoard:
        """The jobs started on a site (refreshes, asJob publishes)."""
        with self._lock:
            board = self._jobs.get(site_id)
            if board is None:
                board = JobBoard(site_id, self.clock, self.config.job_duration)
                self._jobs[site_id] = board
            return board

    # -- Directory (what sign-in needs) ----------------------------------------------------------

    def site_by_url(self, content_url: str) -> Site | None:
        with self._lock:
            return self._sites_by_url.get(content_url.lower())

    def site_by_id(self, site_id: str) -> Site | None:
        with self._lock:
            return self._sites.get(site_id)

    def sites(self) -> list[Site]:
        with self._lock:
            return list(self._sites.values())

    def member_id(self, site_id: str, user_name: str) -> str | None:
        site = self.site_by_id(site_id)
        return None if site is None else site.content.member_id(user_name)

    def member_name(self, site_id: str, user_id: str) -> str | None:
        site = self.site_by_id(site_id)
        return None if site is None else site.content.member_name(user_id)

    def touch_login(self, site_id: str, user_id: str, when: float) -> None:
        site = self.site_by_id(site_id)
        if site is not None:
            site.content.touch_login(user_id, when)

    # -- control plane helpers -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def stats_snapshot(self) -> dict[str, Any]:
        return self.stats.snapshot(self.auth.active_count())
