"""Exit codes: one table for every command, on gh's base (0 ok, 1 error, 2 usage, 4 auth).

| code | meaning | raised by |
|---|---|---|
| 0 | success | |
| 1 | any other error | other errors; doctor: a check failed; explain: unknown |
| 2 | usage or configuration | bad flags or values, ConfigurationError, a missing profile |
| 3 | the request was refused as wrong | BadRequest (400), Conflict (409) |
| 4 | authentication | SignInFailed, SessionExpired, SessionContention, no credentials |
| 5 | forbidden | Forbidden (403), SiteMismatch |
| 6 | not found | NotFound (404) |
| 7 | throttled | RateLimited (429) |
| 8 | server error | ServerError (5xx) |
| 9 | unreachable | TransportError, VersionNegotiationFailed, StoreUnavailable |

`failure(exc)` maps an exception to (code, one line for stderr); `reporting()` does it for a
command's body. The line never holds a secret: tabsession's errors carry none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from tabsession import errors
from tabsession.cli.config import ConfigError, MissingCredentials

__all__ = [
    "AUTH",
    "BAD_REQUEST",
    "ERROR",
    "FORBIDDEN",
    "NOT_FOUND",
    "OK",
    "RATE_LIMITED",
    "SERVER",
    "UNREACHABLE",
    "USAGE",
    "failure",
    "reporting",
]

OK = 0
ERROR = 1
USAGE = 2
BAD_REQUEST = 3
AUTH = 4
FORBIDDEN = 5
NOT_FOUND = 6
RATE_LIMITED = 7
SERVER = 8
UNREACHABLE = 9

_BY_CLASS: tuple[tuple[type[BaseException], int], ...] = (
    (MissingCredentials, AUTH),
    (ConfigError, USAGE),
    (errors.ConfigurationError, USAGE),
    (errors.BadRequest, BAD_REQUEST),
    (errors.Conflict, BAD_REQUEST),
    (errors.SignInFailed, AUTH),
    (errors.SessionExpired, AUTH),
    (errors.SessionContention, AUTH),
    (errors.Forbidden, FORBIDDEN),
    (errors.NotFound, NOT_FOUND),
    (errors.RateLimited, RATE_LIMITED),
    (errors.ServerError, SERVER),
    (errors.TransportError, UNREACHABLE),
    (errors.VersionNegotiationFailed, UNREACHABLE),
    (errors.StoreUnavailable, UNREACHABLE),
)


def code_for(exc: BaseException) -> int:
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return ERROR


def failure(exc: BaseException) -> tuple[int, list[str]]:
    """(exit code, lines for stderr) for an error a command met."""
    from tabsession.cli.explanations import explain

    lines = [f"error: {type(exc).__name__}: {exc}"]
    if isinstance(exc, errors.ResponseError) and not isinstance(exc, errors.SiteMismatch):
        hint = explain(exc.status, exc.code)
        if hint.kind != "unknown":
            lines.append(f"hint: {hint.fix}")
    if isinstance(exc, (errors.TransportError, errors.VersionNegotiationFailed)):
        lines.append("hint: check the URL and the network; `tabsession doctor` tells what fails")
    return code_for(exc), lines


@contextlib.contextmanager
def reporting() -> Iterator[None]:
    """Turn tabsession's errors and configuration errors into one line on stderr and the exit
    code of the table above; anything else is a bug and keeps its traceback."""
    try:
        yield
    except (errors.TableauError, ConfigError) as exc:
        from tabsession.cli.text import wrap

        code, lines = failure(exc)
        for line in lines:
            label, _, text = line.partition(" ")
            typer.echo("\n".join(wrap(label + " ", text)), err=True)
        raise typer.Exit(code) from None
