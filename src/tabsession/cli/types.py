"""Typed option values: parsed once, by the option itself, with a one-line error."""

from __future__ import annotations

from urllib.parse import urlsplit

import typer

__all__ = ["seconds", "server_url"]


def server_url(text: str) -> str:
    """`tableau.example.com` → `https://tableau.example.com`; http(s) with a host, or an error.
    A path is kept (`doctor` says when it looks like a browser URL)."""
    value = text.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise typer.BadParameter(f"{text!r} is not a server URL (e.g. https://tableau.example.com)")
    return value.rstrip("/")


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(text: str | float) -> float:
    """A duration: `90s`, `5m`, `2h`, `500ms`, `1.5d`; a bare number is seconds. Positive."""
    if isinstance(text, (int, float)):  # a default, already in seconds
        return float(text)
    value = text.strip().lower()
    unit = next((u for u in ("ms", "s", "m", "h", "d") if value.endswith(u)), "")
    number = value[: len(value) - len(unit)] if unit else value
    try:
        amount = float(number) * _UNITS[unit or "s"]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 90s, 5m, 2h)") from None
    if not amount > 0 or amount == float("inf"):
        raise typer.BadParameter(f"{text!r}: a duration must be longer than zero")
    return amount
