"""The one place tabsession imports its HTTP library.

Every other module takes HTTP names from here, so switching to an httpx fork (or another library
with the same surface) is a change to this file alone. ruff's banned-api rule enforces it.
"""

from __future__ import annotations

import httpcore
import httpx
from httpx import (
    URL,
    AsyncBaseTransport,
    AsyncClient,
    AsyncHTTPTransport,
    BaseTransport,
    Client,
    ConnectError,
    ConnectTimeout,
    Headers,
    HTTPError,
    HTTPTransport,
    Limits,
    PoolTimeout,
    Request,
    Response,
    StreamConsumed,
    Timeout,
    TimeoutException,
    TransportError,
    create_ssl_context,
)

__all__ = [
    "URL",
    "AsyncBaseTransport",
    "AsyncClient",
    "AsyncHTTPTransport",
    "BaseTransport",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "HTTPError",
    "HTTPTransport",
    "Headers",
    "Limits",
    "PoolTimeout",
    "Request",
    "Response",
    "StreamConsumed",
    "Timeout",
    "TimeoutException",
    "TransportError",
    "create_ssl_context",
    "httpcore",
    "httpx",
    "request_was_not_sent",
]


def request_was_not_sent(exc: BaseException) -> bool:
    """True when a transport error happened before any byte of the request reached the server.

    Such a request cannot have had an effect, so it is safe to send again whatever its method.
    """
    return isinstance(exc, (ConnectError, ConnectTimeout, PoolTimeout))
