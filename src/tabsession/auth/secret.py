"""A value that must never be shown: passwords, PAT secrets, connected-app secrets, sign-in
bodies and session tokens on their way to the wire.

`Secret(value)` prints as `Secret('***')` in `repr()`, as `***` in `str()` and f-strings, and
compares in constant time; only `.reveal()` gives the value back. tabsession wraps every
credential's secret in one as soon as the credential is made, and carries a sign-in body as a
`Secret[bytes]` down to the point where the HTTP request is built. A traceback formatted with
its locals (`traceback.TracebackException(..., capture_locals=True)`, pytest's
`--showlocals`, Sentry-style error reporters) then shows `Secret('***')` where the value was.

What it cannot hide: a value revealed into a plain `str` by code outside tabsession (it is a
`str` again), and the bytes inside the HTTP library while they are being written.
`MaskedHeaders` is the same idea for request headers: a dict whose `repr()` hides the session
token header.
"""

from __future__ import annotations

import hmac
from typing import Any, Generic, TypeVar

__all__ = ["MASK", "MaskedHeaders", "Secret", "reveal"]

MASK = "***"

T = TypeVar("T", str, bytes)


class Secret(Generic[T]):
    """A str or bytes that hides itself; `.reveal()` returns it. Immutable, hashable, truthy
    when non-empty. Wrapping a Secret again returns an equal Secret (never a double wrap)."""

    __slots__ = ("_value",)

    _value: T

    def __init__(self, value: T | Secret[T]) -> None:
        inner = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(inner, (str, bytes)):
            raise TypeError(f"a Secret holds str or bytes, not {type(inner).__name__}")
        object.__setattr__(self, "_value", inner)

    def reveal(self) -> T:
        """The value itself: call it only where the value goes onto the wire or to the user who
        asked for it."""
        return self._value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine: str | bytes = self._value
        theirs: str | bytes = other._value
        if type(mine) is not type(theirs):
            return False
        left = mine.encode() if isinstance(mine, str) else mine
        right = theirs.encode() if isinstance(theirs, str) else theirs
        return hmac.compare_digest(left, right)

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled for worker processes as the value it holds, unpickled as a Secret again
        return (Secret, (self._value,))


def reveal(value: Any) -> Any:
    """`value.reveal()` for a Secret, `value` itself otherwise (for fields that accept both)."""
    return value.reveal() if isinstance(value, Secret) else value


_MASKED_HEADERS = frozenset({"x-tableau-auth", "authorization", "cookie", "proxy-authorization"})


class MaskedHeaders(dict[str, str]):
    """Request headers whose `repr()` masks the session token (X-Tableau-Auth) and other
    credentials headers; otherwise an ordinary dict (httpx copies it into its own Headers)."""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = {k: (MASK if k.lower() in _MASKED_HEADERS else v) for k, v in self.items()}
        return f"MaskedHeaders({shown!r})"

    __str__ = __repr__
