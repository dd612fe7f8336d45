"""The connected-app JWT check as a pure function: token and facts in, a grant or the reason for
refusing it out. Nothing is changed and nothing is counted here; `AuthState` records the `jti`
of a grant, and counts and logs a refusal's reason (the client only ever sees Tableau's 401001).

Tableau's rules (spec §6): HS256, signed with the secret whose id is the header's `kid`, of the
connected app named by `iss`; `aud` is (or contains) "tableau"; `sub` is a known user; `exp` is
in the future but at most `max_exp` seconds away; a non-empty `jti` never seen before (when
`single_use`); `scp` is a list of scope strings.
"""

from __future__ import annotations

import math
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from tabsession.auth.jwt import JwtError, decode_hs256, read_unverified
from tabsession.emulator.config import ConnectedApp

__all__ = ["REASONS", "JwtGrant", "check_jwt"]

REASONS = (
    "jwt_malformed",
    "jwt_unknown_app",
    "jwt_wrong_kid",
    "jwt_bad_signature",
    "jwt_wrong_audience",
    "jwt_unknown_user",
    "jwt_bad_exp",
    "jwt_expired",
    "jwt_exp_too_far",
    "jwt_missing_jti",
    "jwt_bad_scopes",
    "jwt_replayed",
)
"""Every reason `check_jwt` may give (they name the first rule the token breaks)."""


@dataclass(frozen=True)
class JwtGrant:
    """A JWT that passed: who it signs in, with which scopes, and its `jti` and `exp` (which the
    caller remembers so that the same token is refused next time)."""

    user_name: str
    scopes: tuple[str, ...]
    jti: str
    exp: float


def _read(token: str, apps: Mapping[str, ConnectedApp]) -> dict[str, Any] | str:
    """The verified claims, or the reason they cannot be trusted."""
    try:
        header, claims = read_unverified(token)
    except (JwtError, UnicodeError, RecursionError, ValueError):
        return "jwt_malformed"
    app = apps.get(str(claims.get("iss", "")))
    if app is None:
        return "jwt_unknown_app"
    if header.get("kid") != app.secret_id:
        return "jwt_wrong_kid"
    try:
        decode_hs256(token, app.secret_value)
    except (JwtError, UnicodeError, RecursionError, ValueError):
        return "jwt_bad_signature"
    return claims


def _expiry(exp: Any, now: float, max_exp: float) -> float | str:
    """`exp` as seconds, or what is wrong with it."""
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not math.isfinite(exp):
        return "jwt_bad_exp"
    if exp <= now:
        return "jwt_expired"
    if exp - now > max_exp:
        return "jwt_exp_too_far"
    return float(exp)


def check_jwt(
    token: str,
    *,
    apps: Mapping[str, ConnectedApp],
    users: Container[str],
    now: float,
    max_exp: float,
    seen_jti: Container[str],
    single_use: bool = True,
) -> JwtGrant | str:
    """A `JwtGrant`, or the reason (one of `REASONS`) the token is refused.

    `apps` maps client ids to connected apps, `users` holds the user names that may sign in,
    `seen_jti` the `jti`s of tokens already used (and not yet expired)."""
    claims = _read(token, apps)
    if isinstance(claims, str):
        return claims
    aud = claims.get("aud")
    if "tableau" not in (aud if isinstance(aud, list) else [aud]):
        return "jwt_wrong_audience"
    sub = claims.get("sub")
    if not isinstance(sub, str) or sub not in users:
        return "jwt_unknown_user"
    exp = _expiry(claims.get("exp"), now, max_exp)
    if isinstance(exp, str):
        return exp
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        return "jwt_missing_jti"
    scp = claims.get("scp")
    if not isinstance(scp, list) or not all(isinstance(s, str) for s in scp):
        return "jwt_bad_scopes"
    if single_use and jti in seen_jti:
        return "jwt_replayed"
    return JwtGrant(sub, tuple(scp), jti, exp)
