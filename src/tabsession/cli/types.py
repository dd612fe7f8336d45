"""Typed option values: parsed once, by the option itself, with a one-line error."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import typer

__all__ = [
    "NameSecret",
    "api_version",
    "host",
    "minutes",
    "name_secret",
    "number",
    "one_of",
    "port",
    "seconds",
    "server_url",
]


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
    return _duration(text, "s")


def minutes(text: str | float) -> float:
    """A duration in seconds, like `seconds`, but a bare number is minutes (`240` = 4 hours)."""
    return _duration(text, "m")


def _duration(text: str | float, bare_unit: str) -> float:
    if isinstance(text, (int, float)):  # a default, already in seconds
        return float(text)
    value = text.strip().lower()
    unit = next((u for u in ("ms", "s", "m", "h", "d") if value.endswith(u)), "")
    amount_text = value[: len(value) - len(unit)] if unit else value
    try:
        amount = float(amount_text) * _UNITS[unit or bare_unit]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 90s, 5m, 2h)") from None
    if not amount > 0 or amount == float("inf"):
        raise typer.BadParameter(f"{text!r}: a duration must be longer than zero")
    return amount


def number(
    *, minimum: float, maximum: float | None = None, above: bool = False
) -> Callable[[str | float], float]:
    """A parser of finite numbers from `minimum` (excluded when `above`) up to `maximum`."""
    relation = "greater than" if above else "at least"
    bounds = f"{relation} {minimum:g}" + ("" if maximum is None else f" and at most {maximum:g}")

    def parse(text: str | float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        too_low = value < minimum or (above and value == minimum)
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise typer.BadParameter(f"{text!r}: must be a number {bounds}")
        return value

    return parse


_HOST = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")


def host(text: str) -> str:
    """A host name or IP address (`127.0.0.1`, `::1`, `pod.example.com`), no scheme, no path."""
    value = text.strip()
    if not _HOST.match(value):
        raise typer.BadParameter(
            f"{text!r} is not a host name (e.g. 127.0.0.1, tableau.example.com)"
        )
    return value


_API_VERSION = re.compile(r"^\d+\.\d+$")


def api_version(text: str) -> str:
    """A REST API version, MAJOR.MINOR (`3.23`)."""
    value = text.strip()
    if not _API_VERSION.match(value):
        raise typer.BadParameter(f"{text!r} is not an API version (e.g. 3.23)")
    return value


def port(text: str | int) -> int:
    """A TCP port, 0 to 65535; 0 lets the system pick a free one."""
    try:
        value = int(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= value <= 65535:
        raise typer.BadParameter(f"{text!r}: a port is from 0 to 65535")
    return value


@dataclass(frozen=True)
class NameSecret:
    """A `NAME:SECRET` pair from the command line; the secret never shows in its repr."""

    name: str
    secret: str = field(repr=False)


def name_secret(text: str | NameSecret) -> NameSecret:
    """`NAME:SECRET`, both parts non-empty. The error names the form, never the value (a
    secret)."""
    if isinstance(text, NameSecret):
        return text
    name, sep, secret = text.partition(":")
    if not sep or not name.strip() or not secret.strip():
        raise typer.BadParameter("is written NAME:SECRET, both parts non-empty")
    return NameSecret(name.strip(), secret.strip())


def one_of(*names: str) -> Callable[[str], str]:
    """A parser of one of `names` (any case), given back in lower case."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in names:
            raise typer.BadParameter(f"{text!r} is not one of {', '.join(names)}")
        return value

    return parse
