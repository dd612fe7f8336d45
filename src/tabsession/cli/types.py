"""Typed option values: parsed once, by the option itself, with a one-line error."""

from __future__ import annotations

from urllib.parse import urlsplit

import typer

__all__ = ["server_url"]


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
