"""`tabsession demo`: the intermittent-401 problem reproduced on the emulator, then solved.

Three scenes, each run twice against the same emulated Tableau, once with the official client
(tableauserverclient, when installed; plain HTTP otherwise) and once with tabsession:

1. a six-hour job on Tableau Cloud, whose sessions end 120 minutes after sign-in (the clock is
   shared with the emulator and moved forward, so the six hours take a second);
2. four worker processes running in parallel with ONE personal access token (each sign-in ends
   the others' sessions), sharing a FileStore in the tabsession run;
3. the errors people meet, as tabsession reports them: a bad request, a call to another site's
   URL, a wrong password.

Everything runs locally; no Tableau server is needed.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import tabsession
from tabsession.cli.explanations import one_line
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
        f"{plural(stats.sign_ins, 'sign-in')}, {stats.refreshes} ahead of expiry, "
        f"{plural(stats.replays, 'replay')}"
    )
    return Outcome("finished", True), detail


# -- scene 2: parallel workers, one PAT ---------------------------------------------------------

WORKERS, CALLS = 4, 15
_SPAWN = multiprocessing.get_context("spawn")
_START_TIMEOUT = 60.0


def _naive_tsc_worker(url: str, site: str) -> int:
    """What most scripts do: sign in, and sign in again when a call says the session is gone."""
    import tableauserverclient as TSC

    errors = 0
    server = TSC.Server(url, use_server_version=True)
    auth = TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=site)
    server.auth.sign_in(auth)
    for _ in range(CALLS):
        try:
            server.projects.get()
        except TSC.NotSignedInError:
            errors += 1
            server.auth.sign_in(auth)
        time.sleep(0.01)
    return errors


def _naive_http_worker(url: str, site: str) -> int:
    """The same with plain HTTP, when tableauserverclient is not installed."""
    from tabsession._httpx import Client as HttpClient

    errors = 0
    body = {"credentials": {"personalAccessTokenName": PAT_NAME,
                            "personalAccessTokenSecret": PAT_SECRET,
                            "site": {"contentUrl": site}}}  # fmt: skip
    with HttpClient(base_url=url, headers={"Accept": "application/json"}) as http:

        def sign_in() -> tuple[dict[str, str], str]:
            credentials = http.post("/api/3.23/auth/signin", json=body).json()["credentials"]
            path = f"/api/3.23/sites/{credentials['site']['id']}/projects"
            return {"X-Tableau-Auth": credentials["token"]}, path

        headers, path = sign_in()
        for _ in range(CALLS):
            if http.get(path, headers=headers).status_code == 401:
                errors += 1
                headers, path = sign_in()
            time.sleep(0.01)
    return errors


def _tabsession_worker(url: str, site: str, directory: str) -> int:
    """Each process has its own client; they share one session through the FileStore."""
    errors = 0
    auth = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
    store = tabsession.FileStore(directory)
    with tabsession.Client(url, auth, site=site, store=store) as tab:
        for _ in range(CALLS):
            try:
                tab.get("projects")
            except tabsession.TableauError:
                errors += 1
            time.sleep(0.01)
    return errors


def _process_main(kind: str, args: tuple[str, ...], start: Any, results: Any) -> None:
    workers: dict[str, Callable[..., int]] = {
        "tsc": _naive_tsc_worker,
        "http": _naive_http_worker,
        "tabsession": _tabsession_worker,
    }
    worker = workers[kind]
    start.wait(_START_TIMEOUT)  # every process is up (imports done): go together
    try:
        results.put(worker(*args))
    except Exception:
        results.put(CALLS)  # a worker that died counts all its calls as failed


def _run_processes(kind: str, *args: str) -> int:
    """WORKERS real processes (spawned, started together); the sum of their failed calls."""
    start = _SPAWN.Barrier(WORKERS + 1)
    results = _SPAWN.Queue()
    processes = [
        _SPAWN.Process(target=_process_main, args=(kind, args, start, results), daemon=True)
        for _ in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.wait(_START_TIMEOUT)
    failed = sum(int(results.get(timeout=_START_TIMEOUT)) for _ in processes)
    for process in processes:
        process.join(_START_TIMEOUT)
    return failed


def _naive_workers(url: str, site: str) -> Outcome:
    kind = "tsc" if _naive_label() == "tableauserverclient" else "http"
    errors = _run_processes(kind, url, site)
    total = WORKERS * CALLS
    return Outcome(f"{errors} of {total} calls failed with 401", errors == 0)


def _tabsession_workers(url: str, site: str) -> Outcome:
    with tempfile.TemporaryDirectory() as directory:
        errors = _run_processes("tabsession", url, site, directory)
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


def plural(count: int, word: str) -> str:
    """`1 sign-in`, `4 sign-ins`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _mark(outcome: Outcome) -> str:
    return ("[green]✓[/] " if outcome.ok else "[red]✗[/] ") + outcome.summary


class _Writer:
    """Prose wrapped at word boundaries to the console's width (80 when piped), with a hanging
    indent, so nothing is cut or split mid-word at any width."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console, self.quiet = console, quiet

    def heading(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"\n[bold]{text}[/]")

    def say(self, text: str, indent: int = 3, hang: int = 5) -> None:
        if self.quiet:
            return
        lines = textwrap.wrap(
            text,
            width=max(40, self.console.width),
            initial_indent=" " * indent,
            subsequent_indent=" " * hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in lines:
            self.console.print(line, markup=False, soft_wrap=True)


def _table(naive: str, rows: list[tuple[str, str, str]]) -> Table:
    table = Table(title="tabsession demo: the same jobs, side by side")
    for header, ratio in (("scenario", 2), (naive, 3), ("tabsession", 3)):
        table.add_column(header, min_width=len(header), ratio=ratio, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def command(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary table."),
) -> None:
    """Reproduce intermittent 401s on a local emulator, then the same jobs with tabsession.

    [bold]Examples[/]

      $ tabsession demo
      $ tabsession demo --quiet | less

    Three scenes: a six-hour job on Tableau Cloud (the clock is moved, so it takes a second),
    four worker processes sharing one PAT, and the errors people meet. No Tableau server needed.
    """
    console = Console(highlight=False)
    out = _Writer(console, quiet)
    naive = _naive_label()
    site = "marketing"
    clock = ManualClock()
    rows: list[tuple[str, str, str]] = []
    config: dict[str, Any] = {"pats": (PatSpec(PAT_NAME, PAT_SECRET),), "sites": (site, "finance")}
    with Emulator(mode="cloud", seed_items=50, clock=clock, **config) as emu:
        out.say(
            f"Emulated Tableau Cloud at {emu.url} (sessions end 120 minutes after sign-in)",
            indent=0,
            hang=2,
        )
        out.heading("1. A six-hour job, one call a minute")
        naive_job = _naive_long_job(emu.url, clock, site)
        tab_job, detail = _tabsession_long_job(emu.url, clock, site)
        rows.append(
            ("6-hour job, Cloud sessions", _mark(naive_job), _mark(tab_job) + f" ({detail})")
        )
        out.say(f"{naive}: {naive_job.summary}")
        out.say(f"tabsession: {tab_job.summary}: {detail}")
        out.say(f"{one_line('401002', '401000')} Both mean: sign in again.")
        out.heading(f"2. {WORKERS} worker processes in parallel with one PAT")
        emu.reset()
        naive_workers = _naive_workers(emu.url, site)
        naive_signins = emu.stats()["signins"]
        emu.reset()
        tab_workers = _tabsession_workers(emu.url, site)
        tab_signins = emu.stats()["signins"]
        rows.append(
            (
                f"{WORKERS} processes, 1 PAT",
                _mark(naive_workers) + f" ({plural(naive_signins, 'sign-in')})",
                _mark(tab_workers) + f" ({plural(tab_signins, 'sign-in')})",
            )
        )
        out.say(f"{naive}: {naive_workers.summary}, {plural(naive_signins, 'sign-in')}")
        out.say(
            f"tabsession: {tab_workers.summary}, {plural(tab_signins, 'sign-in')}: the processes "
            "share one session through a FileStore"
        )
        out.heading("3. Errors, explained")
        emu.reset()
        for label, text in _explained(emu.url, site, emu.site_id("finance")):
            out.say(f"{label}: {text}")
    console.print()
    console.print(_table(naive, rows))
    if not (tab_job.ok and tab_workers.ok):
        raise typer.Exit(1)
