"""The options every connecting command shares, and the client they build.

By default sessions live in a FileStore (`$XDG_STATE_HOME/tabsession/sessions`), so consecutive
commands, and commands running in parallel, share one session: ten `tabsession api` calls cost
one sign-in, and they never end each other's PAT session. `--store memory` gives a command its
own session (signed out when it ends); `--store redis://host:6379/0` shares it across hosts.
"""

from __future__ import annotations

from typing import Annotated

import typer

import tabsession
from tabsession.cli.config import ConfigError, Connection, Flags, resolve
from tabsession.cli.types import server_url
from tabsession.stores.base import TokenStore

__all__ = [
    "ApiVersionOption",
    "ProfileOption",
    "ServerOption",
    "SiteOption",
    "StoreOption",
    "connect",
    "open_client",
]

_PANEL = "Connection"

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        metavar="NAME",
        help="Profile from profiles.toml (default: $TABSESSION_PROFILE, else the default one).",
        rich_help_panel=_PANEL,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        parser=server_url,
        help="Server URL (default: $TABLEAU_SERVER, else the profile's).",
        rich_help_panel=_PANEL,
    ),
]
SiteOption = Annotated[
    str | None,
    typer.Option(
        metavar="CONTENTURL",
        help="Site contentUrl, '' for Default (default: $TABLEAU_SITE, else the profile's).",
        rich_help_panel=_PANEL,
    ),
]
ApiVersionOption = Annotated[
    str | None,
    typer.Option(
        metavar="VERSION",
        help="REST API version, e.g. 3.23 (default: the server's, from serverinfo).",
        rich_help_panel=_PANEL,
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        metavar="file|memory|redis://...",
        help="Where the session is shared (default: file, so consecutive commands share it).",
        rich_help_panel=_PANEL,
    ),
]


def connect(
    profile: str | None,
    server: str | None,
    site: str | None,
    api_version: str | None = None,
    store: str | None = None,
) -> Connection:
    return resolve(
        Flags(profile=profile, server=server, site=site, api_version=api_version, store=store)
    )


def make_store(spec: str) -> TokenStore | None:
    """ "file" → the default FileStore, "memory" → None (the client's private store),
    "redis://..." → a RedisStore."""
    if spec == "file":
        return tabsession.FileStore()
    if spec == "memory":
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            from tabsession.stores.redis import RedisStore
        except ImportError:
            raise ConfigError("a redis:// store needs: pip install 'tabsession[redis]'") from None
        return RedisStore(spec)
    raise ConfigError(f"unknown store {spec!r}: use file, memory or a redis:// URL")


def open_client(connection: Connection, **options: object) -> tabsession.Client:
    """A client for `connection`, sharing its session through the chosen store."""
    return tabsession.Client(
        connection.server,
        connection.credential,
        site=connection.site,
        store=make_store(connection.store),
        api_version=connection.api_version,
        **options,  # type: ignore[arg-type]
    )
