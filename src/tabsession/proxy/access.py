"""Who may sign in to the proxy: reading a client's sign-in body and checking it against the
proxy's access keys.

By default the only access key is the credential the proxy itself holds (the same PAT name and
secret, or the same user name and password), so existing scripts work unchanged. Separate
access keys (`AccessKey("ci", "...")`) let the proxy hand out access without sharing the real
credential, and are required to listen on anything but loopback. A client presents a key either
as a PAT (`personalAccessTokenName`/`personalAccessTokenSecret`) or as a user name and password.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tabsession._responses import load_json
from tabsession._xml import XmlError, xml_to_dict
from tabsession.auth.credentials import Credential, Password, PersonalAccessToken
from tabsession.auth.secret import reveal
from tabsession.errors import ConfigurationError

__all__ = ["AccessCheck", "AccessKey", "MalformedSignIn", "SignInAttempt", "read_sign_in"]


class MalformedSignIn(ValueError):
    """The sign-in body is not a Tableau `credentials` request (Tableau answers 400000)."""


@dataclass(frozen=True)
class AccessKey:
    """A name and secret a client may sign in to the proxy with."""

    name: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.name or not self.secret:
            raise ConfigurationError("an access key needs a name and a secret (NAME:SECRET)")

    @classmethod
    def parse(cls, text: str) -> AccessKey:
        """`"NAME:SECRET"`, as given on the command line or in TABSESSION_PROXY_ACCESS_KEYS."""
        name, sep, secret = text.partition(":")
        if not sep:
            raise ConfigurationError("an access key is written NAME:SECRET")
        return cls(name.strip(), secret.strip())

    @classmethod
    def parse_many(cls, text: str) -> tuple[AccessKey, ...]:
        """Comma-separated `NAME:SECRET` pairs."""
        return tuple(cls.parse(part) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class SignInAttempt:
    """What a client's sign-in body carries. `kind` is "pat", "password" or "jwt"."""

    kind: str
    name: str
    secret: str = field(repr=False)
    site: str
    impersonate: str | None = None


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedSignIn(f"credentials.{key} must be a string")


def read_sign_in(body: bytes, content_type: str) -> SignInAttempt:
    """Parse `{"credentials": {...}}` or `<tsRequest><credentials .../></tsRequest>`."""
    stripped = body.strip()
    try:
        if "json" in content_type.lower() or stripped[:1] == b"{":
            data = load_json(stripped)  # a ValueError for JSON nested too deeply, too
        else:
            data = xml_to_dict(stripped)
    except (ValueError, XmlError, UnicodeDecodeError):
        raise MalformedSignIn("the sign-in body is neither JSON nor XML") from None
    credentials = data.get("credentials") if isinstance(data, dict) else None
    if not isinstance(credentials, dict):
        raise MalformedSignIn("the sign-in body has no credentials element")
    site = credentials.get("site")
    if not isinstance(site, dict):
        raise MalformedSignIn("credentials need a site element with a contentUrl")
    user = credentials.get("user")
    impersonate = _text(user, "id") if isinstance(user, dict) else None
    content_url = _text(site, "contentUrl") or ""
    pat_name = _text(credentials, "personalAccessTokenName")
    if pat_name is not None or credentials.get("personalAccessTokenSecret") is not None:
        secret = _text(credentials, "personalAccessTokenSecret") or ""
        return SignInAttempt("pat", pat_name or "", secret, content_url, impersonate)
    if credentials.get("jwt") is not None:
        return SignInAttempt("jwt", "", _text(credentials, "jwt") or "", content_url, impersonate)
    name = _text(credentials, "name")
    if name is None:
        raise MalformedSignIn("credentials need a PAT, a name and password, or a jwt")
    password = _text(credentials, "password") or ""
    return SignInAttempt("password", name, password, content_url, impersonate)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class AccessCheck:
    """Checks sign-in attempts against a fixed set of access keys, in constant time per key."""

    def __init__(self, keys: Sequence[AccessKey], *, separate: bool) -> None:
        if not keys:
            raise ConfigurationError("the proxy needs at least one access key")
        self._keys = tuple(keys)
        self.separate = separate
        """True when the keys are not the proxy's own upstream credential."""

    @classmethod
    def for_credential(cls, credential: Credential) -> AccessCheck:
        """The default: clients sign in with the credential the proxy holds."""
        if isinstance(credential, PersonalAccessToken):
            return cls([AccessKey(credential.name, reveal(credential.secret))], separate=False)
        if isinstance(credential, Password):
            return cls(
                [AccessKey(credential.username, reveal(credential.password))], separate=False
            )
        raise ConfigurationError(
            f"a proxy signing in with a {credential.kind} credential needs separate access keys "
            "(--access-key NAME:SECRET): clients cannot present that credential themselves"
        )

    def verify(self, attempt: SignInAttempt) -> str | None:
        """The name of the access key the attempt proves, or None. JWTs are never accepted."""
        if attempt.kind == "jwt":
            return None
        found = None
        for key in self._keys:  # no early exit: every key costs the same comparisons
            if _same(attempt.name, key.name) & _same(attempt.secret, key.secret):
                found = key.name
        return found

    def __repr__(self) -> str:
        kind = "separate access keys" if self.separate else "the upstream credential"
        return f"AccessCheck({len(self._keys)} key(s), {kind})"
