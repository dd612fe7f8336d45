"""`tabsession emulator`: run a local Tableau Server / Tableau Cloud emulator in the foreground.

Each option is parsed by its own type (`emulator_options`), so bad input ends in one line on
stderr and exit code 2, never a traceback. The server itself is `tabsession.emulator.server.serve`.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

import typer

from tabsession.cli.emulator_options import (
    DEFAULT_ADMIN,
    AdminOption,
    ConnectedAppOption,
    ExitAfterOption,
    ExpiredCodeOption,
    ExportConcurrencyOption,
    ExportLatencyOption,
    HostOption,
    JobDurationOption,
    LatencyOption,
    LifetimeKindOption,
    LifetimeLimitOption,
    LogLevelOption,
    MaxApiVersionOption,
    MaxStoredMbOption,
    MetadataNodeLimitOption,
    Mode,
    ModeOption,
    PatOption,
    PortOption,
    SeedItemsOption,
    SeedOption,
    SessionLifetimeOption,
    SigninRedirectHostOption,
    SiteMismatchStatusOption,
    SiteOption,
    TimeScaleOption,
    UploadOutlivesSessionOption,
    UserOption,
)
from tabsession.emulator.config import Account, ConnectedApp, EmulatorConfig, PatSpec

if TYPE_CHECKING:
    from tabsession.emulator.state.world import EmulatorState

__all__ = ["command"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Stop(Exception):
    """Raised by our signal handlers so that Ctrl-C / SIGTERM end the command without a trace."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def build_config(
    *,
    mode: Mode,
    session_lifetime: float | None,
    lifetime_kind: str | None,
    lifetime_limit: float | None,
    admin: Account,
    users: list[Account],
    pats: list[PatSpec],
    connected_apps: list[ConnectedApp],
    sites: list[str],
    seed_items: int,
    seed: int,
    latency: float,
    time_scale: float,
    max_api_version: str | None,
    site_mismatch_status: int,
    signin_redirect_host: str | None,
    job_duration: float = 30.0,
    upload_outlives_session: bool = True,
    max_stored_mb: int = 256,
    export_concurrency: int | None = None,
    export_latency: float = 0.0,
    expired_code: str = "401002",
    metadata_node_limit: int = 20000,
) -> EmulatorConfig:
    """The parsed options → an `EmulatorConfig`; what only the whole can check (a PAT's owner,
    unique user names, a version the mode serves) ends in one line and exit 2."""
    try:
        return EmulatorConfig(
            mode=mode,
            session_lifetime=session_lifetime,
            lifetime_kind=lifetime_kind,  # type: ignore[arg-type]
            lifetime_limit=lifetime_limit,
            max_api_version=max_api_version,
            admin=admin,
            users=tuple(users),
            pats=tuple(pats),
            connected_apps=tuple(connected_apps),
            sites=tuple(sites),
            seed_items=seed_items,
            random_seed=seed,
            latency_ms=latency,
            time_scale=time_scale,
            site_mismatch_status=site_mismatch_status,
            signin_redirect_host=signin_redirect_host or None,
            job_duration=job_duration,
            upload_outlives_session=upload_outlives_session,
            max_stored_bytes=max_stored_mb * 1024 * 1024,
            export_concurrency=export_concurrency,
            export_latency_ms=export_latency,
            expired_code=expired_code,
            metadata_node_limit=metadata_node_limit,
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
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    mode: ModeOption = "server",
    session_lifetime: SessionLifetimeOption = None,
    lifetime_kind: LifetimeKindOption = None,
    lifetime_limit: LifetimeLimitOption = None,
    admin: AdminOption = DEFAULT_ADMIN,
    user: UserOption = None,
    pat: PatOption = None,
    connected_app: ConnectedAppOption = None,
    site: SiteOption = None,
    seed_items: SeedItemsOption = 10,
    seed: SeedOption = 0,
    latency: LatencyOption = 0,
    time_scale: TimeScaleOption = 1,
    max_api_version: MaxApiVersionOption = None,
    site_mismatch_status: SiteMismatchStatusOption = 403,
    signin_redirect_host: SigninRedirectHostOption = None,
    job_duration: JobDurationOption = 30.0,
    upload_outlives_session: UploadOutlivesSessionOption = True,
    max_stored_mb: MaxStoredMbOption = 256,
    export_concurrency: ExportConcurrencyOption = None,
    export_latency: ExportLatencyOption = 0,
    expired_code: ExpiredCodeOption = "401002",
    metadata_node_limit: MetadataNodeLimitOption = 20000,
    exit_after: ExitAfterOption = None,
    log_level: LogLevelOption = "warning",
) -> None:
    """Run a local Tableau Server / Tableau Cloud emulator for tests and demos.

    [bold]Examples[/]

      $ tabsession emulator --pat ci:s3cret                 # Tableau Server on :8000
      $ tabsession emulator --mode cloud --site acme --session-lifetime 90s
      $ tabsession emulator --port 0 --exit-after 5m --seed-items 500

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
        expired_code=expired_code,
        metadata_node_limit=metadata_node_limit,
    )
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
            port=port,
            log_level=log_level,
            exit_after=exit_after,
            on_ready=lambda url, state: print_banner(url, state, exit_after),
        )
    except _Stop as stop:
        raise typer.Exit(EXIT_INTERRUPTED if stop.signum == signal.SIGINT else 0) from None
    except OSError as exc:
        typer.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
