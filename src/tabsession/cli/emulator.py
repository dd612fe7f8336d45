"""`tabsession emulator`: run a local Tableau Server / Tableau Cloud emulator in the foreground.

Every option is parsed here, so that bad input always ends in one line on stderr and exit code 2
(never a traceback). The server itself is `tabsession.emulator.server.serve`.
"""

from __future__ import annotations

import json
import math
import shlex
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tabsession.emulator.config import (
    Account,
    ConnectedApp,
    EmulatorConfig,
    PatSpec,
    parse_duration,
)

if TYPE_CHECKING:
    from tabsession.emulator.state.world import EmulatorState

__all__ = ["command"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
MAX_SEED_ITEMS = 1_000_000
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Stop(Exception):
    """Raised by our signal handlers so that Ctrl-C / SIGTERM end the command without a trace."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _fail(option: str, value: str, why: str) -> NoReturn:
    typer.echo(f"Error: {option} {value!r}: {why}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _int(option: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        _fail(option, text, "not a whole number")
    if not low <= value <= high:
        _fail(option, text, f"must be between {low} and {high}")
    return value


def _float(option: str, text: str, *, minimum: float, exclusive: bool = False) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        _fail(option, text, "not a number")
    if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
        relation = "greater than" if exclusive else "at least"
        _fail(option, text, f"must be a number {relation} {minimum:g}")
    return value


def _duration(option: str, text: str, default_unit: str) -> float:
    try:
        seconds = parse_duration(text, default_unit=default_unit)
    except ValueError as exc:
        _fail(option, text, str(exc))
    if not math.isfinite(seconds) or seconds <= 0:
        _fail(option, text, "must be longer than zero")
    return seconds


def _choice(option: str, text: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        _fail(option, text, f"choose one of {', '.join(choices)}")
    return value


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def build_config(
    *,
    mode: str,
    session_lifetime: str | None,
    lifetime_kind: str | None,
    lifetime_limit: str | None,
    admin: str,
    users: list[str],
    pats: list[str],
    connected_apps: list[str],
    sites: list[str],
    seed_items: str,
    seed: str,
    latency: str,
    time_scale: str,
    max_api_version: str | None,
    site_mismatch_status: str,
    signin_redirect_host: str | None,
    job_duration: str = "30s",
    upload_outlives_session: bool = True,
    max_stored_mb: str = "256",
    export_concurrency: str | None = None,
    export_latency: str = "0",
) -> EmulatorConfig:
    """The command line's options → an `EmulatorConfig` (exit 2 with one line on bad input)."""
    chosen_mode = _choice("--mode", mode, ("server", "cloud"))
    kind = (
        None
        if lifetime_kind is None
        else _choice("--lifetime-kind", lifetime_kind, ("idle", "absolute"))
    )
    try:
        admin_account = Account.parse(admin, site_role="ServerAdministrator")
    except ValueError as exc:
        _fail("--admin", admin, str(exc))
    accounts = []
    for text in users:
        try:
            accounts.append(Account.parse(text))
        except ValueError as exc:
            _fail("--user", text, str(exc))
    pat_specs = []
    for text in pats:
        try:
            pat_specs.append(PatSpec.parse(text))
        except ValueError as exc:
            _fail("--pat", text, str(exc))
    apps = []
    for text in connected_apps:
        try:
            apps.append(ConnectedApp.parse(text))
        except ValueError as exc:
            _fail("--connected-app", text, str(exc))
    try:
        return EmulatorConfig(
            mode=chosen_mode,  # type: ignore[arg-type]
            session_lifetime=(
                None
                if session_lifetime is None
                else _duration("--session-lifetime", session_lifetime, "m")
            ),
            lifetime_kind=kind,  # type: ignore[arg-type]
            lifetime_limit=(
                None
                if lifetime_limit is None
                else _duration("--lifetime-limit", lifetime_limit, "m")
            ),
            max_api_version=max_api_version,
            admin=admin_account,
            users=tuple(accounts),
            pats=tuple(pat_specs),
            connected_apps=tuple(apps),
            sites=tuple(sites),
            seed_items=_int("--seed-items", seed_items, 0, MAX_SEED_ITEMS),
            random_seed=_int("--seed", seed, -(2**63), 2**63 - 1),
            latency_ms=_float("--latency", latency, minimum=0.0),
            time_scale=_float("--time-scale", time_scale, minimum=0.0, exclusive=True),
            site_mismatch_status=_int("--site-mismatch-status", site_mismatch_status, 100, 599),
            signin_redirect_host=signin_redirect_host or None,
            job_duration=_duration("--job-duration", job_duration, "s"),
            upload_outlives_session=upload_outlives_session,
            max_stored_bytes=_int("--max-stored-mb", max_stored_mb, 0, 1024 * 1024) * 1024 * 1024,
            export_concurrency=(
                None
                if export_concurrency is None
                else _int("--export-concurrency", export_concurrency, 1, 10_000)
            ),
            export_latency_ms=_float("--export-latency", export_latency, minimum=0.0),
        )
    except ValueError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _curl_example(url: str, config: EmulatorConfig, site_url: str) -> str:
    body = {
        "credentials": {
            "name": config.admin.name,
            "password": config.admin.password,
            "site": {"contentUrl": site_url},
        }
    }
    return (
        f"curl -s -X POST {url}/api/{config.api_version}/auth/signin "
        "-H 'Content-Type: application/json' -H 'Accept: application/json' "
        f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}"
    )


def print_banner(url: str, state: EmulatorState, exit_after: float | None) -> None:
    """What is running and how to sign in to it (test credentials, printed on purpose)."""
    from rich.console import Console
    from rich.markup import escape

    config = state.config
    out = Console(soft_wrap=True, highlight=False)
    product, build = config.product
    label = "Tableau Server" if config.mode == "server" else "Tableau Cloud"

    def row(name: str, text: str) -> None:
        out.print(f"  [bold]{name:<15}[/bold]{text}")

    out.print(f"[bold green]{label} emulator running at[/bold green] [bold]{url}[/bold]")
    row("mode", f"{config.mode} ({label} {product}, build {build}, REST API {config.api_version})")
    limit = "" if config.lifetime_limit is None else f", at most {_human(config.lifetime_limit)}"
    if config.kind == "idle":
        row("sessions", f"end after {_human(config.lifetime)} idle{limit}")
    else:
        row("sessions", f"end {_human(config.lifetime)} after sign-in{limit}")
    if config.time_scale != 1.0:
        row("clock", f"runs {config.time_scale:g}x faster than real time")
    if config.latency_ms:
        row("latency", f"{config.latency_ms:g} ms per request")
    sites = state.sites()
    for i, site in enumerate(sites):
        shown = escape(f'"{site.content_url}"')
        row("sites" if i == 0 else "", f"{escape(site.name)}  contentUrl={shown}  id={site.id}")
    for i, account in enumerate(state.auth.accounts()):
        text = f"{escape(account.name)} / {escape(account.password)}  ({account.site_role})"
        row("users" if i == 0 else "", text)
    for i, pat in enumerate(config.pats):
        owner = pat.owner or config.admin.name
        text = (
            f"name={escape(pat.name)}  secret={escape(pat.secret)}  (signs in as {escape(owner)})"
        )
        row("PATs" if i == 0 else "", text)
    for i, app in enumerate(config.connected_apps):
        text = (
            f"client_id={escape(app.client_id)}  secret_id={escape(app.secret_id)}  "
            f"secret_value={escape(app.secret_value)}"
        )
        row("connected apps" if i == 0 else "", text)
    first_site = sites[0].content_url if sites else ""
    row("try", escape(_curl_example(url, config, first_site)))
    row("control plane", f"{url}/_emulator/stats  (also health, config, sessions, faults, ...)")
    if exit_after is None:
        row("stop", "Ctrl-C")
    else:
        row("stop", f"Ctrl-C, or by itself after {_human(exit_after)}")
    sys.stdout.flush()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def command(
    host: Annotated[
        str,
        typer.Option(
            metavar="HOST", help="Address to listen on. 0.0.0.0 exposes the emulator to others."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        str, typer.Option(metavar="PORT", help="TCP port; 0 picks a free one (it is printed).")
    ] = "8000",
    mode: Annotated[
        str,
        typer.Option(
            metavar="server|cloud",
            help="server: Tableau Server 2024.2 (REST 3.23, Default site, sessions end after "
            "240 idle minutes). cloud: Tableau Cloud (REST 3.28, no Default site, sessions "
            "end 120 minutes after sign-in).",
        ),
    ] = "server",
    session_lifetime: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Session lifetime, e.g. 240m, 90s, 2h (a bare number is minutes). "
            "Default: 240m on server, 120m on cloud.",
        ),
    ] = None,
    lifetime_kind: Annotated[
        str | None,
        typer.Option(
            metavar="idle|absolute",
            help="idle: each call restarts the timer; absolute: counted from sign-in. "
            "Default: idle on server, absolute on cloud.",
        ),
    ] = None,
    lifetime_limit: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="An absolute cap on top of an idle lifetime (Tableau Server's "
            "wgserver.session.lifetime_limit). Default: none.",
        ),
    ] = None,
    admin: Annotated[
        str,
        typer.Option(metavar="NAME:PASSWORD", help="The server administrator's credentials."),
    ] = "admin:admin",
    user: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME:PASSWORD",
            help="Another account (site role Creator, member of every site). Repeatable.",
        ),
    ] = None,
    pat: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME:SECRET[@OWNER]",
            help="A personal access token (it signs in as OWNER, default the admin). Repeatable.",
        ),
    ] = None,
    connected_app: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CLIENT_ID:SECRET_ID:SECRET_VALUE",
            help="A direct-trust connected app for JWT sign-in (HS256). Repeatable.",
        ),
    ] = None,
    site: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CONTENTURL",
            help="A site by its contentUrl. Repeatable. Server mode always has the Default site; "
            "cloud mode gets one site, 'emulated', when none is given.",
        ),
    ] = None,
    seed_items: Annotated[
        str,
        typer.Option(
            metavar="N",
            help="Workbooks per site; projects, views, data sources, users, groups and jobs "
            "follow in proportion. Deterministic.",
        ),
    ] = "10",
    seed: Annotated[
        str, typer.Option(metavar="N", help="Random seed for probabilistic faults.")
    ] = "0",
    latency: Annotated[
        str, typer.Option(metavar="MS", help="Extra latency added to every API request.")
    ] = "0",
    time_scale: Annotated[
        str,
        typer.Option(
            metavar="X", help="Emulated time runs X times faster (sessions expire X times sooner)."
        ),
    ] = "1",
    max_api_version: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION",
            help="Highest REST API version served, e.g. 3.19. Default: 3.23 server, 3.28 cloud.",
        ),
    ] = None,
    site_mismatch_status: Annotated[
        str,
        typer.Option(
            metavar="N",
            help="HTTP status for a token used on another site's URL (Tableau does not document "
            "it; the emulator's code is 403999 for 403).",
        ),
    ] = "403",
    signin_redirect_host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST",
            help="Answer sign-ins that arrive under another host name with 301 to this host "
            "(like Tableau Cloud's pod redirect). Default: no redirect.",
        ),
    ] = None,
    job_duration: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="Emulated time a refresh or asJob publish takes (Pending, InProgress, then "
            "Success), e.g. 30s, 5m. Moves with --time-scale and advance-clock.",
        ),
    ] = "30s",
    upload_outlives_session: Annotated[
        bool,
        typer.Option(
            "--upload-outlives-session/--upload-dies-with-session",
            help="Whether a chunked upload stays usable after the auth session that opened it "
            "ends (undocumented by Tableau).",
        ),
    ] = True,
    max_stored_mb: Annotated[
        str,
        typer.Option(
            metavar="MB", help="Memory for published files and unfinished uploads (then 413)."
        ),
    ] = "256",
    export_concurrency: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="View exports (image, pdf, data, crosstab) served at once; more get an HTML "
            "429. Default: 20 in cloud mode, no limit in server mode.",
        ),
    ] = None,
    export_latency: Annotated[
        str,
        typer.Option(metavar="MS", help="Real time each view export takes (holds its slot)."),
    ] = "0",
    exit_after: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Stop by itself after this long, e.g. 30s, 5m (a bare number is seconds). "
            "Default: run until Ctrl-C.",
        ),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option(metavar="LEVEL", help=f"Server log level: {', '.join(LOG_LEVELS)}."),
    ] = "warning",
) -> None:
    """Run a local Tableau Server / Tableau Cloud emulator for tests and demos.

    Prints its URL and test credentials, then serves the Tableau REST API until Ctrl-C.

    Steer it through /_emulator/ (stats, expire-sessions, advance-clock, faults, reset).
    """
    config = build_config(
        mode=mode,
        session_lifetime=session_lifetime,
        lifetime_kind=lifetime_kind,
        lifetime_limit=lifetime_limit,
        admin=admin,
        users=user or [],
        pats=pat or [],
        connected_apps=connected_app or [],
        sites=site or [],
        seed_items=seed_items,
        seed=seed,
        latency=latency,
        time_scale=time_scale,
        max_api_version=max_api_version,
        site_mismatch_status=site_mismatch_status,
        signin_redirect_host=signin_redirect_host,
        job_duration=job_duration,
        upload_outlives_session=upload_outlives_session,
        max_stored_mb=max_stored_mb,
        export_concurrency=export_concurrency,
        export_latency=export_latency,
    )
    chosen_port = _int("--port", port, 0, 65535)
    level = _choice("--log-level", log_level, LOG_LEVELS)
    stop_after = None if exit_after is None else _duration("--exit-after", exit_after, "s")
    try:
        from tabsession.emulator.server import serve
    except ImportError:
        typer.echo(
            "Error: the emulator needs its extra: pip install 'tabsession[emulator]'", err=True
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        serve(
            config,
            host=host,
            port=chosen_port,
            log_level=level,
            exit_after=stop_after,
            on_ready=lambda url, state: print_banner(url, state, stop_after),
        )
    except _Stop as stop:
        raise typer.Exit(EXIT_INTERRUPTED if stop.signum == signal.SIGINT else 0) from None
    except OSError as exc:
        typer.echo(f"Error: cannot listen on {host}:{chosen_port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
