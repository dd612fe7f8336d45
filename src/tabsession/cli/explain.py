"""`tabsession explain`: what an error body means and what to do, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tabsession.cli.config import ConfigError
from tabsession.cli.exit_codes import reporting
from tabsession.cli.explanations import ReadError, explain, read_error
from tabsession.cli.text import wrap

__all__ = ["command"]

_MAX_INPUT = 1 << 20


def _read_capped(source: str | None) -> str:
    """At most `_MAX_INPUT` bytes of the file, or of stdin for None and '-' (an endless file,
    /dev/zero, is read no further), as text: bytes that are not UTF-8 are replaced."""
    if source in (None, "-"):
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (an embedding application's)
            return sys.stdin.read(_MAX_INPUT)
        data: bytes = stream.read(_MAX_INPUT)
    else:
        with Path(source).open("rb") as handle:
            data = handle.read(_MAX_INPUT)
    return data.decode("utf-8", errors="replace")


def command(
    source: Annotated[
        str | None,
        typer.Argument(metavar="[FILE|-]", help="The error body; '-' or nothing: stdin."),
    ] = None,
    status: Annotated[
        int | None, typer.Option(min=100, max=599, metavar="N", help="The HTTP status.")
    ] = None,
    code: Annotated[
        str | None, typer.Option(metavar="CODE", help="The Tableau error code, e.g. 401002.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Classify a Tableau error (XML, JSON, HTML, a log line) and say the cause and the fix.

    [bold]Examples[/]

      $ tabsession explain --code 401002
      $ tabsession explain response.xml
      $ curl -s ... | tabsession explain
      $ tabsession explain --status 403

    Works offline: nothing is sent anywhere. It reads bodies as mangled as the ones printed in
    support articles (a missing '<', odd namespaces) and classifies by HTTP status first, Tableau
    code second, never by the message text.
    """
    with reporting():
        found = ReadError()
        if source is not None or (status is None and code is None):
            if source is None and sys.stdin.isatty():
                raise ConfigError("give a FILE, '-' for stdin, --status or --code")
            try:
                raw = _read_capped(source)
            except OSError as exc:
                raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
            found = read_error(raw)
        chosen_status = status if status is not None else found.status
        chosen_code = code if code is not None else found.code
        if chosen_status is None and chosen_code is not None and chosen_code[:3].isdecimal():
            chosen_status = int(chosen_code[:3])
        answer = explain(chosen_status, chosen_code)
        if json_output:
            data = {
                "status": chosen_status,
                "code": chosen_code,
                "summary": found.summary,
                "detail": found.detail,
                "kind": answer.kind,
                "title": answer.title,
                "cause": answer.cause,
                "fix": answer.fix,
            }
            typer.echo(json.dumps(data, indent=2))
        else:
            heard = " ".join(
                part
                for part in (
                    f"HTTP {chosen_status}" if chosen_status else "",
                    chosen_code or "",
                    f"{found.summary}: {found.detail}" if found.summary and found.detail else "",
                )
                if part
            )
            lines = wrap("read:  ", heard) if heard else []
            lines += wrap("what:  ", answer.title)
            lines += wrap("cause: ", answer.cause)
            lines += wrap("fix:   ", answer.fix)
            typer.echo("\n".join(lines))
        if answer.kind == "unknown":
            raise typer.Exit(1)
