"""`check_jwt`: a pure function from a token and the facts to a grant or the reason it is
refused (each rule of spec §6 gives its own reason)."""

from __future__ import annotations

from typing import Any

import pytest

from tabsession.auth.jwt import encode_hs256
from tabsession.emulator.config import ConnectedApp
from tabsession.emulator.state.jwt_check import REASONS, JwtGrant, check_jwt

APP = ConnectedApp("client-1", "kid-1", "the-secret")
NOW = 1_000_000.0


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": APP.client_id,
        "sub": "admin",
        "aud": "tableau",
        "exp": NOW + 300,
        "jti": "jti-1",
        "scp": ["tableau:content:read"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(body: dict[str, Any], *, secret: str = APP.secret_value, kid: str = APP.secret_id) -> str:
    return encode_hs256(body, secret, kid=kid)


def verdict(jwt: str, seen: frozenset[str] = frozenset(), single_use: bool = True) -> Any:
    return check_jwt(
        jwt,
        apps={APP.client_id: APP},
        users={"admin"},
        now=NOW,
        max_exp=600,
        seen_jti=seen,
        single_use=single_use,
    )


def test_a_valid_token_is_granted() -> None:
    assert verdict(token(claims(aud=["other", "tableau"]))) == JwtGrant(
        "admin", ("tableau:content:read",), "jti-1", NOW + 300
    )


@pytest.mark.parametrize(
    ("jwt", "reason"),
    [
        ("not.a.jwt", "jwt_malformed"),
        (token(claims(iss="someone-else")), "jwt_unknown_app"),
        (token(claims(), kid="kid-2"), "jwt_wrong_kid"),
        (token(claims(), secret="guessed"), "jwt_bad_signature"),
        (token(claims(aud="tableau-not")), "jwt_wrong_audience"),
        (token(claims(sub="mallory")), "jwt_unknown_user"),
        (token(claims(exp="soon")), "jwt_bad_exp"),
        (token(claims(exp=True)), "jwt_bad_exp"),
        (token(claims(exp=NOW)), "jwt_expired"),
        (token(claims(exp=NOW + 601)), "jwt_exp_too_far"),
        (token(claims(jti="")), "jwt_missing_jti"),
        (token(claims(scp="tableau:content:read")), "jwt_bad_scopes"),
        (token(claims(scp=["ok", 3])), "jwt_bad_scopes"),
    ],
)
def test_each_broken_rule_has_its_reason(jwt: str, reason: str) -> None:
    assert verdict(jwt) == reason
    assert reason in REASONS


def test_a_seen_jti_is_a_replay_unless_reuse_is_allowed() -> None:
    jwt = token(claims())
    assert verdict(jwt, frozenset({"jti-1"})) == "jwt_replayed"
    assert isinstance(verdict(jwt, frozenset({"jti-1"}), single_use=False), JwtGrant)
