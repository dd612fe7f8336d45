"""tableauserverclient (TSC) scripts that never see an expired session: one line.

    import tableauserverclient as TSC
    from tabsession.tsc import keep_signed_in

    server = keep_signed_in(TSC.Server(url), TSC.PersonalAccessTokenAuth(name, secret, site_id=""))
    for workbook in TSC.Pager(server.workbooks):   # survives any number of expiries
        ...

A tabsession `Client` holds the session; TSC's `requests` sessions get a transport adapter
(installed through TSC's `session_factory`, so it survives sign-out and TSC's per-thread
sessions) that sends the current token and renews, once for everyone, a session Tableau
refuses. Supported: tableauserverclient >= 0.30, < 1.0 (tested 0.30 and 0.42).
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar

from tabsession.auth.policy import SessionPolicy
from tabsession.client import Client
from tabsession.errors import ConfigurationError
from tabsession.session import SessionInfo
from tabsession.stores.base import TokenStore
from tabsession.tsc import _internals
from tabsession.tsc.adapter import KeepSignedInAdapter, hook_session
from tabsession.tsc.credentials import from_tsc_auth, is_credential
from tabsession.tsc.keeper import SessionKeeper

__all__ = ["KeepSignedInAdapter", "client_for", "keep_signed_in"]

ServerT = TypeVar("ServerT")

_KEEPERS: weakref.WeakKeyDictionary[Any, SessionKeeper] = weakref.WeakKeyDictionary()
"""The keeper of each kept `Server`; an entry goes when its server does (nothing held here
refers back to the server strongly)."""


def keep_signed_in(
    server: ServerT,
    auth: Any,
    *,
    site: str | None = None,
    store: TokenStore | None = None,
    policy: SessionPolicy | None = None,
    sign_out: bool | None = None,
    **client_options: Any,
) -> ServerT:
    """Keep a `tableauserverclient.Server` signed in for as long as the script runs; returns it.

    - `auth`: a TSC `PersonalAccessTokenAuth`, `TableauAuth` or `JWTAuth` (its `site_id` is the
      site), or a tabsession credential (`PersonalAccessToken`, `Password`, `ConnectedAppJWT`,
      `JWT`) with `site=`. A TSC `JWTAuth` holds one single-use JWT, so its session cannot be
      renewed: use `ConnectedAppJWT` for long scripts.
    - Signs in only if no live session is available: with a shared `store` (`FileStore`,
      `RedisStore`) a session another worker already holds is adopted without a sign-in, so a
      new worker never ends the session of the others. Default: a private memory store.
    - `policy`: when to refresh before Tableau ends the session (default: Cloud preset for
      *.online.tableau.com, Server preset otherwise; the real lifetime is learned).
    - `sign_out`: whether `server.auth.sign_out()` really ends the session. Default: yes with a
      private store, no with a shared one (others may be using it; TSC forgets it either way).
    - `client_options`: passed to `tabsession.Client` (`timeout`, `breaker`, `on_event`,
      `lock_ttl`, `wait_timeout`, `verify`, ...).

    Calling it again on the same server replaces the earlier setup. Raises `SignInFailed` at
    once (one attempt, never retried) when the credentials are refused, and
    `ConfigurationError` for an unsupported TSC release.
    """
    _internals.check_supported(server)
    credential, site = _credential_and_site(auth, site)
    address: str = getattr(server, "server_address")  # noqa: B009  (TSC's public property)
    verify = getattr(server, "http_options", {}).get("verify", True)
    if isinstance(verify, bool | str):
        client_options.setdefault("verify", verify)
    options = {**client_options, "store": store, "policy": policy, "sign_out_on_close": False}

    def make_client(credential: Any, site: str) -> Client:
        return Client(address, credential, site=site, **options)

    held = weakref.ref(server)  # the keeper must not keep the server alive (see _KEEPERS)

    def publish(info: SessionInfo, token: str) -> None:
        target = held()
        if target is None:
            return
        _internals.set_auth_state(
            target,
            site_id=info.site_id,
            user_id=info.user_id,
            token=token,
            site_content_url=info.site_content_url,
        )

    keeper = SessionKeeper(
        make_client,
        credential,
        site,
        publish=publish,
        sign_out=(store is None) if sign_out is None else sign_out,
    )
    try:
        keeper.token()
    except BaseException:
        keeper.close()
        raise
    earlier = _KEEPERS.get(server)
    _KEEPERS[server] = keeper
    weakref.finalize(server, keeper.close)  # its connections go with the server
    _internals.install_session_factory(server, lambda session: hook_session(session, keeper))
    if earlier is not None:
        earlier.close()
    _internals.use_server_version_if_asked(server)
    return server


def client_for(server: Any) -> Client | None:
    """The tabsession `Client` holding `server`'s session (for `stats`, `session`), or None."""
    keeper = _KEEPERS.get(server)
    return keeper.client if keeper is not None else None


def _credential_and_site(auth: Any, site: str | None) -> tuple[Any, str]:
    if is_credential(auth):
        return auth, site or ""
    credential, auth_site = from_tsc_auth(auth)
    if site is not None and site != auth_site:
        raise ConfigurationError(
            f"site={site!r} but the TSC auth object names site_id={auth_site!r}: give one"
        )
    return credential, auth_site
