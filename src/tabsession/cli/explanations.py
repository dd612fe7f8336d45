"""What a Tableau error means and what to do about it, offline.

`read_error(text)` finds the HTTP status and the Tableau code in an error body as people paste
it: Tableau's XML (also as mangled as in the vendor's support articles: a missing `<`, a wrong
xsi URL), JSON (`{"error": {"code": "401002", ...}}`), an HTML error page, a log line, or just
"401002". `explain(status, code)` classifies by status first, code second (never by text) and
says the cause and the fix in the vendor's terms.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

__all__ = ["Explanation", "ReadError", "explain", "one_line", "read_error"]


@dataclass(frozen=True)
class ReadError:
    """What could be read from an error body."""

    status: int | None = None
    code: str | None = None
    summary: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Explanation:
    kind: str
    """session, sign-in, site, bad-request, permission, not-found, conflict, throttled, server,
    unknown."""
    title: str
    cause: str
    fix: str
    meaning: str = ""
    """A few words for a one-line summary (`one_line`)."""


_CODE = re.compile(r"""code\s*=\s*["']?(\d{6})""", re.IGNORECASE)
_BARE_CODE = re.compile(r"\b([1-5]\d\d\d\d\d)\b")
_STATUS = re.compile(r"\b(?:HTTP(?:/[\d.]+)?|status(?:[ _]code)?)\s*[:=]?\s*([1-5]\d\d)\b", re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _tag(name: str, text: str) -> str | None:
    found = re.search(rf"<(?:\w+:)?{name}\s*>(.*?)</(?:\w+:)?{name}\s*>", text, re.I | re.DOTALL)
    if found is None:
        return None
    return " ".join(html.unescape(found.group(1)).split()) or None


def _from_json(text: str) -> ReadError | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start:])
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    code_text = None if code is None else str(code)
    return ReadError(
        status=int(code_text[:3]) if code_text and code_text.isdecimal() else None,
        code=code_text,
        summary=None if error.get("summary") is None else str(error["summary"]),
        detail=None if error.get("detail") is None else str(error["detail"]),
    )


def read_error(text: str) -> ReadError:
    """Status, code, summary and detail from any error text. Never raises; the regular
    expressions are tolerant on purpose (this reads pasted text, not live answers)."""
    found = _from_json(text)
    status_match = _STATUS.search(text)
    status = int(status_match.group(1)) if status_match else None
    if found is not None:
        return (
            found if status is None else ReadError(status, found.code, found.summary, found.detail)
        )
    code_match = _CODE.search(text) or _BARE_CODE.search(text)
    code = code_match.group(1) if code_match else None
    summary, detail = _tag("summary", text), _tag("detail", text)
    if summary is None and (title := _TITLE.search(text)):
        summary = " ".join(html.unescape(title.group(1)).split()) or None
    if status is None and code is not None:
        status = int(code[:3])
    if status is None and summary:  # an HTML page titled "503 Service Unavailable"
        leading = re.match(r"\s*([1-5]\d\d)\b", summary)
        status = int(leading.group(1)) if leading else None
    return ReadError(status, code, summary, detail)


_SIGN_IN_AGAIN = (
    "Sign in again and send the new token in X-Tableau-Auth; get a new token before the session "
    "limit (240 idle minutes on Tableau Server by default, 120 minutes on Tableau Cloud). "
    "tabsession does both by itself."
)

_BY_CODE: dict[str, Explanation] = {
    "401000": Explanation(
        "session",
        "401000 Unauthorized Access: no usable token",
        "The request carried no X-Tableau-Auth token, or one the server could not read; Tableau "
        "also answers this way for an expired session.",
        _SIGN_IN_AGAIN,
        "no usable token was sent (Tableau also says it for an expired session)",
    ),
    "401001": Explanation(
        "sign-in",
        "401001 Signin Error: the sign-in was refused",
        "Wrong user name or password, an expired or revoked personal access token, or a site "
        "contentUrl that does not exist (the contentUrl is the name in the browser's "
        "/#/site/<contentUrl>/ path, not the site's display name or LUID).",
        "Fix the credentials or the site; do not retry in a loop (accounts lock out). A PAT "
        "expires after 15 days unused: create a new one in My Account Settings.",
    ),
    "401002": Explanation(
        "session",
        "401002 Unauthorized Access: the token is not a live session any more",
        "The session expired, was signed out, or was ended by another sign-in with the same "
        "personal access token (a PAT allows one session at a time).",
        _SIGN_IN_AGAIN + " Jobs sharing a PAT must share its session (tabsession's FileStore or "
        "RedisStore) or use one PAT each.",
        "the token is no longer a live session (it expired, was signed out, or another "
        "sign-in with the same PAT ended it)",
    ),
    "403999": Explanation(
        "site",
        "403999: the token was used on another site's URL (tabsession emulator)",
        "The URL names a site LUID other than the one the session is signed in to.",
        "Use the site id returned by the sign-in (tabsession fills it in for relative paths), "
        "or sign in to the other site.",
    ),
    "403014": Explanation(
        "bad-request",
        "403014 Page size limit exceeded",
        "pageSize is larger than the maximum (1000).",
        "Ask for at most 1000 items per page. This is not an authentication problem.",
    ),
    "403069": Explanation(
        "permission",
        "403069: listing sites is not supported (Tableau Cloud)",
        "GET /sites works on Tableau Server only.",
        "On Tableau Cloud, work with the site you signed in to.",
    ),
    "400006": Explanation(
        "bad-request",
        "400006 Invalid page number",
        "pageNumber is not a whole number, is below 1, or is past the last page.",
        "Fix the request (stop at totalAvailable / pageSize), not the authentication.",
    ),
    "400007": Explanation(
        "bad-request",
        "400007 Invalid page size",
        "pageSize is not a whole number or is below 1.",
        "Fix the request, not the authentication: do not sign in again.",
    ),
    "404000": Explanation(
        "site",
        "404000 Site not found",
        "The site id in the URL is not an existing site's LUID (a contentUrl or a display "
        "name where the LUID belongs?).",
        "Use the site id from the sign-in answer (credentials.site.id).",
    ),
    "404003": Explanation(
        "not-found",
        "404003 Resource Not Found: unknown resource for this API version",
        "The path does not exist, or not in this REST API version.",
        "Check the path and the version (GET /api/<version>/serverinfo tells the server's).",
    ),
    "405000": Explanation(
        "bad-request",
        "405000 Method Not Allowed",
        "The method is wrong for this resource; for a sign-in, usually an http:// URL whose "
        "redirect to https:// turned the POST into a GET.",
        "Use the method the REST reference gives (for a sign-in: the https:// URL).",
    ),
}

_BY_STATUS: dict[int, Explanation] = {
    400: Explanation(
        "bad-request",
        "400 Bad Request",
        "The request itself is wrong: a malformed or incomplete body, a bad parameter.",
        "Fix the body or the parameters, not the authentication: signing in again will not help.",
    ),
    401: Explanation(
        "session",
        "401 Unauthorized",
        "No valid token was sent: the session expired, was signed out, or was ended by another "
        "sign-in with the same personal access token.",
        _SIGN_IN_AGAIN,
    ),
    403: Explanation(
        "permission",
        "403 Forbidden",
        "Missing permissions or a limit; or, when it happens on every call, the URL names "
        "another site than the one the session is signed in to.",
        "Compare the site id in the URL with the sign-in's site id; otherwise ask an "
        "administrator for the permission. Signing in again will not help.",
    ),
    404: Explanation(
        "not-found",
        "404 Not Found",
        "The item, the site LUID in the URL, or the path for this API version does not exist.",
        "Check the ids and the path.",
    ),
    405: _BY_CODE["405000"],
    409: Explanation(
        "conflict",
        "409 Conflict",
        "The item already exists (a name clash, a user already in the group...).",
        "Use the existing item or another name; do not retry.",
    ),
    429: Explanation(
        "throttled",
        "429 Too Many Requests: throttled",
        "Too many requests, or (Tableau Cloud) too many concurrent long-running ones.",
        "Wait as long as Retry-After says (or back off exponentially with jitter), then send "
        "again; lower the concurrency.",
    ),
}

_SERVER = Explanation(
    "server",
    "5xx: a server error",
    "Tableau, or a proxy or load balancer in front of it, failed (an HTML body usually means "
    "the proxy).",
    "Retry later (idempotent calls only: GET, PUT, DELETE); check the server's status and logs.",
)

_UNKNOWN = Explanation(
    "unknown",
    "not a Tableau error I can classify",
    "No HTTP status or Tableau error code was found in the input.",
    "Paste the whole response body, or pass --status and --code.",
)


def explain(status: int | None, code: str | None) -> Explanation:
    """Classify by HTTP status first, then by Tableau code."""
    if code is not None and code in _BY_CODE:
        known = _BY_CODE[code]
        if status is None or str(status) == code[:3] or known.kind == "site":
            return known
    # isdecimal, not isdigit: '²³⁴' is digits to isdigit, and int() refuses it
    if status is None and code is not None and code[:3].isdecimal():
        status = int(code[:3])
    if status is None:
        return _UNKNOWN
    if status >= 500:
        return _SERVER
    if status == 401 and code in _BY_CODE:
        return _BY_CODE[code]
    return _BY_STATUS.get(status, _UNKNOWN)


def one_line(*codes: str) -> str:
    """What these codes mean, in one sentence (the demo's line for 401002 and 401000)."""
    parts = [f"{code} = {_BY_CODE[code].meaning or _BY_CODE[code].title}" for code in codes]
    return "; ".join(parts) + "."
