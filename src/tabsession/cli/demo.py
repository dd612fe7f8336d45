"""`tabsession demo`: the intermittent-401 problem reproduced on the emulator, then solved.

Three scenes, each run twice against the same emulated Tableau, once with the official client
(tableauserverclient, when installed; plain HTTP otherwise) and once with tabsession:

1. a six-hour job on Tableau Cloud, whose sessions end 120 minutes after sign-in (the clock is
   shared with the emulator and moved forward, so the six hours take a second);
2. four workers running in parallel with ONE personal access token (each sign-in ends the
   others' sessions), sharing a FileStore in the tabsession run;
3. the errors people meet, as tabsession reports them: a bad request, a call to another site's
   URL, a wrong password.

Everything runs locally; no Tableau server is needed.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import tabsession
from tabsession.clock import ManualClock
from tabsession.emulator import Emulator, PatSpec

__all__ = ["command"]

PAT_NAME, PAT_SECRET = "demo-pat", "demo-secret"
HOUR = 3600.0
JOB_MINUTES = 6 * 60


@dataclass
class Outcome:
    summary: str
    ok: bool


def _naive_label() -> str:
    try:
        import tableauserverclient  # noqa: F401
    except ImportError:
        return "plain HTTP client"
    return "tableauserverclient"


# -- scene 1: a long job -----------------------------------------------------------------------


def _naive_long_job(url: str, clock: ManualClock, site: str) -> Outcome:
    """Sign in once, then one call per minute for six hours, the way most scripts do it."""
    try:
        import tableauserverclient as TSC
    except ImportError:
        return _plain_long_job(url, clock, site)
    server = TSC.Server(url, use_server_version=True)
    server.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=site))
    options = TSC.RequestOptions(pagesize=5)
    for minute in range(JOB_MINUTES):
        try:
            server.workbooks.get(options)
        except TSC.NotSignedInError as exc:
            code = getattr(exc, "code", "")
            return Outcome(f"failed at minute {minute}: {type(exc).__name__} {code}", False)
        clock.advance(60)
    return Outcome("finished", True)


def _plain_long_job(url: str, clock: ManualClock, site: str) -> Outcome:
    from tabsession._httpx import Client as HttpClient

    with HttpClient(base_url=url, headers={"Accept": "application/json"}) as http:
        body = {"credentials": {"personalAccessTokenName": PAT_NAME,
                                "personalAccessTokenSecret": PAT_SECRET,
                                "site": {"contentUrl": site}}}  # fmt: skip
        credentials = http.post("/api/3.28/auth/signin", json=body).json()["credentials"]
        headers = {"X-Tableau-Auth": credentials["token"]}
        path = f"/api/3.28/sites/{credentials['site']['id']}/workbooks"
        for minute in range(JOB_MINUTES):
            response = http.get(path, params={"pageSize": 5}, headers=headers)
            if response.status_code != 200:
                return Outcome(f"failed at minute {minute}: HTTP {response.status_code}", False)
            clock.advance(60)
    return Outcome("finished", True)


def _tabsession_long_job(url: str, clock: ManualClock, site: str) -> tuple[Outcome, str]:
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    policy = tabsession.SessionPolicy.cloud()
    with tabsession.Client(url, auth, site=site, policy=policy, clock=clock) as tab:
        for _ in range(JOB_MINUTES):
            tab.get("workbooks", params={"pageSize": 5})
            clock.advance(60)
        stats = tab.stats
    detail = (
        f"{stats.sign_ins} sign-ins ({stats.refreshes} ahead of expiry), {stats.replays} replays"
    )
    return Outcome("finished", True), detail


# -- scene 2: parallel workers, one PAT ---------------------------------------------------------

WORKERS, CALLS = 4, 15


def _run_workers(work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def _naive_workers(url: str, site: str) -> Outcome:
    errors = 0
    lock = threading.Lock()
    try:
        import tableauserverclient as TSC
    except ImportError:
        return Outcome("(needs tableauserverclient)", False)

    def work(index: int) -> None:
        # what most scripts do: sign in, and sign in again when a call says the session is gone
        nonlocal errors
        server = TSC.Server(url, use_server_version=True)
        auth = TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=site)
        server.auth.sign_in(auth)
        for _ in range(CALLS):
            try:
                server.projects.get()
            except TSC.NotSignedInError:
                with lock:
                    errors += 1
                server.auth.sign_in(auth)
            time.sleep(0.01)

    _run_workers(work)
    total = WORKERS * CALLS
    return Outcome(f"{errors} of {total} calls failed with 401", errors == 0)


def _tabsession_workers(url: str, site: str) -> Outcome:
    errors = 0
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as directory:
        store = tabsession.FileStore(directory)
        auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)

        def work(index: int) -> None:
            nonlocal errors
            # each worker has its own client, as separate processes would; they share the store
            with tabsession.Client(url, auth, site=site, store=store) as tab:
                for _ in range(CALLS):
                    try:
                        tab.get("projects")
                    except tabsession.TableauError:
                        with lock:
                            errors += 1
                    time.sleep(0.01)

        _run_workers(work)
    return Outcome(f"{errors} of {WORKERS * CALLS} calls failed", errors == 0)


# -- scene 3: errors explained ------------------------------------------------------------------


def _explained(url: str, site: str, other_site_id: str) -> list[tuple[str, str]]:
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    shown: list[tuple[str, str]] = []
    with tabsession.Client(url, auth, site=site) as tab:
        tab.sign_in()
        attempts: list[tuple[str, Callable[[], Any]]] = [
            ("a bad request", lambda: tab.get("workbooks", params={"pageSize": "ten"})),
            ("another site's URL", lambda: tab.get(f"/sites/{other_site_id}/workbooks")),
        ]
        for label, call in attempts:
            try:
                call()
            except tabsession.SiteMismatch as exc:
                shown.append(
                    (
                        label,
                        f"SiteMismatch: the URL names site {exc.requested_site_id[:8]}…, the "
                        f"session is on {exc.session_site_id[:8]}… "
                        f"({exc.session_site_content_url!r}); no new sign-in",
                    )
                )
            except tabsession.ResponseError as exc:
                shown.append(
                    (label, f"{type(exc).__name__} {exc.code}: {exc.detail} (no new sign-in)")
                )
    wrong = tabsession.Client(url, tabsession.Password("admin", "not-the-password"), site=site)
    with wrong:
        try:
            wrong.get("projects")
        except tabsession.SignInFailed as exc:
            shown.append(("a wrong password", f"SignInFailed: {exc.likely_cause}"))
    return shown


# -- the command --------------------------------------------------------------------------------


def _mark(outcome: Outcome) -> str:
    return ("[green]✓[/] " if outcome.ok else "[red]✗[/] ") + outcome.summary


def command(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary table."),
) -> None:
    """Reproduce intermittent 401s on a local emulator, then the same jobs with tabsession."""
    console = Console(highlight=False)
    naive = _naive_label()
    site = "marketing"
    clock = ManualClock()
    rows: list[tuple[str, str, str, str]] = []
    config: dict[str, Any] = {"pats": (PatSpec(PAT_NAME, PAT_SECRET),), "sites": (site, "finance")}
    with Emulator(mode="cloud", seed_items=50, clock=clock, **config) as emu:
        if not quiet:
            console.print(
                f"Emulated Tableau Cloud at {emu.url} (sessions end 120 minutes after sign-in)"
            )
            console.print("\n[bold]1. A six-hour job, one call a minute[/]")
        naive_job = _naive_long_job(emu.url, clock, site)
        tab_job, detail = _tabsession_long_job(emu.url, clock, site)
        rows.append(("6-hour job, Cloud sessions", _mark(naive_job), _mark(tab_job), detail))
        if not quiet:
            console.print(f"   {naive}: {naive_job.summary}")
            console.print(f"   tabsession: {tab_job.summary}: {detail}")
            console.print("\n[bold]2. Four workers in parallel with one PAT[/]")
        emu.reset()
        naive_workers = _naive_workers(emu.url, site)
        naive_signins = emu.stats()["signins"]
        emu.reset()
        tab_workers = _tabsession_workers(emu.url, site)
        tab_signins = emu.stats()["signins"]
        rows.append(
            (
                "4 workers, 1 PAT",
                _mark(naive_workers) + f" ({naive_signins} sign-ins)",
                _mark(tab_workers) + f" ({tab_signins} sign-in)",
                "workers share one session through a FileStore",
            )
        )
        if not quiet:
            console.print(f"   {naive}: {naive_workers.summary}, {naive_signins} sign-ins")
            console.print(f"   tabsession: {tab_workers.summary}, {tab_signins} sign-in")
            console.print("\n[bold]3. Errors, explained[/]")
        emu.reset()
        for label, text in _explained(emu.url, site, emu.site_id("finance")):
            if not quiet:
                console.print(f"   {label}: {text}")
    table = Table(title="tabsession demo: the same jobs, side by side")
    table.add_column("scenario")
    table.add_column(naive)
    table.add_column("tabsession")
    table.add_column("how")
    for row in rows:
        table.add_row(*row)
    console.print()
    console.print(table)
    if not (tab_job.ok and tab_workers.ok):
        raise typer.Exit(1)
