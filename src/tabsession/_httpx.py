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
    ByteStream,
    Client,
    ConnectError,
    ConnectTimeout,
    Headers,
    HTTPError,
    HTTPTransport,
    InvalidURL,
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
    "InvalidURL",
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
    "release_request_body",
    "request_was_not_sent",
]


def request_was_not_sent(exc: BaseException) -> bool:
    """True when a transport error happened before any byte of the request reached the server.

    Such a request cannot have had an effect, so it is safe to send again whatever its method.
    """
    return isinstance(exc, (ConnectError, ConnectTimeout, PoolTimeout))


def release_request_body(request: Request) -> None:
    """Let go of a sent request's body. httpx keeps each response in reference cycles (the
    response and its stream, the connection pool's record of the request) that hold the
    request's byte stream, so a large body (an upload block) would stay in memory until a full
    garbage collection. The stream object is shared with httpcore's copy of the request, so it
    is emptied in place."""
    stream = request.stream
    if isinstance(stream, ByteStream) and hasattr(stream, "_stream"):
        stream._stream = b""
    if "_content" in vars(request):
        request._content = b""
