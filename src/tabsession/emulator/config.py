"""Everything an emulator can be told at start: mode, lifetimes, accounts, sites, content, faults.

Defaults follow the spec (§10): `server` mode is Tableau Server 2024.2 (REST 3.23, sessions end
after 240 idle minutes); `cloud` mode is Tableau Cloud (REST 3.28, sessions end 120 minutes after
sign-in, whatever the activity). Facts the spec marks UNCONFIRMED are knobs here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Account",
    "ConnectedApp",
    "EmulatorConfig",
    "PatSpec",
    "parse_duration",
    "parse_version",
]

Mode = Literal["server", "cloud"]
LifetimeKind = Literal["idle", "absolute"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, *, default_unit: str = "m") -> float:
    """`"240m"`, `"90s"`, `"2h"`, `"1.5d"`, `"500ms"` → seconds.

    A bare number is read in `default_unit`."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (examples: 240m, 90s, 2h, 500ms)")
    number, unit = match.groups()
    return float(number) * _UNIT_SECONDS[unit or default_unit]


def parse_version(text: str) -> tuple[int, int]:
    """`"3.23"` → (3, 23). Raises ValueError for anything else."""
    major, sep, minor = text.partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        raise ValueError(f"not an API version: {text!r}")
    return int(major), int(minor)


@dataclass(frozen=True)
class Account:
    """A user who can sign in with a password. `name` is also the user name on every site."""

    name: str
    password: str = field(repr=False)
    site_role: str = "Creator"

    @classmethod
    def parse(cls, text: str, *, site_role: str = "Creator") -> Account:
        """`"NAME:PASSWORD"` (as given on the command line)."""
        name, sep, password = text.partition(":")
        if not sep or not name or not password:
            raise ValueError("expected NAME:PASSWORD")
        return cls(name, password, site_role)


@dataclass(frozen=True)
class PatSpec:
    """A personal access token. `owner` is the account it signs in as (default: the admin)."""

    name: str
    secret: str = field(repr=False)
    owner: str | None = None
    revoked: bool = False
    expires_in_days: float | None = None
    """Days until the PAT's absolute expiry, counted from emulator start (None: a new PAT, so
    `pat_absolute_days`). Small values exercise clients' PAT-expiry warnings."""

    @classmethod
    def parse(cls, text: str) -> PatSpec:
        """`"NAME:SECRET"` or `"NAME:SECRET@OWNER"`."""
        name, sep, rest = text.partition(":")
        secret, _, owner = rest.partition("@")
        if not sep or not name or not secret:
            raise ValueError("expected NAME:SECRET or NAME:SECRET@OWNER")
        return cls(name, secret, owner or None)


@dataclass(frozen=True)
class ConnectedApp:
    """A direct-trust connected app: JWTs signed (HS256) with `secret_value`, `kid` = `secret_id`,
    `iss` = `client_id`."""

    client_id: str
    secret_id: str
    secret_value: str = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> ConnectedApp:
        """`"CLIENT_ID:SECRET_ID:SECRET_VALUE"`."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError("expected CLIENT_ID:SECRET_ID:SECRET_VALUE")
        return cls(*parts)


_MODE_DEFAULTS: dict[str, dict[str, object]] = {
    "server": {
        "lifetime": 240 * 60.0,
        "kind": "idle",
        "version": "3.23",
        "product": "2024.2.0",
        "build": "20242.24.0613.0835",
    },
    "cloud": {
        "lifetime": 120 * 60.0,
        "kind": "absolute",
        "version": "3.28",
        "product": "2026.1.0",
        "build": "20261.26.0211.1127",
    },
}


@dataclass(frozen=True)
class EmulatorConfig:
    """Configuration of one emulated Tableau Server or Tableau Cloud.

    Leave a field at None to get the mode's default. Durations are in seconds.
    """

    mode: Mode = "server"
    session_lifetime: float | None = None
    """How long a session lives: idle time (`lifetime_kind="idle"`) or time since sign-in."""
    lifetime_kind: LifetimeKind | None = None
    lifetime_limit: float | None = None
    """Server's optional absolute cap on top of the idle limit (`wgserver.session.lifetime_limit`
    with `apply_lifetime_limit=true`). None: no cap."""
    max_api_version: str | None = None
    product_version: str | None = None
    admin: Account = field(default_factory=lambda: Account("admin", "admin", "ServerAdministrator"))
    users: tuple[Account, ...] = ()
    pats: tuple[PatSpec, ...] = ()
    connected_apps: tuple[ConnectedApp, ...] = ()
    sites: tuple[str, ...] = ()
    """Site contentUrls. Server mode always has the Default site (""); Cloud mode has no Default
    site and gets one site named "emulated" when none is given."""
    seed_items: int = 10
    """Workbooks per site; projects, views, datasources, users, groups and jobs follow in
    proportion. Deterministic: the same number gives the same content."""
    pat_single_session: bool = True
    """A PAT sign-in ends every earlier session of that PAT (Tableau's rule)."""
    pat_idle_days: float = 15.0
    pat_absolute_days: float = 365.0
    jwt_max_exp: float = 600.0
    """A JWT may expire at most this many seconds after it is presented (Tableau: 10 minutes)."""
    jti_single_use: bool = True
    site_mismatch_status: int = 403
    site_mismatch_code: str | None = None
    """Tableau does not document what a valid token gets on another site's URL (UNCONFIRMED).
    Default: 403 with the emulator-only code 403999, so clients meet a non-401 path."""
    signin_redirect_host: str | None = None
    """When set, a sign-in that arrives under any other host name is answered with 301 to the
    same URL on this host (Tableau Cloud's pod redirect)."""
    latency_ms: float = 0.0
    time_scale: float = 1.0
    """Emulated time runs this many times faster than real time (sessions expire sooner)."""
    random_seed: int = 0
    """Seeds fault probabilities, so a fault schedule repeats exactly run after run."""
    job_duration: float = 30.0
    """Emulated seconds from a job's creation (refresh, publish with asJob) to its end: Pending
    for the first tenth, then InProgress. Moves with `time_scale` and `advance()`."""
    upload_outlives_session: bool = True
    """Whether a file-upload session (`POST fileUploads`) stays usable after the auth session
    that opened it ends (Tableau does not document it: UNCONFIRMED). False: appends and the
    publish must come from the same auth session, else 404."""
    max_stored_bytes: int = 256 * 1024 * 1024
    """Memory for published files and unfinished uploads together. A publish or append that
    would go beyond it is refused (413); deleting items frees their bytes."""
    export_concurrency: int | None = None
    """View exports (image, pdf, data, crosstab) served at once; more get an HTML 429. None:
    20 in cloud mode (Tableau Cloud's documented limit), no limit in server mode."""
    export_latency_ms: float = 0.0
    """Real time a view export takes (each holds its concurrency slot that long). 0: instant;
    raise it to make the concurrency limit observable."""

    def __post_init__(self) -> None:
        if self.mode not in _MODE_DEFAULTS:
            raise ValueError("mode must be 'server' or 'cloud'")
        if self.session_lifetime is not None and self.session_lifetime <= 0:
            raise ValueError("session_lifetime must be positive")
        if self.lifetime_kind not in (None, "idle", "absolute"):
            raise ValueError("lifetime_kind must be 'idle' or 'absolute'")
        if self.seed_items < 0:
            raise ValueError("seed_items cannot be negative")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
        if self.job_duration < 0:
            raise ValueError("job_duration cannot be negative")
        if self.max_stored_bytes < 0:
            raise ValueError("max_stored_bytes cannot be negative")
        if self.export_concurrency is not None and self.export_concurrency < 1:
            raise ValueError("export_concurrency must be at least 1")
        if not 0 <= self.export_latency_ms <= 600_000:
            raise ValueError("export_latency_ms must be between 0 and 600000")
        if not 100 <= self.site_mismatch_status <= 599:
            raise ValueError("site_mismatch_status must be an HTTP status")
        parse_version(self.api_version)
        for site in self.sites:
            if not re.fullmatch(r"[A-Za-z0-9_\-]*", site):
                raise ValueError(f"site contentUrl {site!r} may hold only letters, digits, _ and -")
        names = [self.admin.name, *(u.name for u in self.users)]
        if len(set(names)) != len(names):
            raise ValueError("user names must be unique (the admin is one of them)")
        for pat in self.pats:
            if pat.owner is not None and pat.owner not in names:
                raise ValueError(f"PAT {pat.name!r} belongs to unknown user {pat.owner!r}")

    def _default(self, key: str) -> object:
        return _MODE_DEFAULTS[self.mode][key]

    @property
    def lifetime(self) -> float:
        value = self.session_lifetime
        return float(value if value is not None else self._default("lifetime"))  # type: ignore[arg-type]

    @property
    def kind(self) -> LifetimeKind:
        return self.lifetime_kind or self._default("kind")  # type: ignore[return-value]

    @property
    def api_version(self) -> str:
        return self.max_api_version or str(self._default("version"))

    @property
    def product(self) -> tuple[str, str]:
        return (self.product_version or str(self._default("product")), str(self._default("build")))

    @property
    def site_urls(self) -> tuple[str, ...]:
        if self.mode == "server":
            return ("", *(s for s in self.sites if s != ""))
        named = tuple(s for s in self.sites if s)
        return named or ("emulated",)

    @property
    def mismatch_code(self) -> str:
        if self.site_mismatch_code:
            return self.site_mismatch_code
        return {403: "403999", 401: "401002"}.get(
            self.site_mismatch_status, f"{self.site_mismatch_status}999"
        )

    @property
    def export_limit(self) -> int | None:
        """Concurrent view exports allowed (None: no limit)."""
        if self.export_concurrency is not None:
            return self.export_concurrency
        return 20 if self.mode == "cloud" else None
