"""Accounts, personal access tokens, connected apps and sessions: who may sign in, and which
credentials tokens are alive. Knows nothing of HTTP.

The rules (spec §4, §5, §6, §10):
- a session dies when idle too long (`idle`: sliding, each use restarts the timer) or too old
  (`absolute`), or at the optional absolute cap; at sign-out; when its PAT signs in again; when an
  admin deletes it; when the control plane expires or kills it;
- every sign-in failure is 401001, whatever the cause (Tableau does not say which); the cause
  is counted in stats (`signin_refusals`) and logged;
- a PAT expires 15 idle days after its last sign-in or 365 days after creation, and is refused once
  revoked; its sign-in answer carries `estimatedTimeToExpiration` (D:HH:MM to the absolute expiry);
- a connected-app JWT must be HS256, name a known app (`iss`, `kid`), user (`sub`) and audience
  "tableau", expire within `jwt_max_exp`, and carry a `jti` never seen before.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tabsession.clock import Clock
from tabsession.emulator.config import Account, ConnectedApp, EmulatorConfig, PatSpec
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.jwt_check import check_jwt
from tabsession.emulator.state.stats import Stats

__all__ = ["AuthState", "Directory", "Session", "SignInRefused", "SignInRequest", "SiteRef"]

DAY = 86400.0
_log = logging.getLogger("tabsession.emulator")


class SignInRefused(Exception):
    """Why a sign-in is refused (`reason`, a short name such as `pat_revoked`). Counted in stats
    (`signin_refusals`) and logged; the client gets Tableau's plain 401001 whatever it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SiteRef(Protocol):
    id: str
    name: str
    content_url: str


class Directory(Protocol):
    """What authentication needs to know about sites and their users."""

    def site_by_url(self, content_url: str) -> SiteRef | None: ...

    def site_by_id(self, site_id: str) -> SiteRef | None: ...

    def member_id(self, site_id: str, user_name: str) -> str | None: ...

    def member_name(self, site_id: str, user_id: str) -> str | None: ...

    def touch_login(self, site_id: str, user_id: str, when: float) -> None: ...


@dataclass(frozen=True)
class SignInRequest:
    """A parsed sign-in body: exactly one of password, PAT or JWT credentials."""

    kind: Literal["password", "pat", "jwt"]
    site_content_url: str
    name: str = ""
    password: str = field(default="", repr=False)
    pat_name: str = ""
    pat_secret: str = field(default="", repr=False)
    jwt: str = field(default="", repr=False)
    impersonate_user_id: str | None = None


@dataclass
class Session:
    token: str = field(repr=False)
    id: str
    site_id: str
    user_id: str
    user_name: str
    kind: str
    pat_name: str | None
    created: float
    last_used: float
    scopes: tuple[str, ...] = ()
    reject_next_use: bool = False

    def summary(self) -> dict[str, object]:
        """JSON-ready description, without the token."""
        return {
            "id": self.id,
            "site_id": self.site_id,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "kind": self.kind,
            "pat_name": self.pat_name,
            "created": self.created,
            "last_used": self.last_used,
        }


@dataclass
class _Pat:
    spec: PatSpec
    owner: str
    created: float
    last_used: float
    revoked: bool


def _mint_token(site_id: str) -> str:
    return f"{secrets.token_urlsafe(16)[:22]}|{secrets.token_urlsafe(24)[:32]}|{site_id}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def format_d_hh_mm(seconds: float) -> str:
    """Seconds → Tableau's `D:HH:MM` (days:hours:minutes), never negative."""
    minutes = max(0, int(seconds // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}:{hours:02d}:{minutes:02d}"


class AuthState:
    """Thread-safe: one lock guards accounts, PATs and sessions."""

    def __init__(self, config: EmulatorConfig, clock: Clock, directory: Directory, stats: Stats):
        self._config = config
        self._clock = clock
        self._directory = directory
        self._stats = stats
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._pats: dict[str, _Pat] = {}
        self._apps: dict[str, ConnectedApp] = {}
        self._sessions: dict[str, Session] = {}
        self._used_jti: dict[str, float] = {}
        self.reset()

    # -- setup ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the configured accounts and PATs, with no sessions."""
        config, now = self._config, self._clock.time()
        with self._lock:
            self._accounts = {a.name: a for a in (config.admin, *config.users)}
            self._pats = {}
            for spec in config.pats:
                life = config.pat_absolute_days * DAY
                left = life if spec.expires_in_days is None else spec.expires_in_days * DAY
                self._pats[spec.name] = _Pat(
                    spec, spec.owner or config.admin.name, now - (life - left), now, spec.revoked
                )
            self._apps = {app.client_id: app for app in config.connected_apps}
            self._sessions = {}
            self._used_jti = {}

    def accounts(self) -> list[Account]:
        with self._lock:
            return list(self._accounts.values())

    def revoke_pat(self, name: str) -> bool:
        """Revoke a PAT and end its sessions (UNCONFIRMED on real servers; the safe assumption)."""
        with self._lock:
            pat = self._pats.get(name)
            if pat is None:
                return False
            pat.revoked = True
            for token in [t for t, s in self._sessions.items() if s.pat_name == name]:
                del self._sessions[token]
                self._stats.add("sessions_killed")
            return True

    # -- sign-in -------------------------------------------------------------------------------

    def sign_in(self, request: SignInRequest, *, stale: bool = False) -> Session:
        """Check the credentials and open a session; any failure is 401001.

        `stale=True` makes the new session refuse its first use once (fault injection of the
        sub-second stale-session case seen in the field).
        """
        with self._lock:
            try:
                session = self._sign_in(request)
            except SignInRefused as refused:
                self._stats.signin_refused(refused.reason)
                if refused.reason == "jwt_replayed":
                    self._stats.add("jwt_replays_refused")
                _log.info("sign-in refused (%s sign-in): %s", request.kind, refused.reason)
                raise ApiError.signin_error() from None
            session.reject_next_use = stale
            self._stats.signin(request.kind)
        # outside the auth lock: the site lock may be held a while by a slow listing
        self._directory.touch_login(session.site_id, session.user_id, session.created)
        return session

    def _sign_in(self, request: SignInRequest) -> Session:
        config, now = self._config, self._clock.time()
        site = self._directory.site_by_url(request.site_content_url)
        if site is None:
            raise SignInRefused("unknown_site")
        if config.mode == "cloud" and request.site_content_url == "":
            raise SignInRefused("cloud_needs_a_site")
        pat_name: str | None = None
        scopes: tuple[str, ...] = ()
        if request.kind == "password":
            user_name = self._check_password(request)
        elif request.kind == "pat":
            user_name = self._check_pat(request, now)
            pat_name = request.pat_name
        else:
            user_name, scopes = self._check_jwt(request.jwt, now)
        user_id = self._directory.member_id(site.id, user_name)
        if user_id is None:
            raise SignInRefused("not_a_site_member")
        if request.impersonate_user_id is not None:
            user_id, user_name = self._impersonated(site.id, user_name, request.impersonate_user_id)
        if pat_name is not None and config.pat_single_session:
            self._end_pat_sessions(pat_name)
        return self._open_session(site.id, user_id, user_name, request.kind, pat_name, scopes)

    def _open_session(
        self,
        site_id: str,
        user_id: str,
        user_name: str,
        kind: str,
        pat_name: str | None,
        scopes: tuple[str, ...],
    ) -> Session:
        """The one place sessions are made (sign-in and switch-site): minted and stored."""
        now = self._clock.time()
        session = Session(
            token=_mint_token(site_id),
            id=str(uuid.uuid4()),
            site_id=site_id,
            user_id=user_id,
            user_name=user_name,
            kind=kind,
            pat_name=pat_name,
            created=now,
            last_used=now,
            scopes=scopes,
        )
        self._sessions[session.token] = session
        return session

    def _check_password(self, request: SignInRequest) -> str:
        account = self._accounts.get(request.name)
        if account is None:
            raise SignInRefused("unknown_user")
        if not _same(account.password, request.password):
            raise SignInRefused("wrong_password")
        return account.name

    def _impersonated(self, site_id: str, user_name: str, target_id: str) -> tuple[str, str]:
        """(user id, user name) of the user a server administrator signs in as."""
        admin = self._accounts.get(user_name)
        target = self._directory.member_name(site_id, target_id)
        if self._config.mode != "server":
            raise SignInRefused("impersonation_needs_server")
        if admin is None or admin.site_role != "ServerAdministrator":
            raise SignInRefused("impersonation_needs_admin")
        if target is None:
            raise SignInRefused("impersonated_user_unknown")
        return target_id, target

    def _check_pat(self, request: SignInRequest, now: float) -> str:
        pat = self._pats.get(request.pat_name)
        if pat is None:
            raise SignInRefused("pat_unknown")
        if not _same(pat.spec.secret, request.pat_secret):
            raise SignInRefused("pat_wrong_secret")
        if pat.revoked:
            raise SignInRefused("pat_revoked")
        config = self._config
        if now - pat.last_used >= config.pat_idle_days * DAY:
            raise SignInRefused("pat_idle_expired")
        if now - pat.created >= config.pat_absolute_days * DAY:
            raise SignInRefused("pat_expired")
        pat.last_used = now
        return pat.owner

    def pat_time_left(self, pat_name: str) -> str:
        with self._lock:
            pat = self._pats[pat_name]
            expiry = pat.created + self._config.pat_absolute_days * DAY
            return format_d_hh_mm(expiry - self._clock.time())

    def _check_jwt(self, token: str, now: float) -> tuple[str, tuple[str, ...]]:
        """(user name, scopes) of a valid connected-app JWT, whose `jti` is then remembered."""
        self._used_jti = {j: e for j, e in self._used_jti.items() if e > now}
        verdict = check_jwt(
            token,
            apps=self._apps,
            users=self._accounts,
            now=now,
            max_exp=self._config.jwt_max_exp,
            seen_jti=self._used_jti,
            single_use=self._config.jti_single_use,
        )
        if isinstance(verdict, str):
            raise SignInRefused(verdict)
        if self._config.jti_single_use:
            self._used_jti[verdict.jti] = verdict.exp
        return verdict.user_name, verdict.scopes

    def _end_pat_sessions(self, pat_name: str) -> None:
        for token in [t for t, s in self._sessions.items() if s.pat_name == pat_name]:
            del self._sessions[token]
            self._stats.add("sessions_superseded")

    # -- using a session -----------------------------------------------------------------------

    def _dead(self, session: Session, now: float) -> bool:
        config = self._config
        if config.kind == "idle":
            if now - session.last_used >= config.lifetime:
                return True
        elif now - session.created >= config.lifetime:
            return True
        return config.lifetime_limit is not None and now - session.created >= config.lifetime_limit

    def _live(self, token: str, now: float) -> Session:
        session = self._sessions.get(token)
        if session is None:
            raise self._expired()
        if self._dead(session, now):
            del self._sessions[token]
            self._stats.add("sessions_expired")
            raise self._expired()
        return session

    def _expired(self) -> ApiError:
        """What an unknown, ended or expired token gets: 401 with `config.expired_code`."""
        return ApiError.invalid_credentials(self._config.expired_code)

    def authenticate(self, token: str | None) -> Session:
        """The live session behind `token`, restarting its idle timer.

        Raises 401000 (no token) or 401 with `expired_code` (default 401002: unknown, ended or
        expired)."""
        if not token:
            raise ApiError.no_credentials()
        now = self._clock.time()
        with self._lock:
            session = self._live(token, now)
            if session.reject_next_use:
                session.reject_next_use = False
                raise self._expired()
            session.last_used = now
            return session

    def sign_out(self, token: str | None) -> None:
        if not token:
            raise ApiError.no_credentials()
        with self._lock:
            self._live(token, self._clock.time())
            del self._sessions[token]
            self._stats.add("signouts")

    def switch_site(self, token: str | None, content_url: str) -> Session:
        """Server only: a new session on another site for the same user; the old token ends."""
        session = self.authenticate(token)
        with self._lock:
            site = self._directory.site_by_url(content_url)
            if site is None:
                raise ApiError.signin_error()
            if site.id == session.site_id:
                raise ApiError.same_site()
            user_id = self._directory.member_id(site.id, session.user_name)
            if user_id is None:
                raise ApiError.forbidden("The user is not a member of the requested site.")
            self._sessions.pop(session.token, None)
            new = self._open_session(
                site.id, user_id, session.user_name, session.kind, session.pat_name, session.scopes
            )
            self._stats.add("site_switches")
            return new

    def delete_session(self, session_id: str) -> None:
        """Admin's DELETE /sessions/{id}."""
        with self._lock:
            for token, session in self._sessions.items():
                if session.id == session_id:
                    del self._sessions[token]
                    self._stats.add("sessions_killed")
                    return
        raise ApiError.session_not_found(session_id)

    def is_admin(self, user_name: str) -> bool:
        with self._lock:
            account = self._accounts.get(user_name)
            return account is not None and account.site_role == "ServerAdministrator"

    # -- control plane -------------------------------------------------------------------------

    def expire_all(self) -> int:
        """End every session now, as if each had reached its time limit."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            self._stats.add("sessions_expired", count)
            return count

    def kill(self, token: str) -> bool:
        with self._lock:
            if self._sessions.pop(token, None) is None:
                return False
            self._stats.add("sessions_killed")
            return True

    def _sweep(self) -> None:
        now = self._clock.time()
        for token in [t for t, s in self._sessions.items() if self._dead(s, now)]:
            del self._sessions[token]
            self._stats.add("sessions_expired")

    def active_count(self) -> int:
        with self._lock:
            self._sweep()
            return len(self._sessions)

    def sessions(self) -> Iterator[Session]:
        with self._lock:
            self._sweep()
            return iter(list(self._sessions.values()))
