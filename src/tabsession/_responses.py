"""Reading Tableau's answers: payloads in JSON or XML, and error bodies in XML, JSON, HTML or
nothing at all. Classification goes by HTTP status first, Tableau code second, never by text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tabsession._xml import TABLEAU_NAMESPACES, XmlError, local_name, parse, xml_to_dict
from tabsession.errors import RateLimited, ResponseError, ServerError, error_class_for_status
from tabsession.transport.retry import parse_retry_after

__all__ = [
    "ATTEMPTS",
    "ErrorBody",
    "attempts_of",
    "error_for_response",
    "load_json",
    "parse_error_body",
    "parse_payload",
    "read_payload",
]

_MAX_TEXT = 300
ATTEMPTS = "tabsession.attempts"
"""The response extension where the sender notes (attempts, seconds) of the exchange."""


def attempts_of(response: Any) -> tuple[int, float] | None:
    """(how many sends, over how many seconds) that produced `response`, when the sender said."""
    value = getattr(response, "extensions", {}).get(ATTEMPTS)
    return value if isinstance(value, tuple) else None


def _kind(content_type: str) -> str:
    lowered = content_type.lower()
    if "json" in lowered:
        return "json"
    if "xml" in lowered:
        return "xml"
    if "html" in lowered:
        return "html"
    return ""


def load_json(content: bytes) -> Any:
    """`json.loads` whose every failure is a ValueError (deep nesting included)."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("refused JSON nested too deeply") from None


def parse_payload(content: bytes, content_type: str) -> Any:
    """A successful body → parsed JSON (XML converted to the same shape), None when empty, and
    the raw bytes for anything else (downloads). Raises ValueError (only) for unreadable JSON
    or XML: malformed, unsafe (entities, DTDs) or nested too deeply."""
    if not content.strip():
        return None
    kind = _kind(content_type)
    if kind == "json" or (not kind and content.lstrip()[:1] in (b"{", b"[")):
        return load_json(content)
    if kind == "xml" or (not kind and content.lstrip()[:1] == b"<"):
        return xml_to_dict(content)
    return content


def read_payload(response: Any, *, method: str, url: str) -> Any:
    """`parse_payload` of an `httpx.Response`, with unreadable bodies raised as ResponseError."""
    content_type = response.headers.get("content-type", "")
    try:
        return parse_payload(response.content, content_type)
    except ValueError as exc:  # bad JSON, unsafe or malformed XML, bad encoding, too deep
        raise ResponseError(
            f"HTTP {response.status_code} answer could not be read as "
            f"{content_type or 'JSON or XML'}: {exc}",
            status=response.status_code,
            method=method,
            url=url,
        ) from None


@dataclass(frozen=True)
class ErrorBody:
    code: str | None = None
    summary: str | None = None
    detail: str | None = None


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _scalar(value: Any) -> str | None:
    """A JSON field as text; None for absent fields and for lists or objects (not Tableau's)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _from_json(content: bytes) -> ErrorBody | None:
    try:
        data = load_json(content)
    except ValueError:  # UnicodeDecodeError included
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    code, summary, detail = (_scalar(error.get(k)) for k in ("code", "summary", "detail"))
    return ErrorBody(code, _clip(summary), _clip(detail))


def _from_xml(content: bytes) -> ErrorBody | None:
    try:
        root = parse(content)
    except XmlError:
        return None
    error = None
    for element in root.iter():
        namespaced = element.tag.startswith("{")
        if local_name(element.tag) == "error" and (
            not namespaced or element.tag[1:].split("}")[0] in TABLEAU_NAMESPACES
        ):
            error = element
            break
    if error is None:
        return None
    texts = {local_name(child.tag): (child.text or "").strip() for child in error}
    return ErrorBody(error.get("code"), _clip(texts.get("summary")), _clip(texts.get("detail")))


def parse_error_body(content: bytes, content_type: str) -> ErrorBody:
    """Tableau's `<error code><summary/><detail/></error>` or `{"error": {...}}`; for HTML pages
    (proxies, maintenance) the page title as summary; empty otherwise. Never raises."""
    stripped = content.strip()
    if not stripped:
        return ErrorBody()
    kind = _kind(content_type)
    for reader in (_from_json, _from_xml) if kind != "xml" else (_from_xml, _from_json):
        found = reader(stripped)
        if found is not None:
            return found
    if kind == "html" or stripped[:1] == b"<":
        text = stripped.decode("utf-8", "replace")
        start, end = text.lower().find("<title>"), text.lower().find("</title>")
        if 0 <= start < end:
            return ErrorBody(summary=_clip(text[start + 7 : end]))
    return ErrorBody()


def error_for_response(
    status: int,
    headers: Any,
    content: bytes,
    *,
    method: str,
    url: str,
    now: float,
    attempts: tuple[int, float] | None = None,
) -> ResponseError:
    """The error to raise for an error response (401 maps to SessionExpired; callers handle
    the sign-in and site-mismatch cases, which need to know the request)."""
    body = parse_error_body(content, headers.get("content-type", ""))
    cls = error_class_for_status(status)
    extra: dict[str, Any] = {}
    if cls is RateLimited:
        extra["retry_after"] = parse_retry_after(headers.get("retry-after"), now)
    if cls is ServerError and attempts is not None:
        extra["attempts"], extra["elapsed"] = attempts
    return cls(
        status=status,
        code=body.code,
        summary=body.summary,
        detail=body.detail,
        method=method,
        url=url,
        **extra,
    )
