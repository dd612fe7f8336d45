"""What the proxy itself answers, in Tableau's shapes: sign-in credentials and error bodies, as
XML (Tableau's default) or JSON (when the client accepts JSON), like the server would."""

from __future__ import annotations

import json
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "BAD_TOKEN",
    "NO_TOKEN",
    "SIGN_IN_ERROR",
    "ErrorAnswer",
    "Format",
    "credentials_body",
    "d_hh_mm",
    "error_body",
    "format_for",
    "media_type",
]

NAMESPACE = "http://tableau.com/api"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

Format = Literal["xml", "json"]


def format_for(accept: str | None) -> Format:
    """JSON when the client accepts it explicitly, else XML (Tableau's default)."""
    return "json" if accept and "json" in accept.lower() else "xml"


def media_type(fmt: Format) -> str:
    return "application/json" if fmt == "json" else "application/xml;charset=utf-8"


def _xml_document(inner: str, version: str) -> bytes:
    xsd = f"https://help.tableau.com/samples/en-us/rest_api/ts-api_{version.replace('.', '_')}.xsd"
    head = (
        f"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns={quoteattr(NAMESPACE)} "
        f"xmlns:xsi={quoteattr(XSI)} xsi:schemaLocation={quoteattr(NAMESPACE + ' ' + xsd)}>"
    )
    return (head + inner + "</tsResponse>").encode()


def error_body(code: str, summary: str, detail: str, fmt: Format, version: str) -> bytes:
    """`<error code><summary/><detail/></error>` or `{"error": {...}}` (code as a string)."""
    if fmt == "json":
        return json.dumps({"error": {"summary": summary, "detail": detail, "code": code}}).encode()
    inner = (
        f"<error code={quoteattr(code)}><summary>{escape(summary)}</summary>"
        f"<detail>{escape(detail)}</detail></error>"
    )
    return _xml_document(inner, version)


def credentials_body(
    *,
    token: str,
    site_id: str,
    content_url: str,
    user_id: str,
    fmt: Format,
    version: str,
    time_to_expiration: str | None = None,
) -> bytes:
    """A sign-in answer: the token, the site (LUID and contentUrl) and the user LUID."""
    if fmt == "json":
        credentials: dict[str, object] = {
            "site": {"id": site_id, "contentUrl": content_url},
            "user": {"id": user_id},
            "token": token,
        }
        if time_to_expiration:
            credentials["estimatedTimeToExpiration"] = time_to_expiration
        return json.dumps({"credentials": credentials}).encode()
    expiry = (
        f" estimatedTimeToExpiration={quoteattr(time_to_expiration)}" if time_to_expiration else ""
    )
    inner = (
        f"<credentials token={quoteattr(token)}{expiry}>"
        f"<site id={quoteattr(site_id)} contentUrl={quoteattr(content_url)}/>"
        f"<user id={quoteattr(user_id)}/></credentials>"
    )
    return _xml_document(inner, version)


def d_hh_mm(seconds: float) -> str:
    """Seconds → Tableau's `estimatedTimeToExpiration` form, days:hours:minutes."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days}:{hours:02d}:{minutes:02d}"


NO_TOKEN = ("401000", "Unauthorized Access", "No authentication credentials were provided.")
BAD_TOKEN = ("401002", "Unauthorized Access", "Invalid authentication credentials were provided.")
SIGN_IN_ERROR = ("401001", "Signin Error", "Error signing in to Tableau Server")


class ErrorAnswer(Exception):
    """An error answer in Tableau's shape (status, code, summary, detail, extra headers),
    raised from deep inside a handler and rendered by the app in the format asked for."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        detail: str,
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.summary, self.detail, self.extra = (
            status, code, summary, detail, extra,
        )  # fmt: skip
