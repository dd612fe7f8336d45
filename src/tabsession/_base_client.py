"""What `Client` and `AsyncClient` share besides the flows: arguments, defaults, the environment,
and the read-only views (`session`, `stats`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tabsession._core import ClientCore
from tabsession._events import ClientStats, EventHook
from tabsession._httpx import Response
from tabsession._responses import parse_payload
from tabsession.auth.credentials import Credential, Password, PersonalAccessToken
from tabsession.auth.manager import Breaker
from tabsession.auth.policy import SessionPolicy
from tabsession.clock import Clock, SystemClock
from tabsession.errors import ConfigurationError, ResponseError
from tabsession.pagination import check_page_size
from tabsession.session import SessionInfo
from tabsession.transport.retry import RetryPolicy

__all__ = ["DEFAULT_BREAKER", "BaseClient", "credentials_from_env"]


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT_BREAKER: Any = _Default()

SIGNIN_ATTEMPTS = 3
SIGNIN_BUDGET = 20.0
"""Sign-in retries (429, 5xx, connection errors; never a refusal) stop after 3 attempts or 20 s."""
DEFAULT_WAIT_TIMEOUT = 120.0
"""How long a worker waits for another's sign-in by default (at least `lock_ttl`)."""


def credentials_from_env(env: Mapping[str, str]) -> tuple[str, str, Credential]:
    """(server, site, credential) from TABLEAU_* variables; a PAT wins over a password."""
    server = env.get("TABLEAU_SERVER", "").strip()
    site = env.get("TABLEAU_SITE", "").strip()
    pat_name, pat_secret = env.get("TABLEAU_PAT_NAME", ""), env.get("TABLEAU_PAT_SECRET", "")
    user, password = env.get("TABLEAU_USERNAME", ""), env.get("TABLEAU_PASSWORD", "")
    if not server:
        raise ConfigurationError("TABLEAU_SERVER is not set (e.g. https://tableau.example.com)")
    if pat_name or pat_secret:
        if not (pat_name and pat_secret):
            raise ConfigurationError("set both TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET")
        return server, site, PersonalAccessToken(pat_name, pat_secret)
    if user or password:
        if not (user and password):
            raise ConfigurationError("set both TABLEAU_USERNAME and TABLEAU_PASSWORD")
        return server, site, Password(user, password)
    raise ConfigurationError(
        "no credentials in the environment: set TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET "
        "(or TABLEAU_USERNAME and TABLEAU_PASSWORD)"
    )


class BaseClient:
    """Arguments common to both clients. See `tabsession.Client` for what each one does."""

    def __init__(
        self,
        server: str,
        auth: Credential,
        *,
        site: str,
        policy: SessionPolicy | None,
        shared_store: bool,
        api_version: str | None,
        retry: RetryPolicy | None,
        page_concurrency: int,
        timeout: float,
        clock: Clock | None,
        breaker: Breaker | None,
        on_event: EventHook | None,
        sign_out_on_close: bool | None,
        lock_ttl: float | None,
        wait_timeout: float | None,
        failure_cooldown: float,
    ) -> None:
        if not isinstance(page_concurrency, int) or page_concurrency < 1:
            raise ConfigurationError("page_concurrency must be a positive integer")
        if timeout <= 0:
            raise ConfigurationError("timeout must be positive")
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
        if wait_timeout is None:
            wait_timeout = max(DEFAULT_WAIT_TIMEOUT, lock_ttl)
        if wait_timeout <= 0 or failure_cooldown < 0:
            raise ConfigurationError("wait_timeout must be positive, failure_cooldown >= 0")
        if wait_timeout < lock_ttl:
            raise ConfigurationError(
                f"wait_timeout ({wait_timeout:g}s) must be at least lock_ttl ({lock_ttl:g}s): "
                "a worker waiting for another's sign-in would give up while that sign-in (or a "
                "crashed holder's lock) may still stand"
            )
        self._clock = clock or SystemClock()
        self._core = ClientCore(
            server,
            auth,
            site=site,
            policy=policy,
            retry=base_retry,
            clock=self._clock,
            api_version=api_version,
            breaker=Breaker() if breaker is DEFAULT_BREAKER else breaker,
            shared_store=shared_store,
            on_event=on_event,
            lock_ttl=lock_ttl,
            wait_timeout=wait_timeout,
            failure_cooldown=failure_cooldown,
            signin_retry=signin_retry,
        )
        self._page_concurrency = page_concurrency
        self._sign_out_on_close = (
            (not shared_store) if sign_out_on_close is None else sign_out_on_close
        )
        self._closed = False

    @staticmethod
    def _env_arguments(kwargs: dict[str, Any]) -> tuple[str, Credential, dict[str, Any]]:
        server, site, auth = credentials_from_env(os.environ)
        server = kwargs.pop("server", server)
        kwargs.setdefault("site", site)
        return server, auth, kwargs

    def _pages(self, page_size: int, concurrency: int | None) -> int:
        check_page_size(page_size)
        workers = self._page_concurrency if concurrency is None else concurrency
        if not isinstance(workers, int) or workers < 1:
            raise ConfigurationError("concurrency must be a positive integer")
        return workers

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this client is closed")

    @staticmethod
    def _payload(response: Response) -> Any:
        content_type = response.headers.get("content-type", "")
        try:
            return parse_payload(response.content, content_type)
        except ValueError as exc:  # bad JSON, unsafe or malformed XML, bad encoding
            raise ResponseError(
                f"HTTP {response.status_code} answer could not be read as "
                f"{content_type or 'JSON or XML'}: {exc}",
                status=response.status_code,
                method=response.request.method,
                url=str(response.request.url),
            ) from None

    @property
    def server(self) -> str:
        """The server's base URL (after a Tableau Cloud pod redirect, the pod's)."""
        return self._core.sender.server

    @property
    def site(self) -> str:
        """The contentUrl of the site the client works on ("" = Default)."""
        return self._core.site

    @property
    def policy(self) -> SessionPolicy:
        return self._core.manager.policy

    @property
    def session(self) -> SessionInfo | None:
        """The current session (never its token), or None before the first sign-in."""
        return self._core.session_info()

    @property
    def stats(self) -> ClientStats:
        """Sign-ins, refreshes, replays, retries and waits so far."""
        return self._core.events.snapshot()

    def __repr__(self) -> str:
        info = self.session
        state = f"generation {info.generation}" if info else "not signed in"
        return f"{type(self).__name__}({self.server!r}, site={self.site!r}, {state})"
