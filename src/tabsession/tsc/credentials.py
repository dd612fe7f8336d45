"""TSC credentials as tabsession credentials.

TSC's auth objects (`PersonalAccessTokenAuth`, `TableauAuth`, `JWTAuth`) all publish the same
public shape: `.credentials` (the attributes of `tsRequest/credentials`), `.site_id` (the site's
contentUrl) and `.user_id_to_impersonate`. The sign-in body TSC sends carries the same facts, so
both are read through one mapping, `credential_from_fields`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from defusedxml.ElementTree import fromstring

from tabsession.auth.credentials import JWT, Credential, Password, PersonalAccessToken
from tabsession.errors import ConfigurationError

__all__ = ["credential_from_fields", "from_sign_in_body", "from_tsc_auth", "is_credential"]


def is_credential(auth: Any) -> bool:
    """A tabsession credential (it produces sign-in payloads itself)."""
    return isinstance(auth, Credential)


def credential_from_fields(fields: Mapping[str, str], impersonate: str | None) -> Credential:
    """The credential whose sign-in sends these `tsRequest/credentials` attributes.

    A TSC `JWTAuth` holds ONE JWT: Tableau accepts each JWT once (its `jti`) and for at most 10
    minutes, so a session signed in with it cannot be renewed. Pass
    `tabsession.ConnectedAppJWT(...)` or `tabsession.JWT(provider)` to keep_signed_in instead.
    """
    if fields.get("personalAccessTokenName") and fields.get("personalAccessTokenSecret"):
        return PersonalAccessToken(
            fields["personalAccessTokenName"],
            fields["personalAccessTokenSecret"],
            impersonate_user_id=impersonate,
        )
    if fields.get("jwt"):
        jwt = fields["jwt"]
        fingerprint = hashlib.sha256(jwt.encode()).hexdigest()[:16]
        return JWT(
            lambda: jwt,
            identity_hint=f"tsc-jwt:{fingerprint}",
            is_uat=fields.get("isUat", "").lower() == "true",
        )
    if fields.get("name") and fields.get("password"):
        return Password(fields["name"], fields["password"], impersonate_user_id=impersonate)
    raise ConfigurationError(
        "keep_signed_in takes a TSC PersonalAccessTokenAuth, TableauAuth or JWTAuth, or a "
        "tabsession credential (PersonalAccessToken, Password, ConnectedAppJWT, JWT)"
    )


def from_tsc_auth(auth: Any) -> tuple[Credential, str]:
    """(credential, site contentUrl) from a TSC auth object."""
    fields = getattr(auth, "credentials", None)
    if not isinstance(fields, Mapping):
        raise ConfigurationError(
            f"keep_signed_in cannot sign in with a {type(auth).__name__}: pass a TSC "
            "PersonalAccessTokenAuth, TableauAuth or JWTAuth, or a tabsession credential"
        )
    impersonate = getattr(auth, "user_id_to_impersonate", None) or None
    site = getattr(auth, "site_id", "") or ""
    return credential_from_fields(fields, impersonate), site


def from_sign_in_body(body: bytes | str | None) -> tuple[Credential, str]:
    """(credential, site contentUrl) from the XML body of a TSC sign-in request."""
    try:
        root = fromstring(body or b"")
    except Exception as exc:  # any parse failure: the body is not a TSC sign-in
        raise ConfigurationError("could not read the sign-in request TSC sent") from exc
    element = root.find("credentials")
    if element is None:
        raise ConfigurationError("the sign-in request TSC sent has no credentials")
    site = element.find("site")
    user = element.find("user")
    impersonate = user.get("id") if user is not None else None
    content_url = site.get("contentUrl", "") if site is not None else ""
    return credential_from_fields(dict(element.attrib), impersonate or None), content_url
