"""The options of `tabsession emulator`, each parsed by its own type (one-line errors, exit 2).

An option's annotation holds its parser, range and help; `emulator.command` only uses the values.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import typer

from tabsession.cli.types import api_version, host, minutes, number, seconds
from tabsession.emulator.config import Account, ConnectedApp, PatSpec

__all__ = ["DEFAULT_ADMIN", "MAX_SEED_ITEMS", "LogLevel", "Mode"]

Mode = Literal["server", "cloud"]
LifetimeKind = Literal["idle", "absolute"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
MAX_SEED_ITEMS = 1_000_000
DEFAULT_ADMIN = Account("admin", "admin", "ServerAdministrator")
_CONTENT_URL = re.compile(r"^[A-Za-z0-9_-]*$")
_ERROR_CODE = re.compile(r"^\d{6}$")


def admin_account(text: str | Account) -> Account:
    """`NAME:PASSWORD` → the server administrator. The value is never echoed (a secret)."""
    return _account(text, "ServerAdministrator")


def user_account(text: str | Account) -> Account:
    """`NAME:PASSWORD` → a Creator on every site."""
    return _account(text, "Creator")


def _account(text: str | Account, site_role: str) -> Account:
    if isinstance(text, Account):  # the default
        return text
    try:
        return Account.parse(text, site_role=site_role)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def pat_spec(text: str) -> PatSpec:
    """`NAME:SECRET` or `NAME:SECRET@OWNER`."""
    try:
        return PatSpec.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def connected_app(text: str) -> ConnectedApp:
    """`CLIENT_ID:SECRET_ID:SECRET_VALUE`."""
    try:
        return ConnectedApp.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def content_url(text: str) -> str:
    """A site's contentUrl: letters, digits, _ and - ('' is the Default site)."""
    if not _CONTENT_URL.match(text):
        raise typer.BadParameter(f"{text!r}: a contentUrl holds only letters, digits, _ and -")
    return text


def error_code(text: str) -> str:
    """A Tableau error code: six digits (`401002`)."""
    if not _ERROR_CODE.match(text.strip()):
        raise typer.BadParameter(f"{text!r}: expected six digits, such as 401002 or 401000")
    return text.strip()


HostOption = Annotated[
    str,
    typer.Option(
        parser=host,
        metavar="HOST",
        help="Address to listen on. 0.0.0.0 exposes the emulator to others.",
    ),
]

PortOption = Annotated[
    int,
    typer.Option(
        min=0, max=65535, metavar="PORT", help="TCP port; 0 picks a free one (it is printed)."
    ),
]

ModeOption = Annotated[
    Mode,
    typer.Option(
        case_sensitive=False,
        metavar="server|cloud",
        help="server: Tableau Server 2024.2 (REST 3.23, Default site, sessions end after "
        "240 idle minutes). cloud: Tableau Cloud (REST 3.28, no Default site, sessions "
        "end 120 minutes after sign-in).",
    ),
]

SessionLifetimeOption = Annotated[
    float | None,
    typer.Option(
        parser=minutes,
        metavar="DURATION",
        help="Session lifetime, e.g. 240m, 90s, 2h (a bare number is minutes). "
        "Default: 240m on server, 120m on cloud.",
    ),
]

LifetimeKindOption = Annotated[
    LifetimeKind | None,
    typer.Option(
        case_sensitive=False,
        metavar="idle|absolute",
        help="idle: each call restarts the timer; absolute: counted from sign-in. "
        "Default: idle on server, absolute on cloud.",
    ),
]

LifetimeLimitOption = Annotated[
    float | None,
    typer.Option(
        parser=minutes,
        metavar="DURATION",
        help="An absolute cap on top of an idle lifetime (Tableau Server's "
        "wgserver.session.lifetime_limit). Default: none.",
    ),
]

AdminOption = Annotated[
    Account,
    typer.Option(
        parser=admin_account,
        show_default="admin:admin",
        metavar="NAME:PASSWORD",
        help="The server administrator's credentials.",
    ),
]

UserOption = Annotated[
    list[Account] | None,
    typer.Option(
        parser=user_account,
        metavar="NAME:PASSWORD",
        help="Another account (site role Creator, member of every site). Repeatable.",
    ),
]

PatOption = Annotated[
    list[PatSpec] | None,
    typer.Option(
        parser=pat_spec,
        metavar="NAME:SECRET[@OWNER]",
        help="A personal access token (it signs in as OWNER, default the admin). Repeatable.",
    ),
]

ConnectedAppOption = Annotated[
    list[ConnectedApp] | None,
    typer.Option(
        parser=connected_app,
        metavar="CLIENT_ID:SECRET_ID:SECRET_VALUE",
        help="A direct-trust connected app for JWT sign-in (HS256). Repeatable.",
    ),
]

SiteOption = Annotated[
    list[str] | None,
    typer.Option(
        parser=content_url,
        metavar="CONTENTURL",
        help="A site by its contentUrl. Repeatable. Server mode always has the Default site; "
        "cloud mode gets one site, 'emulated', when none is given.",
    ),
]

SeedItemsOption = Annotated[
    int,
    typer.Option(
        min=0,
        max=MAX_SEED_ITEMS,
        metavar="N",
        help="Workbooks per site; projects, views, data sources, users, groups and jobs "
        "follow in proportion. Deterministic.",
    ),
]

SeedOption = Annotated[
    int,
    typer.Option(
        min=-(2**63), max=2**63 - 1, metavar="N", help="Random seed for probabilistic faults."
    ),
]

LatencyOption = Annotated[
    float,
    typer.Option(
        parser=number(minimum=0), metavar="MS", help="Extra latency added to every API request."
    ),
]

TimeScaleOption = Annotated[
    float,
    typer.Option(
        parser=number(minimum=0, above=True),
        metavar="X",
        help="Emulated time runs X times faster (sessions expire X times sooner).",
    ),
]

MaxApiVersionOption = Annotated[
    str | None,
    typer.Option(
        parser=api_version,
        metavar="VERSION",
        help="Highest REST API version served, e.g. 3.19. Default: 3.23 server, 3.28 cloud.",
    ),
]

SiteMismatchStatusOption = Annotated[
    int,
    typer.Option(
        min=100,
        max=599,
        metavar="N",
        help="HTTP status for a token used on another site's URL (Tableau does not document "
        "it; the emulator's code is 403999 for 403).",
    ),
]

SigninRedirectHostOption = Annotated[
    str | None,
    typer.Option(
        parser=host,
        metavar="HOST",
        help="Answer sign-ins that arrive under another host name with 301 to this host "
        "(like Tableau Cloud's pod redirect). Default: no redirect.",
    ),
]

JobDurationOption = Annotated[
    float,
    typer.Option(
        parser=seconds,
        show_default="30s",
        metavar="DURATION",
        help="Emulated time a refresh or asJob publish takes (Pending, InProgress, then "
        "Success), e.g. 30s, 5m. Moves with --time-scale and advance-clock.",
    ),
]

UploadOutlivesSessionOption = Annotated[
    bool,
    typer.Option(
        "--upload-outlives-session/--upload-dies-with-session",
        help="Whether a chunked upload stays usable after the auth session that opened it "
        "ends (undocumented by Tableau).",
    ),
]

MaxStoredMbOption = Annotated[
    int,
    typer.Option(
        min=0,
        max=1024 * 1024,
        metavar="MB",
        help="Memory for published files and unfinished uploads (then 413).",
    ),
]

ExportConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=10_000,
        metavar="N",
        help="View exports (image, pdf, data, crosstab) served at once; more get an HTML "
        "429. Default: 20 in cloud mode, no limit in server mode.",
    ),
]

ExportLatencyOption = Annotated[
    float,
    typer.Option(
        parser=number(minimum=0, maximum=600_000),
        metavar="MS",
        help="Real time each view export takes (holds its slot).",
    ),
]

ExpiredCodeOption = Annotated[
    str,
    typer.Option(
        parser=error_code,
        metavar="CODE",
        help="Error code of the 401 for an unknown or expired session token (Tableau's REST "
        "reference: 401002; its knowledge base shows 401000).",
    ),
]

MetadataNodeLimitOption = Annotated[
    int,
    typer.Option(
        min=1,
        max=10**9,
        metavar="N",
        help="Most objects in one Metadata API answer; beyond it the answer is cut and "
        "carries a NODE_LIMIT_EXCEEDED warning.",
    ),
]

ExitAfterOption = Annotated[
    float | None,
    typer.Option(
        parser=seconds,
        metavar="DURATION",
        help="Stop by itself after this long, e.g. 30s, 5m (a bare number is seconds). "
        "Default: run until Ctrl-C.",
    ),
]

LogLevelOption = Annotated[
    LogLevel,
    typer.Option(
        case_sensitive=False,
        metavar="LEVEL",
        help="Server log level: critical, error, warning, info, debug, trace.",
    ),
]
