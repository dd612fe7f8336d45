"""Every error tabsession raises.

    TableauError                      anything from tabsession
    ├── ConfigurationError            bad arguments or environment (nothing was sent)
    ├── TransportError                no response: connection refused/reset, timeout, DNS
    ├── BodyNotReplayable             a 401 needs a replay but the body was a one-shot stream
    ├── VersionNegotiationFailed      GET serverinfo failed; pass api_version= to skip it
    ├── SessionContention             too many sign-ins in a window: another job uses the same PAT
    ├── StoreUnavailable              the shared token store cannot be reached
    ├── JobError                      a job waited for by `wait_for_job` did not succeed
    │   ├── JobFailed                 it ended with finishCode 1 (`.notes` says why)
    │   ├── JobCancelled              it was cancelled (finishCode 2)
    │   └── JobTimeout                `timeout` ran out first (the job may still finish)
    ├── GraphQLError                  the Metadata API answered with errors (`.errors`)
    └── ResponseError                 the server answered with an error status
        ├── BadRequest                400: the request is wrong; never a sign-in problem
        ├── SignInFailed              401 on sign-in: wrong credentials, revoked PAT, wrong site
        ├── SessionExpired            401 that survived a fresh sign-in and one replay
        ├── Forbidden                 403: permissions or limits
        │   └── SiteMismatch          403 because the URL names another site than the session's
        ├── NotFound                  404
        ├── Conflict                  409
        ├── RateLimited               429 (`.retry_after` seconds, when the server said)
        ├── ServerError               5xx (`.attempts` made over `.elapsed` seconds)
        └── ResponseTooLarge          the answer exceeded `max_body` (`.limit` bytes)

Warnings (`warnings.warn`, once per cause): TabsessionWarning → ContentionWarning (sign-ins
ending each other's sessions), PatExpiryWarning (the personal access token itself nears expiry).

Classify by HTTP status first, Tableau code second, never by message text. Every error carries
the method and URL (the token travels in a header, so it is never part of them); none carries a
secret. Constructors are keyword-only; subclasses take their own fields and pass the rest
(`status`, `code`, `summary`, `detail`, `method`, `url`) to `ResponseError`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "BodyNotReplayable",
    "ConfigurationError",
    "Conflict",
    "ContentionWarning",
    "Forbidden",
    "GraphQLError",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "NotFound",
    "PatExpiryWarning",
    "RateLimited",
    "ResponseError",
    "ResponseTooLarge",
    "ServerError",
    "SessionContention",
    "SessionExpired",
    "SignInFailed",
    "SiteMismatch",
    "StoreUnavailable",
    "TableauError",
    "TabsessionWarning",
    "TransportError",
    "VersionNegotiationFailed",
    "error_class_for_status",
]


class TableauError(Exception):
    """Base class. `method` and `url` say which request it concerns, when one does."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        if self.method and self.url:
            return f"{self.message} ({self.method} {self.url})"
        return self.message


class ConfigurationError(TableauError):
    """The arguments or environment cannot work (nothing was sent to the server)."""


class TransportError(TableauError):
    """No HTTP response: connection refused or reset, timeout, name resolution.

    `sent` is False when the request certainly never reached the server (safe to resend).
    """

    def __init__(
        self, message: str, *, method: str | None = None, url: str | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.sent = sent


class BodyNotReplayable(TableauError):
    """The session died under a request whose body was a one-shot stream, so it cannot be replayed.

    Pass the body as bytes (read the file first) instead of an iterator or a file object to get
    automatic replay; a streamed body is sent once and never retried.
    """


class VersionNegotiationFailed(TableauError):
    """GET /serverinfo failed, so the API version could not be chosen. Nothing falls back silently:
    fix the server URL, or pass `api_version=` to skip negotiation."""


class SessionContention(TableauError):
    """More sign-ins happened in a short window than one job should ever need.

    With a personal access token this almost always means another process, host or person is
    signing in with the same PAT: each sign-in ends the previous session. Give each job its own
    PAT, or share one session between them through a FileStore or RedisStore.
    """


class StoreUnavailable(TableauError):
    """The token store (a Redis server, a state directory) cannot be used right now."""


class JobError(TableauError):
    """A job did not succeed. `job` is the job as Tableau last showed it (parsed JSON), `job_id`
    its id, `notes` what Tableau wrote about it (may be empty)."""

    def __init__(
        self,
        message: str,
        *,
        job: dict[str, Any] | None = None,
        job_id: str = "",
        notes: str = "",
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.job = job or {}
        self.job_id = job_id
        self.notes = notes


class JobFailed(JobError):
    """The job ended in failure (finishCode 1)."""


class JobCancelled(JobError):
    """The job was cancelled (finishCode 2)."""


class JobTimeout(JobError):
    """`wait_for_job`'s timeout ran out before the job ended; it may still finish."""


class GraphQLError(TableauError):
    """The Metadata API answered a query with errors. `errors` holds Tableau's error objects
    (`message`, `extensions.code`), `codes` their codes, `data` whatever partial data came."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        data: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.errors = errors or []
        self.data = data

    @property
    def codes(self) -> list[str]:
        found: list[str] = []
        for error in self.errors:
            extensions = error.get("extensions") if isinstance(error, dict) else None
            code = extensions.get("code") if isinstance(extensions, dict) else None
            found.append(str(code) if code is not None else "")
        return found


class ResponseError(TableauError):
    """The server answered with an error status.

    `status` is the HTTP status; `code` the Tableau error code ("401002"), or None when the body
    had none (HTML or empty); `summary`/`detail` the server's own words.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int,
        code: str | None = None,
        summary: str | None = None,
        detail: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.summary = summary
        self.detail = detail
        super().__init__(message or self._describe(), method=method, url=url)

    def _describe(self) -> str:
        head = f"HTTP {self.status}"
        if self.code:
            head += f" {self.code}"
        words = ": ".join(part for part in (self.summary, self.detail) if part)
        return f"{head} {words}" if words else head


class BadRequest(ResponseError):
    """400: the request itself is wrong. tabsession never signs in again for a 400."""


class SignInFailed(ResponseError):
    """401 on sign-in. Never retried automatically (repeated failures can lock the account).

    `likely_cause` names what usually produces it for the credential in use.
    """

    def __init__(
        self, message: str | None = None, *, likely_cause: str = "", **fields: Any
    ) -> None:
        self.likely_cause = likely_cause
        super().__init__(message, **fields)

    def _describe(self) -> str:
        base = super()._describe()
        return f"{base}. Likely cause: {self.likely_cause}" if self.likely_cause else base


class SessionExpired(ResponseError):
    """401 on a request that was replayed once with a fresh session and was refused again."""


class Forbidden(ResponseError):
    """403: permissions, a disabled feature or a limit (not a session problem)."""


class SiteMismatch(Forbidden):
    """The request URL names a site other than the one the session is signed in to."""

    def __init__(
        self,
        message: str | None = None,
        *,
        requested_site_id: str,
        session_site_id: str,
        session_site_content_url: str | None = None,
        **fields: Any,
    ) -> None:
        self.requested_site_id = requested_site_id
        self.session_site_id = session_site_id
        self.session_site_content_url = session_site_content_url
        super().__init__(message, **fields)

    def _describe(self) -> str:
        name = self.session_site_content_url
        session = (
            f"{self.session_site_id} (contentUrl {name!r})"
            if name is not None
            else (self.session_site_id)
        )
        return (
            f"{super()._describe()}. The URL targets site {self.requested_site_id} but the session "
            f"is signed in to site {session}. Use a relative path (tabsession fills in the "
            "session's site), call switch_site(), or sign in to the other site with its own client."
        )


class NotFound(ResponseError):
    """404: unknown site, resource or API version."""


class Conflict(ResponseError):
    """409: the item already exists (name clash, user already in group...)."""


class RateLimited(ResponseError):
    """429: throttled. `retry_after` is the wait in seconds the server asked for, or None."""

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        **fields: Any,
    ) -> None:
        self.retry_after = retry_after
        fields.setdefault("status", 429)
        super().__init__(message, **fields)


class ServerError(ResponseError):
    """5xx: the server (or a proxy in front of it) failed. `attempts` is how many times the
    request was sent and `elapsed` over how many seconds, when known."""

    def __init__(
        self,
        message: str | None = None,
        *,
        attempts: int | None = None,
        elapsed: float | None = None,
        **fields: Any,
    ) -> None:
        self.attempts = attempts
        self.elapsed = elapsed
        super().__init__(message, **fields)

    def _describe(self) -> str:
        base = super()._describe()
        if self.attempts is None:
            return base
        plural = "" if self.attempts == 1 else "s"
        over = f" over {self.elapsed:.1f}s" if self.elapsed is not None else ""
        return f"{base} (after {self.attempts} attempt{plural}{over})"


class ResponseTooLarge(ResponseError):
    """The answer's decoded body exceeded `max_body` bytes (`limit`); reading stopped there.
    Raise the client's `max_body=` if such answers are expected."""

    def __init__(self, message: str | None = None, *, limit: int, **fields: Any) -> None:
        self.limit = limit
        super().__init__(message, **fields)


class TabsessionWarning(UserWarning):
    """Base class of the warnings tabsession emits (each cause warns once per client)."""


class ContentionWarning(TabsessionWarning):
    """Sessions are being ended by other sign-ins with the same personal access token."""


class PatExpiryWarning(TabsessionWarning):
    """The personal access token itself expires soon (not the session): create a new one."""


_BY_STATUS: dict[int, type[ResponseError]] = {
    400: BadRequest,
    401: SessionExpired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_class_for_status(status: int) -> type[ResponseError]:
    """The error class for an HTTP status (401 maps to SessionExpired: the sign-in case and the
    site-mismatch case are decided by the caller, which knows the request)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ResponseError)
