"""`tabsession doctor`: what works and what does not between here and a Tableau server.

Checks run in order; each is pass, fail or skip (skipped when an earlier one it needs failed)
and says what to do. The sign-in check uses the shared session when there is one: a new PAT
sign-in would end the session of every other job using that PAT.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import stat
import time
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import typer

from tabsession import errors
from tabsession.cli.config import ConfigError, Connection
from tabsession.cli.connect import (
    ApiVersionOption,
    ProfileOption,
    ServerOption,
    SiteOption,
    StoreOption,
    connect,
    open_client,
)
from tabsession.cli.exit_codes import ERROR, OK, failure
from tabsession.cli.types import seconds

__all__ = ["Check", "command", "site_mistake"]

Status = Literal["pass", "fail", "skip"]
_LUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_CONTENT_URL = re.compile(r"^[A-Za-z0-9_-]*$")
_TIMEOUT = 5.0
_MAX_SKEW = 60.0
_PAT_WARNING_DAYS = 14
_CERT_WARNING_DAYS = 14


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def site_mistake(site: str) -> str | None:
    """What is wrong with a site contentUrl, for the classic mistakes; None when it looks right."""
    if _LUID.match(site.strip()):
        return "this is the site's LUID (id); sign-in takes its contentUrl"
    if "://" in site or "#" in site or "/" in site:
        return (
            "this is a browser URL; the contentUrl is the part after /#/site/ "
            "(https://host/#/site/marketing/home → marketing)"
        )
    if not _CONTENT_URL.match(site):
        return (
            "a contentUrl holds only letters, digits, - and _: this looks like the site's "
            "display name"
        )
    return None


def _human(value: float) -> str:
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.1f} s"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


class _Doctor:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.checks: list[Check] = []
        self.url = urlsplit(connection.server)
        self.server_version = ""
        self.date_header = ""
        self.signed_in = False
        self.info: Any = None

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> bool:
        self.checks.append(Check(name, status, detail, fix))
        return status != "fail"

    def skip(self, *names: str) -> None:
        for name in names:
            self.add(name, "skip", "skipped: an earlier check failed")

    # -- the checks -----------------------------------------------------------------------------

    def check_url(self) -> bool:
        url = self.url
        if url.scheme not in ("http", "https") or not url.hostname:
            return self.add(
                "url",
                "fail",
                f"{self.connection.server!r} is not an http(s) URL",
                "Pass the server's base URL, e.g. https://tableau.example.com",
            )
        if url.fragment or url.path.strip("/"):
            return self.add(
                "url",
                "fail",
                "the URL has a path: it looks like a browser URL",
                f"Use the base URL only: {url.scheme}://{url.netloc}",
            )
        return self.add("url", "pass", f"{url.scheme}://{url.netloc}")

    def _port(self) -> int:
        return self.url.port or (443 if self.url.scheme == "https" else 80)

    def check_reachability(self) -> bool:
        host = self.url.hostname or ""
        try:
            with socket.create_connection((host, self._port()), timeout=_TIMEOUT):
                pass
        except OSError as exc:
            return self.add(
                "reachability",
                "fail",
                f"cannot connect to {host}:{self._port()}: {exc.strerror or exc}",
                "Check the host name and port, the VPN, proxies and firewalls.",
            )
        return self.add("reachability", "pass", f"{host}:{self._port()} accepts connections")

    def check_tls(self) -> bool:
        if self.url.scheme != "https":
            loopback = self.url.hostname in ("localhost", "127.0.0.1", "::1")
            return self.add(
                "tls",
                "skip",
                "plain HTTP" + (" on loopback" if loopback else ": tokens travel unencrypted"),
                "" if loopback else "Use https:// for a real server.",
            )
        host = self.url.hostname or ""
        context = ssl.create_default_context()
        try:
            with (
                socket.create_connection((host, self._port()), timeout=_TIMEOUT) as sock,
                context.wrap_socket(sock, server_hostname=host) as tls,
            ):
                cert = tls.getpeercert() or {}
        except ssl.SSLCertVerificationError as exc:
            return self.add(
                "tls",
                "fail",
                f"certificate not trusted: {exc.verify_message}",
                "Install the CA that signed it, or fix the server's certificate chain.",
            )
        except (OSError, ssl.SSLError) as exc:
            return self.add("tls", "fail", f"TLS handshake failed: {exc}", "Check the port.")
        not_after = cert.get("notAfter")
        if not isinstance(not_after, str):
            return self.add("tls", "pass", "certificate trusted")
        days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
        if days < _CERT_WARNING_DAYS:
            return self.add(
                "tls", "fail", f"certificate expires in {days:.0f} days", "Renew the certificate."
            )
        return self.add("tls", "pass", f"certificate trusted, expires in {days:.0f} days")

    def check_version(self) -> bool:
        from tabsession._httpx import Client as HttpClient
        from tabsession._httpx import HTTPError
        from tabsession._responses import parse_payload

        base = self.connection.server
        try:
            with HttpClient(timeout=_TIMEOUT * 2) as http:
                response = http.get(
                    f"{base}/api/2.4/serverinfo", headers={"Accept": "application/json"}
                )
        except HTTPError as exc:
            return self.add("version", "fail", f"GET serverinfo: {exc}", "Check the URL.")
        self.date_header = response.headers.get("date", "")
        try:
            data = parse_payload(response.content, response.headers.get("content-type", ""))
            info = data["serverInfo"]
            version = str(info["restApiVersion"])
        except (ValueError, KeyError, TypeError):
            return self.add(
                "version",
                "fail",
                f"GET serverinfo answered HTTP {response.status_code}, not Tableau's serverInfo",
                "Is this a Tableau server? Check the URL (no path, the right port).",
            )
        product = info.get("productVersion")
        product_text = product.get("value", "") if isinstance(product, dict) else str(product)
        self.server_version = version
        wanted = self.connection.api_version
        if wanted and _version_tuple(wanted) > _version_tuple(version):
            return self.add(
                "version",
                "fail",
                f"--api-version {wanted} is higher than the server's REST API {version}",
                f"Use --api-version {version} or lower, or leave it out to negotiate.",
            )
        used = wanted or version
        return self.add(
            "version", "pass", f"Tableau {product_text}, REST API {version} (using {used})"
        )

    def check_site(self) -> bool:
        site = self.connection.site
        mistake = site_mistake(site)
        if mistake is not None:
            return self.add("site", "fail", f"site {site!r}: {mistake}", "Pass the contentUrl.")
        return self.add(
            "site", "pass", f"contentUrl {site!r}" + (" (Default site)" if not site else "")
        )

    def check_sign_in(self, tab: Any) -> bool:
        before = tab.stats.sign_ins
        try:
            self.info = tab.sign_in()
        except errors.TableauError as exc:
            cause = getattr(exc, "likely_cause", "") or str(exc)
            return self.add(
                "sign-in",
                "fail",
                f"{type(exc).__name__} {getattr(exc, 'code', '') or ''}".strip() + f": {cause}",
                "Check the credentials and the site contentUrl (tabsession login to fix them).",
            )
        self.signed_in = True
        how = "signed in" if tab.stats.sign_ins > before else "reused the shared session"
        return self.add(
            "sign-in",
            "pass",
            f"{how} (site id {self.info.site_id}, user id {self.info.user_id})",
        )

    def check_session(self, tab: Any) -> bool:
        try:
            data = tab.get("/sessions/current")
        except errors.TableauError as exc:
            return self.add("session", "fail", f"GET sessions/current: {exc}", "")
        session = data.get("session", {}) if isinstance(data, dict) else {}
        site = session.get("site", {}) if isinstance(session, dict) else {}
        if site.get("id") and site.get("id") != self.info.site_id:
            return self.add(
                "session",
                "fail",
                f"the token belongs to site {site.get('id')}, not {self.info.site_id}",
                "Sign in to the intended site.",
            )
        return self.add("session", "pass", f"token is live on site {site.get('contentUrl', '')!r}")

    def check_pat(self) -> bool:
        left = self.info.pat_expires_in if self.info is not None else None
        if left is None:
            return self.add(
                "pat-expiry",
                "skip",
                "not a PAT sign-in in this process (a reused session does not say)",
            )
        days = left.total_seconds() / 86400
        if days < _PAT_WARNING_DAYS:
            return self.add(
                "pat-expiry",
                "fail",
                f"the personal access token expires in {days:.1f} days",
                "Create a new PAT in My Account Settings and run tabsession login again.",
            )
        return self.add("pat-expiry", "pass", f"the PAT expires in {days:.0f} days")

    def check_clock(self) -> bool:
        if not self.date_header:
            return self.add("clock", "skip", "the server sent no Date header")
        try:
            server_time = parsedate_to_datetime(self.date_header).timestamp()
        except (TypeError, ValueError):
            return self.add("clock", "skip", f"unreadable Date header {self.date_header!r}")
        skew = time.time() - server_time
        if abs(skew) > _MAX_SKEW:
            return self.add(
                "clock",
                "fail",
                f"this machine's clock is {skew:+.0f} s off the server's",
                "Sync the clock (NTP): JWT sign-ins and expiry estimates depend on it.",
            )
        return self.add("clock", "pass", f"within {abs(skew):.0f} s of the server's")

    def check_store(self) -> bool:
        spec = self.connection.store
        if spec == "memory":
            return self.add("store", "skip", "memory: each command has its own session")
        if spec == "file":
            from tabsession.stores.file import default_directory

            directory = default_directory()
            try:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                mode = stat.S_IMODE(directory.stat().st_mode)
            except OSError as exc:
                return self.add(
                    "store", "fail", f"{directory}: {exc.strerror}", "Set XDG_STATE_HOME."
                )
            if mode & 0o077:
                return self.add(
                    "store",
                    "fail",
                    f"{directory} is mode {mode:o}: others can read the sessions",
                    f"chmod 700 {directory}",
                )
            if not os.access(directory, os.W_OK):
                return self.add("store", "fail", f"{directory} is not writable", "Fix its owner.")
            return self.add("store", "pass", f"file store {directory} (private, writable)")
        from tabsession.cli.connect import make_store

        try:
            store = make_store(spec)
            assert store is not None
            store.now()
        except (ConfigError, errors.TableauError) as exc:
            return self.add("store", "fail", f"{spec}: {exc}", "Check the Redis URL and server.")
        return self.add("store", "pass", f"{spec} answers")

    def measure_lifetime(self, tab: Any, interval: float, limit: float) -> bool:
        """Use the session (raw calls, never renewed) every `interval` seconds until the server
        refuses it or `limit` passes. Regular use keeps an idle timer from running out, so
        this finds the absolute limit, or an idle limit shorter than `interval`."""
        from tabsession._httpx import Client as HttpClient
        from tabsession._httpx import HTTPError

        token, info = tab.token(), tab.session
        url = f"{info.server}/api/{info.api_version}/sessions/current"
        signed_in = info.signed_in_at.timestamp()
        started = last_ok = time.time()
        probes = 0
        with HttpClient(timeout=_TIMEOUT * 2) as http:
            while time.time() - started < limit:
                time.sleep(min(interval, max(0.0, limit - (time.time() - started))))
                probes += 1
                try:
                    status = http.get(url, headers={"X-Tableau-Auth": token}).status_code
                except HTTPError as exc:
                    return self.add("lifetime", "fail", f"probe {probes} failed: {exc}", "")
                now = time.time()
                if status == 401:
                    low, high = last_ok - signed_in, now - signed_in
                    return self.add(
                        "lifetime",
                        "pass",
                        f"the session ended between {_human(low)} and {_human(high)} after "
                        f"sign-in ({probes} probes, one every {_human(interval)}); the next "
                        "command signs in again",
                        "",
                    )
                if status >= 400:
                    return self.add("lifetime", "fail", f"probe {probes}: HTTP {status}", "")
                last_ok = now
        return self.add(
            "lifetime",
            "pass",
            f"the session was still alive {_human(time.time() - signed_in)} after sign-in "
            f"({probes} probes)",
        )

    def run(self, measure: tuple[float, float] | None = None) -> None:
        origins = self.connection.sources
        where = ", ".join(f"{name} from {origin}" for name, origin in origins.items())
        self.add("configuration", "pass", where or "defaults")
        if not self.check_url():
            self.skip("reachability", "tls", "version", "site", "sign-in", "session")
        elif not self.check_reachability():
            self.skip("tls", "version", "site", "sign-in", "session")
        else:
            self.check_tls()
            version_ok = self.check_version()
            site_ok = self.check_site()
            if not (version_ok and site_ok):
                self.skip("sign-in", "session")
            else:
                with open_client(self.connection) as tab:
                    if self.check_sign_in(tab):
                        if self.check_session(tab) and measure is not None:
                            self.measure_lifetime(tab, *measure)
                    else:
                        self.skip("session")
        self.check_pat()
        if self.date_header:
            self.check_clock()
        else:
            self.add("clock", "skip", "no answer from the server to compare with")
        self.check_store()


_MARKS: dict[str, str] = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]"}


def command(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
    measure_lifetime: Annotated[
        bool,
        typer.Option(
            "--measure-lifetime",
            help="Then use the session every --probe-interval until the server ends it, and "
            "say when that was (ends the shared session: the next command signs in again).",
        ),
    ] = False,
    probe_interval: Annotated[
        float,
        typer.Option(metavar="DURATION", parser=seconds, help="Between probes, e.g. 30s, 5m."),
    ] = 60.0,
    probe_limit: Annotated[
        float,
        typer.Option(metavar="DURATION", parser=seconds, help="Give up after, e.g. 6h."),
    ] = 6 * 3600.0,
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Check the way to a Tableau server, step by step, and say what to fix.

    [bold]Examples[/]

      $ tabsession doctor
      $ tabsession doctor --profile prod --json | jq '.[] | select(.status == "fail")'
      $ tabsession doctor --server https://tableau.example.com --site marketing
      $ tabsession doctor --measure-lifetime --probe-interval 5m

    Checks: url, reachability, tls (certificate, expiry), version (serverinfo, --api-version
    not above the server's), site (a LUID, a display name or a browser URL where the contentUrl
    belongs), sign-in, session (sessions/current), pat-expiry, clock (skew against the server's
    Date header), store (private and writable; Redis answers). Exit 0 when nothing fails, 1
    otherwise.
    """
    try:
        connection = connect(profile, server, site, api_version, store)
    except ConfigError as exc:
        code, _ = failure(exc)
        checks = [Check("configuration", "fail", str(exc), "tabsession login, or pass --server")]
        _report(checks, json_output)
        raise typer.Exit(code) from None
    doctor = _Doctor(connection)
    doctor.run((probe_interval, probe_limit) if measure_lifetime else None)
    _report(doctor.checks, json_output)
    failed = any(check.status == "fail" for check in doctor.checks)
    raise typer.Exit(ERROR if failed else OK)


def _report(checks: list[Check], json_output: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    from tabsession.cli.text import wrap

    if json_output:
        typer.echo(json.dumps([asdict(check) for check in checks], indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    for check in checks:
        lines = wrap(f"{check.status}  {check.name:<13} ", check.detail)
        if check.fix and check.status == "fail":
            lines += wrap(" " * 20 + "→ ", check.fix)
        first = lines[0]
        console.print(_MARKS[check.status] + escape(first[len(check.status) :]))
        for line in lines[1:]:
            console.print(escape(line))
