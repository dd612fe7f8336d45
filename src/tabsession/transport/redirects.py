"""Where a redirect may take a request (rule R8). Pure logic.

- An authenticated request follows a redirect only within its origin, or from http to https on
  the same host and the standard port (never the reverse): the token never leaves its server.
- A sign-in (whose body holds the credentials) follows a redirect only to the same host (any
  port) or to an allowed host: by default `online.tableau.com` and its subdomains, the Tableau
  Cloud pods (`10ay.online.tableau.com`, `prod-useast-b.online.tableau.com`, ...). Never from
  https to http. Anything else is refused before a byte is sent there.

The allow-list is configurable (`Client(redirect_hosts=...)`): an entry `example.com` allows
that host and every subdomain; `.example.com` only the subdomains.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from tabsession.errors import ConfigurationError

__all__ = [
    "DEFAULT_REDIRECT_HOSTS",
    "authenticated_redirect_allowed",
    "normalize_hosts",
    "signin_redirect_refusal",
]

DEFAULT_REDIRECT_HOSTS: tuple[str, ...] = ("online.tableau.com",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """Lower-cased host names; refuses URLs, ports, wildcards and empty names."""
    if isinstance(hosts, str):
        raise ConfigurationError("redirect_hosts is a list of host names, not one string")
    out: list[str] = []
    for host in hosts:
        if not isinstance(host, str):
            raise ConfigurationError("redirect_hosts must hold host names (strings)")
        name = host.strip().lower().rstrip(".")
        bare = name[1:] if name.startswith(".") else name
        if not bare or any(c in bare for c in "/:*@ "):
            raise ConfigurationError(
                f"not a host name for redirect_hosts: {host!r} (e.g. 'online.tableau.com')"
            )
        out.append(name)
    return tuple(out)


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port
    except ValueError:
        return None
    return port if port is not None else _DEFAULT_PORTS.get(parts.scheme)


def authenticated_redirect_allowed(current: str, target: str) -> bool:
    """Same origin, or the same host moving from http to https on the standard port. Another
    port of the same host name is another server: it never gets the token."""
    a, b = urlsplit(current), urlsplit(target)
    if a.hostname != b.hostname or _port(b) is None:
        return False
    if a.scheme == b.scheme:
        return _port(a) == _port(b)
    return a.scheme == "http" and b.scheme == "https" and _port(b) == _DEFAULT_PORTS["https"]


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("."):
            if host.endswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


def signin_redirect_refusal(current: str, target: str, allowed: Iterable[str]) -> str | None:
    """Why a sign-in must not follow a redirect from `current` to `target`, or None if it may."""
    a, b = urlsplit(current), urlsplit(target)
    if b.scheme not in ("http", "https") or not b.hostname or _port(b) is None:
        return f"a sign-in redirect to {target!r} is not an http(s) URL"
    if a.scheme == "https" and b.scheme != "https":
        return "a sign-in is never redirected from https to http (the body holds the credentials)"
    if b.hostname == a.hostname or host_allowed(b.hostname, allowed):
        return None
    return (
        f"a sign-in is only redirected to its own host ({a.hostname}) or to an allowed host "
        f"(redirect_hosts={tuple(allowed)!r}), not to {b.hostname}; the credentials were not "
        "sent there. Add the host to redirect_hosts= if it is really your Tableau server"
    )
