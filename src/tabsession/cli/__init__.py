"""The `tabsession` command. Needs the `cli` extra (typer, rich); says so when missing."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        print(
            "tabsession's command line needs its extra: pip install 'tabsession[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    from tabsession.cli.app import app

    app()
