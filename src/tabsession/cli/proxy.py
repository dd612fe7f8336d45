"""`tabsession proxy`: a local Tableau endpoint that never expires, for every tool and language.

    export TABLEAU_PAT_NAME=automation TABLEAU_PAT_SECRET=...
    tabsession proxy --server https://tableau.example.com --site marketing
    tabcmd login -s http://127.0.0.1:8900 -t marketing \
        --token-name automation --token-value "$TABLEAU_PAT_SECRET"

Credentials come as for the client (TABLEAU_PAT_NAME/TABLEAU_PAT_SECRET or TABLEAU_USERNAME/
TABLEAU_PASSWORD; TABLEAU_SERVER and TABLEAU_SITE as defaults for --server and --site), or from a
profile (`--profile NAME`, when `tabsession login` profiles are available). Bad input ends in one
line on stderr and exit code 2; SIGINT and SIGTERM stop the proxy cleanly (exit 0).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from tabsession.auth.credentials import Credential, PersonalAccessToken
from tabsession.cli import types
from tabsession.cli.config import ConfigError, Flags, resolve
from tabsession.errors import ConfigurationError
from tabsession.stores.base import TokenStore

__all__ = ["banner", "command"]

EXIT_BAD_INPUT = 2
EXAMPLE_VERSION = "3.19"
"""The REST API version the printed examples use (Tableau 2023.1; any version the server
supports works through the proxy)."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def make_store(spec: str) -> TokenStore | None:
    """`file` (the default FileStore: shared with `tabsession` commands and other proxies on
    this host), `file:DIR`, `memory` (the proxy's own session, signed out when it stops) or a
    `redis://` URL (shared across hosts)."""
    from tabsession.stores import FileStore

    if spec == "file":
        return FileStore()
    if spec.startswith("file:"):
        return FileStore(spec[5:])
    if spec == "memory":
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            from tabsession.stores.redis import RedisStore
        except ImportError:
            raise ConfigurationError(
                "a redis:// store needs: pip install 'tabsession[redis]'"
            ) from None
        return RedisStore(spec)
    raise ConfigurationError(f"unknown store {spec!r}: use file, file:DIR, memory or redis://...")


def _upstream(
    profile: str | None, server: str | None, site: str | None
) -> tuple[str, str, Credential]:
    """(server, site, credential): flags, then the environment, then the profile."""
    try:
        connection = resolve(Flags(profile=profile, server=server, site=site))
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    return connection.server, connection.site, connection.credential


def banner(
    url: str, site: str, server: str, credential: Credential, access_names: list[str]
) -> str:
    """What the proxy prints on start: where it is, and how to point tabcmd, TSC and curl at
    it. Never a secret: secrets are shown as the variable that holds them."""
    if access_names:
        name, variable, who = access_names[0], "ACCESS_KEY_SECRET", "an access key"
        pat_like = True
    elif isinstance(credential, PersonalAccessToken):
        name, variable, who, pat_like = (
            credential.name,
            "TABLEAU_PAT_SECRET",
            "the proxy's PAT",
            True,
        )
    else:
        name = getattr(credential, "username", "USER")
        variable, who, pat_like = "TABLEAU_PASSWORD", "the proxy's user and password", False
    shell = f'"${variable}"'  # the secret as the shell variable that holds it
    python = f'os.environ["{variable}"]'
    in_json = f'"\'"${variable}"\'"'  # closes the single-quoted JSON around the variable
    site_flag = f" -t {site}" if site else ""
    if pat_like:
        tabcmd = f"tabcmd login -s {url} --token-name {name} --token-value {shell}{site_flag}"
        tsc = f'TSC.PersonalAccessTokenAuth("{name}", {python}, site_id="{site}")'
        body = (
            f'{{"credentials": {{"personalAccessTokenName": "{name}", '
            f'"personalAccessTokenSecret": {in_json}, "site": {{"contentUrl": "{site}"}}}}}}'
        )
    else:
        tabcmd = f"tabcmd login -s {url} -u {name} -p {shell}{site_flag}"
        tsc = f'TSC.TableauAuth("{name}", {python}, site_id="{site}")'
        body = (
            f'{{"credentials": {{"name": "{name}", "password": {in_json}, '
            f'"site": {{"contentUrl": "{site}"}}}}}}'
        )
    api = f"{url}/api/{EXAMPLE_VERSION}"
    return "\n".join(
        [
            f"tabsession proxy: {url} -> {server} (site '{site}')",
            f"Sign in to the proxy as to Tableau, with {who}. Tokens it hands out are local; the",
            "Tableau session stays here and is renewed (once, for everyone) when it ends.",
            "",
            f"  tabcmd  {tabcmd}",
            f'  TSC     server = TSC.Server("{url}", use_server_version=True)',
            f"          server.auth.sign_in({tsc})",
            f"  curl    curl -s -X POST {api}/auth/signin -H 'Accept: application/json' \\",
            f"               -H 'Content-Type: application/json' -d '{body}'",
            f'          curl -H "X-Tableau-Auth: $TOKEN" {api}/sites/$SITE_ID/workbooks',
            f"  stats   {url}/_tabsession/stats   health: {url}/_tabsession/health",
            "",
            "Stop with Ctrl-C (or SIGTERM).",
        ]
    )


def _log_to_stderr(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    root = logging.getLogger("tabsession")
    root.addHandler(handler)
    root.setLevel(logging.INFO if level in ("info", "debug", "trace") else logging.WARNING)


def _readable_file(help_text: str) -> Any:
    """An option naming a file that must exist and be readable (checked before anything
    starts)."""
    return typer.Option(metavar="FILE", exists=True, dir_okay=False, readable=True, help=help_text)


def command(
    host: Annotated[
        str,
        typer.Option(
            metavar="HOST",
            parser=types.host,
            help="Address to listen on. Anything but loopback needs --access-key and TLS.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", parser=types.port, help="TCP port; 0 picks a free one.")
    ] = 8900,
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            parser=types.server_url,
            help="Tableau's URL (default: $TABLEAU_SERVER).",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(metavar="CONTENTURL", help="Site contentUrl, '' = Default ($TABLEAU_SITE)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(metavar="NAME", help="A `tabsession login` profile.")
    ] = None,
    store: Annotated[
        str,
        typer.Option(
            metavar="file|file:DIR|memory|redis://...",
            envvar="TABSESSION_STORE",
            help="Where the Tableau session is shared. file (default): with tabsession commands "
            "and proxies on this host; redis://: across hosts; memory: this proxy only.",
        ),
    ] = "file",
    access_key: Annotated[
        list[types.NameSecret] | None,
        typer.Option(
            metavar="NAME:SECRET",
            parser=types.name_secret,
            help="A key clients sign in with instead of the proxy's credential (repeatable; "
            "also $TABSESSION_PROXY_ACCESS_KEYS, comma-separated).",
        ),
    ] = None,
    tls_cert: Annotated[Path | None, _readable_file("Serve HTTPS with this certificate.")] = None,
    tls_key: Annotated[Path | None, _readable_file("The certificate's private key.")] = None,
    replay_limit: Annotated[
        int,
        typer.Option(
            metavar="BYTES",
            min=0,
            help="Bodies up to this size are kept to be replayed after a re-sign-in; larger "
            "ones stream (16 MiB).",
        ),
    ] = 16 * 1024 * 1024,
    api_version: Annotated[
        str | None,
        typer.Option(metavar="VERSION", parser=types.api_version, help="Skip version negotiation."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify Tableau's TLS certificate.")
    ] = False,
    log_level: Annotated[
        str,
        typer.Option(
            metavar="LEVEL",
            parser=types.one_of("warning", "info", "debug", "trace"),
            help="warning, info (access log) or debug.",
        ),
    ] = "info",
) -> None:
    """Run a local Tableau endpoint: tools sign in to it as to Tableau, it holds the session.

    [bold]Examples[/]

      $ tabsession proxy --server https://tableau.example.com --site marketing
      $ tabsession proxy --store redis://cache:6379/0 --access-key ci:$KEY \\
          --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
    """
    try:
        from tabsession.proxy import AccessKey, ProxyConfig, serve
    except ImportError as exc:
        _fail(f"the proxy needs its extra: pip install 'tabsession[proxy]' ({exc.name} missing)")
    try:
        upstream, content_url, credential = _upstream(profile, server, site)
        keys = tuple(AccessKey(key.name, key.secret) for key in access_key or ())
        keys += ProxyConfig.access_keys_from_env(os.environ)
        config = ProxyConfig(
            upstream,
            credential,
            site=content_url,
            store=make_store(store),
            host=host,
            port=port,
            access_keys=keys,
            tls_certfile=None if tls_cert is None else str(tls_cert),
            tls_keyfile=None if tls_key is None else str(tls_key),
            replay_limit=replay_limit,
            api_version=api_version,
            verify=not insecure,
        )
    except ConfigurationError as exc:
        _fail(str(exc))
    _log_to_stderr(log_level)

    def ready(url: str) -> None:
        names = [key.name for key in config.access_keys]
        typer.echo(banner(url, config.site, config.server, config.credential, names))
        sys.stdout.flush()

    options: dict[str, Any] = {"log_level": "warning" if log_level == "info" else log_level}
    serve(config, on_ready=ready, **options)
