"""Answers given to TSC without asking Tableau: its sign-in, switch-site and sign-out requests.

TSC reads a sign-in answer as Tableau writes it (`tsResponse/credentials` with `token`,
`site@id`, `site@contentUrl`, `user@id`), so answering its sign-in with the session tabsession
already holds lets TSC record that session through its own code.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import requests
from requests.structures import CaseInsensitiveDict

from tabsession.session import SessionInfo

__all__ = ["credentials_answer", "local_response"]

_NAMESPACE = "http://tableau.com/api"


def credentials_answer(info: SessionInfo, token: str) -> bytes:
    """The body Tableau sends for a sign-in or site switch into this session."""
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<tsResponse xmlns={quoteattr(_NAMESPACE)}>"
        f"<credentials token={quoteattr(token)}>"
        f"<site id={quoteattr(info.site_id)} contentUrl={quoteattr(info.site_content_url)}/>"
        f"<user id={quoteattr(info.user_id)}/>"
        "</credentials></tsResponse>"
    ).encode()


def local_response(
    request: requests.PreparedRequest, status: int, body: bytes = b"", reason: str = "OK"
) -> requests.Response:
    """A `requests.Response` for `request`, made here instead of received."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    if body:
        headers["Content-Type"] = "application/xml;charset=UTF-8"
    headers["Content-Length"] = str(len(body))
    response.headers = headers
    response._content = body  # requests' own way to hold a body already read
    return response
