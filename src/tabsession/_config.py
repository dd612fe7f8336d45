"""One frozen, validated configuration per client.

`Client` and `AsyncClient` take their options as keyword arguments (explicit signatures, for
help and typing); `ClientConfig.build()` checks them all once and derives the rest (the sign-in
retry budget, the store lock's ttl, the default policy). Everything below the clients reads this
one object, so adding an option touches this module and the two signatures, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tabsession._urls import resolve_target
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import Credential
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock, SystemClock
from tabsession.errors import ConfigurationError
from tabsession.transport.bounds import DEFAULT_MAX_BODY
from tabsession.transport.redirects import DEFAULT_REDIRECT_HOSTS, normalize_hosts
from tabsession.transport.retry import RetryPolicy

__all__ = ["DEFAULT_BREAKER", "SIGNIN_ATTEMPTS", "SIGNIN_BUDGET", "ClientConfig", "Default"]

SIGNIN_ATTEMPTS = 3
SIGNIN_BUDGET = 20.0
"""Sign-in retries (429, 5xx, connection errors; never a refusal) stop after 3 attempts or 20 s."""
DEFAULT_WAIT_TIMEOUT = 120.0
"""How long a worker waits for another's sign-in by default (at least `lock_ttl`)."""


class Default:
    """The type of `DEFAULT_BREAKER`: "use the default breaker" (None disables it)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT_BREAKER = Default()


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client was told, checked once. Built by `ClientConfig.build()`."""

    server: str
    auth: Credential
    site: str
    policy: SessionPolicy
    policy_explicit: bool
    retry: RetryPolicy
    signin_retry: RetryPolicy
    timeout: float
    page_concurrency: int
    breaker: Breaker | None
    lock_ttl: float
    wait_timeout: float
    failure_cooldown: float
    api_version: str | None
    shared_store: bool
    sign_out_on_close: bool
    clock: Clock
    max_body: int | None
    redirect_hosts: tuple[str, ...]

    @classmethod
    def build(
        cls,
        server: str,
        auth: Any,
        *,
        site: Any = "",
        policy: SessionPolicy | None = None,
        shared_store: bool = False,
        api_version: str | None = None,
        retry: RetryPolicy | None = None,
        page_concurrency: int = 4,
        timeout: float = 60.0,
        clock: Clock | None = None,
        breaker: Breaker | Default | None = DEFAULT_BREAKER,
        sign_out_on_close: bool | None = None,
        lock_ttl: float | None = None,
        wait_timeout: float | None = None,
        failure_cooldown: float = 60.0,
        max_body: int | None = DEFAULT_MAX_BODY,
        redirect_hosts: Sequence[str] = DEFAULT_REDIRECT_HOSTS,
    ) -> ClientConfig:

        if not isinstance(auth, Credential):
            raise ConfigurationError(
                "auth must be a credential: tabsession.PersonalAccessToken(name, secret), "
                "Password(user, password), ConnectedAppJWT(...) or JWT(provider)"
            )
        if not isinstance(site, str):
            raise ConfigurationError("site is the site's contentUrl, a string ('' = Default)")
        normalized, site, api_version = resolve_target(server, site, api_version)
        if api_version is not None and not re.fullmatch(r"\d+\.\d+", str(api_version)):
            raise ConfigurationError(f"api_version must look like '3.23', not {api_version!r}")
        if not isinstance(page_concurrency, int) or page_concurrency < 1:
            raise ConfigurationError("page_concurrency must be a positive integer")
        if not timeout > 0:
            raise ConfigurationError("timeout must be positive")
        if not isinstance(breaker, (Breaker, Default)) and breaker is not None:
            raise ConfigurationError("breaker must be a tabsession.Breaker or None")
        base_retry = retry or RetryPolicy()
        # A sign-in gets its own, shorter budget: it runs under the store's lock, which must
        # outlive it (else another worker could sign in meanwhile and, with a PAT, be ended).
        signin_retry = replace(
            base_retry,
            attempts=min(base_retry.attempts, SIGNIN_ATTEMPTS),
            deadline=min(base_retry.deadline, SIGNIN_BUDGET),
        )
        # the last attempt may start just before the deadline and take the whole timeout
        longest_sign_in = signin_retry.deadline + timeout
        if lock_ttl is None:
            lock_ttl = max(90.0, longest_sign_in + 10.0)
        if lock_ttl <= longest_sign_in:
            raise ConfigurationError(
                f"lock_ttl ({lock_ttl:g}s) must exceed the longest sign-in "
                f"({signin_retry.deadline:g}s of retries plus the {timeout:g}s request timeout)"
            )
        if max_body is not None and (not isinstance(max_body, int) or max_body < 1):
            raise ConfigurationError("max_body is a positive number of bytes, or None (no cap)")
        if wait_timeout is None:
            wait_timeout = max(DEFAULT_WAIT_TIMEOUT, lock_ttl)
        if not wait_timeout > 0 or failure_cooldown < 0:
            raise ConfigurationError("wait_timeout must be positive, failure_cooldown >= 0")
        if wait_timeout < lock_ttl:
            raise ConfigurationError(
                f"wait_timeout ({wait_timeout:g}s) must be at least lock_ttl ({lock_ttl:g}s): "
                "a worker waiting for another's sign-in would give up while that sign-in (or a "
                "crashed holder's lock) may still stand"
            )
        return cls(
            server=normalized,
            auth=auth,
            site=site,
            policy=policy or SessionPolicy.for_server_url(normalized),
            policy_explicit=policy is not None,
            retry=base_retry,
            signin_retry=signin_retry,
            timeout=float(timeout),
            page_concurrency=page_concurrency,
            breaker=Breaker() if isinstance(breaker, Default) else breaker,
            lock_ttl=float(lock_ttl),
            wait_timeout=float(wait_timeout),
            failure_cooldown=float(failure_cooldown),
            api_version=api_version,
            shared_store=shared_store,
            sign_out_on_close=(not shared_store)
            if sign_out_on_close is None
            else sign_out_on_close,
            clock=clock or SystemClock(),
            max_body=max_body,
            redirect_hosts=normalize_hosts(redirect_hosts),
        )
