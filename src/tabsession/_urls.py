"""Reading the server URL a person pastes. Pure logic.

What people paste, and what tabsession makes of it:
- `tableau.example.com` → `https://tableau.example.com` (https unless a scheme is given);
- `https://host/api`, `https://host/api/3.19/` → the server `https://host`; a version in the
  URL (`3.19`) becomes the API version unless `api_version=` is given;
- a browser address, `https://host/#/site/marketing/home` (or `https://host/t/marketing/views/…`)
  → the server `https://host` and the site `marketing`; a `site=` that names another site is a
  `ConfigurationError`, since the two cannot both be meant;
- a path prefix (`https://host/tableau`, a reverse proxy's) is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tabsession.errors import ConfigurationError

__all__ = ["ServerTarget", "parse_server_url", "resolve_target"]

_EXAMPLE = "e.g. https://tableau.example.com"
_API_SUFFIX = re.compile(r"^(?P<prefix>.*?)/api(?:/(?P<version>[^/]*))?(?:/.*)?$")
_VERSION = re.compile(r"^\d+\.\d+$")
_SITE_IN_FRAGMENT = re.compile(r"^/?site/(?P<site>[^/?]+)")
_SITE_IN_PATH = re.compile(r"^(?P<prefix>.*?)/t/(?P<site>[^/]+)(?:/.*)?$")
_BROWSER_PAGES = re.compile(r"^(?P<prefix>.*?)/(?:views|workbooks|datasources|projects)(?:/.*)?$")


@dataclass(frozen=True)
class ServerTarget:
    """What a server URL says: the base URL, and the site and API version it names, if any."""

    server: str
    site: str | None = None
    api_version: str | None = None


def parse_server_url(server: str) -> ServerTarget:
    """Split a pasted URL into server, site and version (see the module docstring)."""
    text = (server or "").strip() if isinstance(server, str) else ""
    if not text:
        raise ConfigurationError(f"the server URL is empty ({_EXAMPLE})")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"not a server URL: {server!r} ({_EXAMPLE})")
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError:
        raise ConfigurationError(f"not a valid port in {server!r} ({_EXAMPLE})") from None
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    site: str | None = None
    version: str | None = None
    found = _SITE_IN_FRAGMENT.match(parts.fragment)
    if found:
        site = unquote(found.group("site"))
    api = _API_SUFFIX.match(path)
    if api:
        path = api.group("prefix")
        candidate = api.group("version") or ""
        if _VERSION.match(candidate):
            version = candidate
        elif candidate:
            raise ConfigurationError(
                f"{server!r} names API version {candidate!r}; versions look like '3.23' "
                f"({_EXAMPLE})"
            )
    else:
        in_path = _SITE_IN_PATH.match(path)
        if in_path:
            path = in_path.group("prefix")
            site = unquote(in_path.group("site")) if site is None else site
        else:
            page = _BROWSER_PAGES.match(path)
            if page:
                path = page.group("prefix")
    return ServerTarget(f"{parts.scheme}://{parts.netloc}{path}", site, version)


def resolve_target(server: str, site: str, api_version: str | None) -> tuple[str, str, str | None]:
    """(server, site, api_version) from the URL and the explicit arguments: an explicit
    `api_version` wins over the URL's; a site in the URL fills an empty `site` and must agree
    with a non-empty one."""
    target = parse_server_url(server)
    if target.site is not None and isinstance(site, str):
        if site and site.lower() != target.site.lower():
            raise ConfigurationError(
                f"the server URL names site {target.site!r} but site={site!r} was given; "
                "pass one of them, or the same site in both"
            )
        site = site or target.site
    return target.server, site, api_version or target.api_version
