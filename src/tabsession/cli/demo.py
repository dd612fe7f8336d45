"""`tabsession demo` (placeholder until the client lands in this branch)."""

from __future__ import annotations


def command() -> None:
    """Reproduce the intermittent-401 problem on the emulator, naive client vs tabsession."""
    raise SystemExit("the demo is not built yet")
