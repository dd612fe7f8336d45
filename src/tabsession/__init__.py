"""tabsession: Tableau REST API sessions that never expire on you.

    import tabsession

    auth = tabsession.PersonalAccessToken("name", "secret")
    with tabsession.Client("https://tableau.example.com", auth, site="marketing") as tab:
        for workbook in tab.paginate("workbooks", page_size=1000):
            ...

Sessions are signed in lazily, refreshed before Tableau ends them, renewed (once, for everyone
at the same time) when Tableau refuses them, and can be shared across processes and hosts
through a token store. See `Client`, `AsyncClient`, `SessionPolicy`, `RetryPolicy`, the stores
in `tabsession.stores` and the errors in `tabsession.errors`.
"""

from tabsession._version import __version__
from tabsession.async_client import AsyncClient
from tabsession.auth.breaker import Breaker
from tabsession.auth.credentials import (
    JWT,
    ConnectedAppJWT,
    Credential,
    Password,
    PersonalAccessToken,
)
from tabsession.auth.policy import SessionPolicy
from tabsession.client import Client
from tabsession.errors import (
    BadRequest,
    BodyNotReplayable,
    ConfigurationError,
    Conflict,
    ContentionWarning,
    Forbidden,
    GraphQLError,
    JobCancelled,
    JobError,
    JobFailed,
    JobTimeout,
    NotFound,
    PatExpiryWarning,
    RateLimited,
    ResponseError,
    ResponseTooLarge,
    ServerError,
    SessionContention,
    SessionExpired,
    SignInFailed,
    SiteMismatch,
    StoreUnavailable,
    TableauError,
    TabsessionWarning,
    TransportError,
    VersionNegotiationFailed,
)
from tabsession.session import SessionInfo
from tabsession.stores import AsyncFileStore, AsyncMemoryStore, FileStore, MemoryStore
from tabsession.transport.retry import RetryPolicy

__all__ = [
    "JWT",
    "AsyncClient",
    "AsyncFileStore",
    "AsyncMemoryStore",
    "BadRequest",
    "BodyNotReplayable",
    "Breaker",
    "Client",
    "ConfigurationError",
    "Conflict",
    "ConnectedAppJWT",
    "ContentionWarning",
    "Credential",
    "FileStore",
    "Forbidden",
    "GraphQLError",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "MemoryStore",
    "NotFound",
    "Password",
    "PatExpiryWarning",
    "PersonalAccessToken",
    "RateLimited",
    "ResponseError",
    "ResponseTooLarge",
    "RetryPolicy",
    "ServerError",
    "SessionContention",
    "SessionExpired",
    "SessionInfo",
    "SessionPolicy",
    "SignInFailed",
    "SiteMismatch",
    "StoreUnavailable",
    "TableauError",
    "TabsessionWarning",
    "TransportError",
    "VersionNegotiationFailed",
    "__version__",
]
