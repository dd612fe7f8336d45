"""Everything a proxy is told at start, checked once: where Tableau is, how to sign in there,
who may sign in here, where to listen, and the limits of forwarding."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from tabsession._config import DEFAULT_BREAKER, Default
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import SessionPolicy
from tabsession.errors import ConfigurationError
from tabsession.proxy.access import AccessCheck, AccessKey
from tabsession.stores.base import AsyncTokenStore, TokenStore

__all__ = ["DEFAULT_PORT", "DEFAULT_REPLAY_LIMIT", "ProxyConfig", "is_loopback"]

DEFAULT_PORT = 8900
DEFAULT_REPLAY_LIMIT = 16 * 1024 * 1024


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; False for 0.0.0.0, names and the rest."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ProxyConfig:
    """One proxy in front of one Tableau site.

    - `server`, `site`, `credential`: the upstream, as for `tabsession.AsyncClient`.
    - `store`: share the upstream session with other proxies and clients (a `FileStore`,
      `RedisStore`, ...). Default: a private memory store, signed out when the proxy stops.
    - `access_keys`: names and secrets clients sign in to the proxy with. Default (empty): the
      proxy's own credential. Required, with `tls_certfile`/`tls_keyfile`, to listen on
      anything but loopback.
    - `replay_limit`: request bodies up to this many bytes (16 MiB) are kept so they can be sent
      again after a re-sign-in; larger ones stream and fail with a clear 503 if the upstream
      session ended under them. Raise it for big single-request publishes.
    - `local_idle_timeout`, `max_local_sessions`: how long an unused local token lives
      (8 hours) and how many are kept (10,000, least recently used dropped first).
    - `verify`: TLS verification of the upstream (True, False, or a CA bundle path).
    - `timeout`: seconds per upstream request (300: downloads and publishes take time).
    - `policy`, `breaker`, `api_version`: passed to the upstream `AsyncClient` (defaults: the
      client's). Raise the breaker's `max_young_deaths` only for tests that end sessions many times
      a minute.
    """

    server: str
    credential: Credential
    site: str = ""
    store: AsyncTokenStore | TokenStore | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    access_keys: tuple[AccessKey, ...] = ()
    tls_certfile: str | None = None
    tls_keyfile: str | None = field(default=None, repr=False)
    replay_limit: int = DEFAULT_REPLAY_LIMIT
    local_idle_timeout: float = 8 * 3600.0
    max_local_sessions: int = 10_000
    verify: bool | str = True
    timeout: float = 300.0
    api_version: str | None = None
    policy: SessionPolicy | None = None
    breaker: Breaker | Default | None = DEFAULT_BREAKER

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be 0-65535, not {self.port}")
        if self.replay_limit < 0:
            raise ConfigurationError("replay_limit cannot be negative")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ConfigurationError("TLS needs both a certificate file and a key file")
        for path in (self.tls_certfile, self.tls_keyfile):
            if path is not None and not Path(path).is_file():
                raise ConfigurationError(f"TLS file not found: {path}")
        if not is_loopback(self.host):
            missing = [
                what
                for what, given in (
                    ("access keys (--access-key NAME:SECRET)", bool(self.access_keys)),
                    ("TLS (--tls-cert and --tls-key)", self.tls_certfile is not None),
                )
                if not given
            ]
            if missing:
                raise ConfigurationError(
                    f"refusing to listen on {self.host}: only loopback is safe without "
                    f"{' and '.join(missing)}. Anyone who can reach this address would use the "
                    "proxy's Tableau session"
                )
        self.access()  # a JWT credential without access keys is refused here, at start

    @property
    def tls(self) -> bool:
        return self.tls_certfile is not None

    def access(self) -> AccessCheck:
        if self.access_keys:
            return AccessCheck(self.access_keys, separate=True)
        return AccessCheck.for_credential(self.credential)

    @staticmethod
    def access_keys_from_env(env: os._Environ[str] | dict[str, str]) -> tuple[AccessKey, ...]:
        """TABSESSION_PROXY_ACCESS_KEYS="name:secret,other:secret" (empty: none)."""
        return AccessKey.parse_many(env.get("TABSESSION_PROXY_ACCESS_KEYS", ""))
