"""The root of the command line: one Typer app, one module per command.

A command is one `add(...)` line: `add("proxy", "tabsession.cli.proxy:command", extra="proxy")`.
A command whose extra is not installed still shows in `--help`; running it prints a one-line
hint (`pip install 'tabsession[emulator]'`) and exits 2, never a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

from tabsession._version import __version__

__all__ = ["add", "app"]

app = typer.Typer(
    name="tabsession",
    help=(
        "Reliable Tableau REST API sessions from the shell: one shared session for every "
        "command, `api` calls in the spirit of `gh api`, live tokens for curl, a doctor, an "
        "error explainer and a local Tableau emulator.\n\n"
        "[bold]Examples[/]\n\n"
        "  $ tabsession login\n\n"
        "  $ tabsession api workbooks --paginate --format jsonl\n\n"
        '  $ curl -H "X-Tableau-Auth: $(tabsession token)" ...\n\n'
        "  $ tabsession doctor\n\n"
        "  $ tabsession explain response.xml\n\n"
        "  $ tabsession emulator --pat ci:s3cret"
    ),
    epilog=(
        "Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 bad request, 4 authentication, "
        "5 forbidden, 6 not found, 7 throttled, 8 server error, 9 unreachable."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tabsession {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Reliable Tableau REST API sessions."""


def _missing_extra(name: str, extra: str, missing: str) -> Any:
    def command(ctx: typer.Context) -> None:
        typer.echo(
            f"Error: `tabsession {name}` needs {missing}: pip install 'tabsession[{extra}]'",
            err=True,
        )
        raise typer.Exit(2)

    command.__doc__ = f"(needs pip install 'tabsession[{extra}]')"
    return command


def add(name: str, target: str, *, extra: str | None = None) -> None:
    """Register `module:function` as `tabsession NAME`. When importing it fails for a missing
    optional dependency and `extra` is given, register a one-line hint instead."""
    module_name, function = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if extra is None or exc.name is None or exc.name.startswith("tabsession"):
            raise
        app.command(
            name,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
            add_help_option=False,
        )(_missing_extra(name, extra, exc.name.split(".")[0]))
        return
    app.command(name)(getattr(module, function))


add("login", "tabsession.cli.login:login")
add("logout", "tabsession.cli.login:logout")
add("profiles", "tabsession.cli.login:profiles")
add("api", "tabsession.cli.api:command")
add("token", "tabsession.cli.token:command")
add("publish", "tabsession.cli.transfer:publish")
add("download", "tabsession.cli.transfer:download")
add("wait", "tabsession.cli.wait:command")
add("doctor", "tabsession.cli.doctor:command")
add("explain", "tabsession.cli.explain:command")
add("emulator", "tabsession.cli.emulator:command", extra="emulator")
add("demo", "tabsession.cli.demo:command", extra="emulator")
add("proxy", "tabsession.cli.proxy:command", extra="proxy")
