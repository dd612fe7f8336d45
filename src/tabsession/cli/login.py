"""`tabsession login`, `logout` and `profiles`: named configurations and their secrets.

`login` checks the profile by signing in (the session then lands in the shared store, so the
next command does not sign in again), and saves it only when that worked. It asks for what is
missing only when stdin is a terminal; without one it never prompts, and says which flag is
missing instead. The secret comes from `--secret-stdin`, TABLEAU_PAT_SECRET/TABLEAU_PASSWORD, or
a hidden prompt; it is never echoed, never accepted as a flag (flags show in `ps`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tabsession.cli import secrets
from tabsession.cli.config import (
    AuthKind,
    ConfigError,
    Connection,
    Profile,
    ProfileFile,
    make_credential,
)
from tabsession.cli.connect import make_store, open_client
from tabsession.cli.exit_codes import reporting
from tabsession.cli.output import write_value
from tabsession.cli.types import server_url
from tabsession.stores.base import session_key

__all__ = ["login", "logout", "profiles"]

DEFAULT_PROFILE = "default"


def _interactive() -> bool:
    """Prompts are allowed only when stdin is a terminal (never in CI, cron or a pipe)."""
    return sys.stdin.isatty()


def _ask(label: str, flag: str, *, hide: bool = False, default: str | None = None) -> str:
    if not _interactive():
        raise ConfigError(f"{label} is needed: pass {flag} (no terminal to ask on)")
    value: str = typer.prompt(label, hide_input=hide, default=default, err=True)
    return value


def _read_secret_stdin() -> str:
    if _interactive():  # a person at a terminal: read it without echo
        hidden: str = typer.prompt("Secret", hide_input=True, err=True)
        return hidden
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise ConfigError("--secret-stdin: stdin held no secret (one line expected)")
    return line


def login(
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", metavar="NAME", help="Profile to create or update."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(metavar="URL", parser=server_url, help="https://tableau.example.com"),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(metavar="CONTENTURL", help="The site's contentUrl ('' = Default site)."),
    ] = None,
    pat_name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Sign in with this personal access token.")
    ] = None,
    username: Annotated[
        str | None, typer.Option(metavar="USER", help="Sign in with a user name and password.")
    ] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="Read the PAT secret or password from stdin's first line."
        ),
    ] = False,
    make_default: Annotated[
        bool | None,
        typer.Option(
            "--default/--no-default",
            help="Make it the default profile (default: yes when it is the first one).",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Sign in to check it before saving.")
    ] = True,
) -> None:
    """Create or update a profile, check it by signing in, and keep its secret safe.

    [bold]Examples[/]

      [dim]# interactive: asks for what is missing (the secret without echo)[/]
      $ tabsession login

      [dim]# non-interactive (CI): the secret on stdin, never as a flag[/]
      $ printf '%s\\n' "$PAT_SECRET" | tabsession login --profile prod \\
          --server https://tableau.example.com --site marketing \\
          --pat-name ci-token --secret-stdin

      [dim]# from the environment (TABLEAU_PAT_SECRET or TABLEAU_PASSWORD)[/]
      $ tabsession login -p dev --server http://localhost:8000 --username admin

    The secret goes to the OS keyring (pip install 'tabsession[keyring]'), else to a 0600
    file under $XDG_CONFIG_HOME/tabsession; TABSESSION_SECRETS=file|keyring chooses.
    """
    with reporting():
        file = ProfileFile.load()
        name = profile or os.environ.get("TABSESSION_PROFILE") or file.default or DEFAULT_PROFILE
        old = file.profiles.get(name, Profile(name))
        if pat_name and username:
            raise ConfigError("give --pat-name or --username, not both")
        chosen_server = server or old.server or _ask("Server URL", "--server")
        chosen_site = site if site is not None else old.site
        if site is None and not old.server and _interactive():
            chosen_site = _ask("Site contentUrl ('' for Default)", "--site", default="")
        kind: AuthKind
        if pat_name:
            kind, identity = "pat", pat_name
        elif username:
            kind, identity = "password", username
        elif old.auth and old.identity:
            kind, identity = old.auth, old.identity
        else:
            identity = _ask("PAT name (empty: sign in with a user name)", "--pat-name", default="")
            kind = "pat" if identity else "password"
            if not identity:
                identity = _ask("User name", "--username")
        env_secret = os.environ.get("TABLEAU_PAT_SECRET" if kind == "pat" else "TABLEAU_PASSWORD")
        if secret_stdin:
            secret = _read_secret_stdin()
        elif env_secret:
            secret = env_secret
        else:
            label = "PAT secret" if kind == "pat" else "Password"
            secret = _ask(label, "--secret-stdin", hide=True)
        backend = secrets.backend_for_new_secret()
        new = Profile(
            name=name,
            server=chosen_server.rstrip("/"),
            site=chosen_site,
            auth=kind,
            identity=identity,
            secret_store=backend,
            api_version=old.api_version,
            store=old.store,
        )
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        if check:
            connection = Connection(
                server=new.server,
                site=new.site,
                credential=make_credential(kind, identity, secret),
                profile=name,
                api_version=new.api_version or None,
                store=new.store or "file",
            )
            with open_client(connection) as tab:
                info = tab.sign_in()
            err.print(
                f"Signed in to {escape(new.server)} site {new.site or 'Default'!r} "
                f"(site id {info.site_id}, user id {info.user_id}, REST API {info.api_version})."
            )
        new = replace(new, secret_store=secrets.save(new, secret, backend))
        if old.auth and (old.auth, old.identity) != (new.auth, new.identity):
            secrets.delete(old)  # the previous identity's secret is no longer needed
        file.profiles[name] = new
        if make_default or (make_default is None and not file.default):
            file.default = name
        file.save()
        where = "the OS keyring" if new.secret_store == "keyring" else str(secrets.file_path())
        err.print(f"Profile {name!r} saved in {file.path}; its secret in {where}.")


def logout(
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", metavar="NAME", help="Profile to log out.")
    ] = None,
    forget: Annotated[
        bool, typer.Option("--forget", help="Also delete the profile itself.")
    ] = False,
) -> None:
    """Sign out the profile's shared session and delete its stored secret.

    [bold]Examples[/]

      $ tabsession logout                 [dim]# the default profile[/]
      $ tabsession logout -p prod --forget [dim]# and remove the profile[/]

    Every command sharing that session (through the file store) will need a new login.
    """
    with reporting():
        file = ProfileFile.load()
        chosen = file.chosen(profile, os.environ)
        if chosen is None:
            raise ConfigError("no profile to log out of (tabsession profiles lists them)")
        signed_out = _sign_out_stored(chosen)
        had_secret = secrets.delete(chosen)
        if forget:
            del file.profiles[chosen.name]
            if file.default == chosen.name:
                file.default = ""
        file.save()
        parts = ["signed out" if signed_out else "no live session"]
        parts.append("secret deleted" if had_secret else "no stored secret")
        if forget:
            parts.append("profile removed")
        typer.echo(f"{chosen.name}: {', '.join(parts)}.", err=True)


def _sign_out_stored(profile: Profile) -> bool:
    """End the session the shared store holds for `profile`, without ever signing in."""
    if profile.auth is None or not profile.server:
        return False
    try:
        store = make_store(profile.store or "file")
    except ConfigError:
        return False
    if store is None:
        return False
    secret = secrets.load(profile)
    if secret is None:
        return False
    credential = make_credential(profile.auth, profile.identity, secret)
    record = store.load(session_key(profile.server, profile.site, credential.identity))
    if record is None or not record.api_version:
        return False
    from tabsession._httpx import Client as HttpClient
    from tabsession._httpx import HTTPError

    base = (record.origin or record.server).rstrip("/")
    try:
        with HttpClient(timeout=10) as http:
            response = http.post(
                f"{base}/api/{record.api_version}/auth/signout",
                headers={"X-Tableau-Auth": record.token},
            )
    except HTTPError:
        return False
    return response.status_code < 400


def profiles(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """List the profiles (never their secrets).

    [bold]Examples[/]

      $ tabsession profiles
      $ tabsession profiles --json | jq -r '.[].name'
    """
    import json

    with reporting():
        file = ProfileFile.load()
        rows = [
            {
                "name": p.name,
                "default": p.name == file.default,
                "server": p.server,
                "site": p.site,
                "auth": p.auth or "",
                "identity": p.identity,
                "secret_store": p.secret_store,
            }
            for p in sorted(file.profiles.values(), key=lambda p: p.name)
        ]
        if json_output:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("No profiles yet: run tabsession login", err=True)
            return
        shown = [
            {
                "": "*" if row["default"] else "",
                "name": row["name"],
                "server": row["server"],
                "site": row["site"] or "(Default)",
                "auth": row["auth"],
                "identity": row["identity"],
                "secret in": row["secret_store"],
            }
            for row in rows
        ]
        write_value(shown, "table")
