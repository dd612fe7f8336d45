"""Credentials: sign-in payloads, secrets kept out of reprs and identities, connected-app JWTs."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from conftest import ADMIN_PASSWORD, APP_SECRET, PAT_NAME, PAT_SECRET

from tabsession import JWT, ConnectedAppJWT, Credential, Password, PersonalAccessToken
from tabsession.auth.jwt import JwtError, decode_hs256, encode_hs256, read_unverified
from tabsession.auth.secret import Secret

CLIENT_ID = "0f3c9a8e-client"
SECRET_ID = "5b1d-secret-id"


def app(**kwargs: Any) -> ConnectedAppJWT:
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "secret_id": SECRET_ID,
        "secret_value": APP_SECRET,
        "username": "admin",
    }
    options.update(kwargs)
    return ConnectedAppJWT(**options)


# -- payloads --------------------------------------------------------------------------------------


def test_pat_payload() -> None:
    pat = PersonalAccessToken(PAT_NAME, PAT_SECRET)
    assert pat.payload() == {
        "personalAccessTokenName": PAT_NAME,
        "personalAccessTokenSecret": Secret(PAT_SECRET),
    }
    assert (pat.kind, pat.exclusive) == ("pat", True)


def test_pat_payload_with_impersonation() -> None:
    pat = PersonalAccessToken(PAT_NAME, PAT_SECRET, impersonate_user_id="u-1")
    assert pat.payload()["user"] == {"id": "u-1"}


def test_password_payload() -> None:
    password = Password("admin", ADMIN_PASSWORD)
    assert password.payload() == {"name": "admin", "password": Secret(ADMIN_PASSWORD)}
    assert (password.kind, password.exclusive) == ("password", False)
    impersonating = Password("admin", ADMIN_PASSWORD, impersonate_user_id="u-2")
    assert impersonating.payload() == {
        "name": "admin",
        "password": Secret(ADMIN_PASSWORD),
        "user": {"id": "u-2"},
    }


def test_connected_app_payload_is_a_fresh_jwt() -> None:
    credential = app()
    payload = credential.payload()
    assert set(payload) == {"jwt"}
    assert (credential.kind, credential.exclusive) == ("jwt", False)
    decode_hs256(payload["jwt"].reveal(), APP_SECRET)  # verifiable


def test_all_credentials_satisfy_the_protocol() -> None:
    for credential in (
        PersonalAccessToken(PAT_NAME, PAT_SECRET),
        Password("admin", ADMIN_PASSWORD),
        app(),
        JWT(lambda: "a.b.c"),
    ):
        assert isinstance(credential, Credential)


# -- secrets stay out of reprs and identities ------------------------------------------------------


def test_reprs_never_show_secrets() -> None:
    credentials = [
        PersonalAccessToken(PAT_NAME, PAT_SECRET),
        Password("admin", ADMIN_PASSWORD),
        app(),
    ]
    for credential in credentials:
        for text in (repr(credential), str(credential)):
            for secret in (PAT_SECRET, ADMIN_PASSWORD, APP_SECRET):
                assert secret not in text
    assert PAT_NAME in repr(credentials[0])  # the name is not a secret, and helps
    assert "admin" in repr(credentials[1])


def test_jwt_provider_repr_shows_neither_the_provider_nor_a_token() -> None:
    token = encode_hs256({"sub": "admin"}, APP_SECRET)
    credential = JWT(lambda: token, identity_hint="svc-account")
    assert token not in repr(credential)
    assert "lambda" not in repr(credential)
    assert "svc-account" in repr(credential)


def test_identity_differs_per_secret_and_never_contains_it() -> None:
    a = PersonalAccessToken(PAT_NAME, PAT_SECRET)
    b = PersonalAccessToken(PAT_NAME, PAT_SECRET + "x")
    c = PersonalAccessToken(PAT_NAME + "2", PAT_SECRET)
    assert len({a.identity, b.identity, c.identity}) == 3
    assert a.identity == PersonalAccessToken(PAT_NAME, PAT_SECRET).identity  # stable
    p1, p2 = Password("admin", ADMIN_PASSWORD), Password("admin", ADMIN_PASSWORD + "y")
    assert p1.identity != p2.identity
    # a PAT and a password with the same words are different principals
    assert PersonalAccessToken("admin", ADMIN_PASSWORD).identity != p1.identity
    for credential, secret in ((a, PAT_SECRET), (b, PAT_SECRET), (p1, ADMIN_PASSWORD)):
        assert secret not in credential.identity
        assert PAT_NAME not in credential.identity


def test_connected_app_identity_is_the_principal_not_the_secret() -> None:
    assert app().identity == app(secret_value=APP_SECRET + "rotated").identity
    assert app().identity != app(username="alice").identity
    assert app().identity != app(client_id="other-app").identity
    assert APP_SECRET not in app().identity


def test_jwt_provider_identity_follows_the_hint() -> None:
    assert (
        JWT(lambda: "x", identity_hint="a").identity != JWT(lambda: "x", identity_hint="b").identity
    )
    assert (
        JWT(lambda: "x", identity_hint="a").identity == JWT(lambda: "y", identity_hint="a").identity
    )


# -- connected-app JWTs ----------------------------------------------------------------------------


def test_connected_app_mints_hs256_tokens_tableau_accepts() -> None:
    fixed = 1_800_000_000.0
    credential = app(scopes=("tableau:content:read", "tableau:users:*"), clock=lambda: fixed)
    header, claims = decode_hs256(credential.mint(), APP_SECRET)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": SECRET_ID}
    assert claims["iss"] == CLIENT_ID
    assert claims["sub"] == "admin"
    assert claims["aud"] == "tableau"
    assert claims["scp"] == ["tableau:content:read", "tableau:users:*"]
    assert claims["iat"] == claims["nbf"] == int(fixed)
    assert claims["exp"] == int(fixed) + 300  # the default lifetime: 5 minutes
    uuid.UUID(claims["jti"])


def test_connected_app_token_lifetime_never_exceeds_ten_minutes() -> None:
    for lifetime in (1.0, 60.0, 599.0, 600.0):
        _, claims = read_unverified(app(lifetime=lifetime).mint())
        assert 0 < claims["exp"] - claims["iat"] <= 600
    _, claims = read_unverified(app().mint())
    assert abs(claims["iat"] - time.time()) < 60  # the real clock by default


def test_each_mint_has_a_fresh_jti() -> None:
    credential = app()
    tokens = [credential.mint() for _ in range(20)]
    assert len(set(tokens)) == 20
    assert len({read_unverified(t)[1]["jti"] for t in tokens}) == 20
    payloads = {credential.payload()["jwt"] for _ in range(5)}
    assert len(payloads) == 5


def test_a_token_signed_with_another_secret_does_not_verify() -> None:
    token = app().mint()
    with pytest.raises(JwtError):
        decode_hs256(token, APP_SECRET + "-wrong")
    header, payload, signature = token.split(".")
    with pytest.raises(JwtError):
        decode_hs256(f"{header}.{payload}x.{signature}", APP_SECRET)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_id": ""},
        {"secret_id": ""},
        {"secret_value": ""},
        {"username": ""},
        {"lifetime": 0},
        {"lifetime": -1},
        {"lifetime": 601},
        {"scopes": "tableau:content:read"},  # a string, not a list
    ],
)
def test_connected_app_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        app(**kwargs)


def test_connected_app_validation_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(ValueError, match="600 seconds") as caught:
        app(lifetime=601)
    assert APP_SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (PersonalAccessToken, ("", PAT_SECRET)),
        (PersonalAccessToken, (PAT_NAME, "")),
        (Password, ("", ADMIN_PASSWORD)),
        (Password, ("admin", "")),
    ],
)
def test_pat_and_password_validation(cls: type, args: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="needs a") as caught:
        cls(*args)
    assert PAT_SECRET not in str(caught.value)
    assert ADMIN_PASSWORD not in str(caught.value)


# -- JWT(provider) ---------------------------------------------------------------------------------


def test_jwt_provider_sync_is_called_for_every_payload() -> None:
    issued = iter(["jwt-1", "jwt-2"])
    credential = JWT(lambda: next(issued))
    assert credential.payload() == {"jwt": Secret("jwt-1")}
    assert credential.payload() == {"jwt": Secret("jwt-2")}
    assert (credential.kind, credential.exclusive) == ("jwt", False)


def test_jwt_provider_uat_flag() -> None:
    assert JWT(lambda: "t", is_uat=True).payload() == {"jwt": Secret("t"), "isUat": True}


def test_jwt_provider_async() -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return f"async-jwt-{calls}"

    credential = JWT(provider)
    first, second = credential.payload(), credential.payload()
    assert not isinstance(first, dict)
    assert not isinstance(second, dict)

    async def resolve() -> list[dict[str, Any]]:
        return [await first, await second]  # type: ignore[misc]

    assert asyncio.run(resolve()) == [
        {"jwt": Secret("async-jwt-1")},
        {"jwt": Secret("async-jwt-2")},
    ]


def test_likely_failure_causes_name_the_credential_and_site() -> None:
    pat = PersonalAccessToken(PAT_NAME, PAT_SECRET).likely_failure_cause("marketing")
    assert PAT_NAME in pat
    assert "'marketing'" in pat
    assert "revoked" in pat
    assert PAT_SECRET not in pat
    password = Password("admin", ADMIN_PASSWORD).likely_failure_cause("")
    assert "'admin'" in password
    assert "Default site" in password
    assert ADMIN_PASSWORD not in password
    jwt = app().likely_failure_cause("x")
    assert "clock" in jwt
    assert APP_SECRET not in jwt
