"""How tabsession signs in: personal access tokens, passwords and connected-app JWTs.

Each credential is a *provider*: it produces a fresh sign-in payload every time one is needed, so
re-signing in after an expiry always works (a connected-app JWT is minted anew each time; a
stored JWT string could never be reused). Secrets never appear in `repr()`. `identity` names
the credential inside this process (a plain hash of its name and secret): the client derives its
store key from it, and the stores that persist records never write it (nor that key) as is, but
an HMAC of it keyed by a random per-store secret (see `tabsession.stores._identity`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tabsession.auth.jwt import encode_hs256
from tabsession.auth.secret import Secret

__all__ = [
    "JWT",
    "ConnectedAppJWT",
    "Credential",
    "Password",
    "PersonalAccessToken",
]


def _plain(value: str | Secret[str]) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _masked(owner: object, name: str) -> None:
    """Wrap the str field `name` of a frozen credential in a `Secret` (validated first)."""
    value = getattr(owner, name)
    if not isinstance(value, (str, Secret)):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    object.__setattr__(owner, name, Secret(value))


def _identity(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


@runtime_checkable
class Credential(Protocol):
    """What the client needs from a credential.

    `kind` is "pat", "password" or "jwt". `exclusive` is True when a new sign-in with this
    credential ends every earlier session made with it (Tableau's rule for PATs), which is what
    makes sharing one session across workers necessary. `payload()` returns the body of
    `tsRequest/credentials` without the site (a dict, or an awaitable of one for async providers);
    its values may be `tabsession.auth.secret.Secret`s, revealed only when the body is sent.
    """

    @property
    def kind(self) -> str: ...

    @property
    def exclusive(self) -> bool: ...

    @property
    def identity(self) -> str: ...

    def payload(self) -> dict[str, Any] | Awaitable[dict[str, Any]]: ...

    def likely_failure_cause(self, site: str) -> str: ...


def _site_hint(site: str) -> str:
    shown = repr(site) if site else '"" (the Default site; Tableau Cloud has none)'
    return (
        f"the site contentUrl {shown} does not exist or the user is not a member "
        "(use the site's URL name from /#/site/<contentUrl>/, not its display name or LUID)"
    )


@dataclass(frozen=True)
class PersonalAccessToken:
    """A personal access token (PAT): its name and secret.

    A PAT allows ONE live session: every sign-in with it, from any process or host, ends the
    previous session. tabsession shares one session among all users of the same store, so give
    parallel workers a shared `FileStore`/`RedisStore`, or one PAT each.
    """

    name: str
    secret: str | Secret[str] = field(repr=False)
    """Held as a `Secret` (given as a str or a Secret); `.secret.reveal()` is the value."""
    impersonate_user_id: str | None = None
    kind: str = field(default="pat", init=False)
    exclusive: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        _masked(self, "secret")
        if not self.name or not self.secret:
            raise ValueError("a personal access token needs a name and a secret")

    @property
    def identity(self) -> str:
        return _identity("pat", self.name, _plain(self.secret))

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "personalAccessTokenName": self.name,
            "personalAccessTokenSecret": self.secret,  # a Secret: revealed when sent
        }
        if self.impersonate_user_id:
            body["user"] = {"id": self.impersonate_user_id}
        return body

    def likely_failure_cause(self, site: str) -> str:
        return (
            f"the PAT {self.name!r} is wrong, revoked or expired (PATs expire after 15 days "
            f"unused), or {_site_hint(site)}"
        )


@dataclass(frozen=True)
class Password:
    """A user name and password (Tableau authentication; not SAML/SSO users).

    Password sessions do not end each other, but Tableau Cloud with MFA requires a PAT or JWT.
    """

    username: str
    password: str | Secret[str] = field(repr=False)
    """Held as a `Secret` (given as a str or a Secret); `.password.reveal()` is the value."""
    impersonate_user_id: str | None = None
    kind: str = field(default="password", init=False)
    exclusive: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        _masked(self, "password")
        if not self.username or not self.password:
            raise ValueError("password sign-in needs a user name and a password")

    @property
    def identity(self) -> str:
        return _identity("password", self.username, _plain(self.password))

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.username, "password": self.password}
        if self.impersonate_user_id:
            body["user"] = {"id": self.impersonate_user_id}
        return body

    def likely_failure_cause(self, site: str) -> str:
        return (
            f"wrong user name or password for {self.username!r}, a SAML/SSO-only user, "
            f"MFA on Tableau Cloud (use a PAT), or {_site_hint(site)}"
        )


@dataclass(frozen=True)
class ConnectedAppJWT:
    """A Tableau connected app (direct trust): mints a fresh HS256 JWT for every sign-in.

    `client_id`, `secret_id` and `secret_value` come from the connected app's page; `username` is
    the Tableau user to sign in as. Each token carries a random `jti` and expires `lifetime`
    seconds after minting (Tableau refuses more than 10 minutes; the default is 5).
    `scopes` limit what the session may do (e.g. `tableau:content:read`).
    """

    client_id: str
    secret_id: str
    secret_value: str | Secret[str] = field(repr=False)
    """Held as a `Secret` (given as a str or a Secret)."""
    username: str
    scopes: Sequence[str] = ("tableau:content:read",)
    lifetime: float = 300.0
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    kind: str = field(default="jwt", init=False)
    exclusive: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        _masked(self, "secret_value")
        if not (self.client_id and self.secret_id and self.secret_value and self.username):
            raise ValueError("a connected app needs client_id, secret_id, secret_value, username")
        if not 0 < self.lifetime <= 600:
            raise ValueError("a connected-app JWT may live at most 600 seconds (10 minutes)")
        if isinstance(self.scopes, str):
            raise ValueError("scopes is a list of strings, e.g. ['tableau:content:read']")

    @property
    def identity(self) -> str:
        return _identity("jwt", self.client_id, self.secret_id, self.username)

    def mint(self) -> str:
        """A new signed JWT (never reused: each has its own `jti`)."""
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": "tableau",
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + int(self.lifetime),
            "scp": list(self.scopes),
        }
        return encode_hs256(claims, _plain(self.secret_value), kid=self.secret_id)

    def payload(self) -> dict[str, Any]:
        return {"jwt": Secret(self.mint())}

    def likely_failure_cause(self, site: str) -> str:
        return (
            "the connected app is unknown or disabled, the secret id/value is wrong, the user "
            f"{self.username!r} does not exist, the host clock is off (JWTs are checked against "
            f"UTC and may live at most 10 minutes), or {_site_hint(site)}"
        )


class _PendingPayload:
    """The payload of an async provider: awaitable once, or `close()`d unawaited (a blocking
    client refuses it) without leaving the provider's coroutine un-awaited."""

    __slots__ = ("_token", "_wrap")

    def __init__(self, token: Awaitable[str], wrap: Callable[[str], dict[str, Any]]) -> None:
        self._token = token
        self._wrap = wrap

    def __await__(self) -> Generator[Any, None, dict[str, Any]]:
        return self._finish().__await__()

    async def _finish(self) -> dict[str, Any]:
        return self._wrap(await self._token)

    def close(self) -> None:
        close = getattr(self._token, "close", None)
        if callable(close):
            close()


@dataclass(frozen=True)
class JWT:
    """Any JWT source: `provider()` returns a fresh JWT string for each sign-in (or an awaitable
    of one, with `AsyncClient`). Use it for unified access tokens or your own token service.

    `identity` names the principal for shared session records (e.g. the user name); it must
    differ between principals that must not share a session.
    """

    provider: Callable[[], str | Awaitable[str]] = field(repr=False)
    identity_hint: str = "jwt"
    is_uat: bool = False
    kind: str = field(default="jwt", init=False)
    exclusive: bool = field(default=False, init=False)

    @property
    def identity(self) -> str:
        return _identity("jwt-provider", self.identity_hint)

    def payload(self) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        token = self.provider()
        if isinstance(token, str):
            return self._wrap(token)
        return _PendingPayload(token, self._wrap)

    def _wrap(self, token: str) -> dict[str, Any]:
        body: dict[str, Any] = {"jwt": Secret(token)}
        if self.is_uat:
            body["isUat"] = True
        return body

    def likely_failure_cause(self, site: str) -> str:
        return (
            "the JWT was refused (expired, reused, wrongly signed or unknown user), or "
            + _site_hint(site)
        )
