"""The root of the command line: one Typer app, one module per command (imported lazily by the
command itself, so `tabsession --help` stays fast)."""

from __future__ import annotations

import typer

from tabsession._version import __version__
from tabsession.cli import demo, emulator, proxy

__all__ = ["app"]

app = typer.Typer(
    name="tabsession",
    help=(
        "Reliable Tableau REST API sessions: a client that never surfaces an expired session, "
        "and a local Tableau emulator to test against."
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


app.command("emulator")(emulator.command)
app.command("demo")(demo.command)
app.command("proxy")(proxy.command)
