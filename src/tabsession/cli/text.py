"""Prose for terminals and pipes: wrapped at word boundaries with a hanging indent, to the
terminal's width (80 when piped or unknown, or $COLUMNS), never split inside a word."""

from __future__ import annotations

import shutil
import textwrap

__all__ = ["width", "wrap"]


def width() -> int:
    """The terminal's columns ($COLUMNS first), 80 when it cannot be known."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def wrap(prefix: str, text: str, *, columns: int | None = None) -> list[str]:
    """`prefix` + `text`, the following lines indented by len(prefix)."""
    return textwrap.wrap(
        text,
        width=columns or width(),
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [prefix.rstrip()]
