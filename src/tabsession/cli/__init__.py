"""The `tabsession` command. Needs the `cli` extra (typer, rich); says so when missing.

Usage errors (a bad option value, an unknown flag) are one line on stderr and exit 2, as every
other error of the command line (see `tabsession.cli.exit_codes`).
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(args: list[str] | None = None) -> None:
    try:
        import rich  # noqa: F401
        import typer
    except ImportError:
        print(
            "tabsession's command line needs its extra: pip install 'tabsession[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    import typer.main

    from tabsession.cli.app import app

    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="tabsession", standalone_mode=False)
    except Exception as exc:
        # click's exceptions (vendored by recent typer as typer._click), recognised by shape
        raise SystemExit(_usage_error(exc)) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_error(exc: Exception) -> int:
    """One line on stderr for a click usage error; anything else is re-raised."""
    name = type(exc).__name__
    if name == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]
        return 2
    if name == "Abort":
        print("Aborted.", file=sys.stderr)
        return 130
    describe = getattr(exc, "format_message", None)
    code = getattr(exc, "exit_code", None)
    if not callable(describe) or not isinstance(code, int):
        raise exc
    context = getattr(exc, "ctx", None)
    where = getattr(context, "command_path", "") or "tabsession"
    print(f"Error: {describe()} (see {where} --help)", file=sys.stderr)
    return code
