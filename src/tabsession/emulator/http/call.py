"""What a handler receives (`Call`) and returns (`Reply`), and how request bodies are read.

A handler is a plain function `Call -> Reply`: it reads the request through the `Call`, acts on
`call.state`, and returns nodes to render. Handlers keep nothing between requests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tabsession._xml import XmlError, xml_to_dict
from tabsession.emulator.http.render import Format, Node
from tabsession.emulator.state.errors import ApiError

if TYPE_CHECKING:
    from tabsession.emulator.state.auth import Session
    from tabsession.emulator.state.world import EmulatorState, Site

__all__ = ["Call", "Reply", "parse_body", "response_format"]


def response_format(accept: str) -> Format:
    """JSON when the client asks for it, XML otherwise (also for a missing Accept or `*/*`)."""
    return "json" if "application/json" in accept.lower() else "xml"


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """A `tsRequest` XML body or a JSON body → the same dict shape (`{"credentials": {...}}`).

    Any body that cannot be read is Tableau's 400000.
    """
    text = raw.strip()
    if not text:
        raise ApiError.malformed_body("the request body is empty")
    kind = content_type.lower()
    is_json = "json" in kind or (not kind.strip() and text[:1] in (b"{", b"["))
    if is_json:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise ApiError.malformed_body("the body is not valid JSON") from None
        except RecursionError:
            raise ApiError.malformed_body("the JSON body is nested too deeply") from None
        if not isinstance(data, dict):
            raise ApiError.malformed_body("the JSON body must be an object")
        return data
    try:
        return xml_to_dict(text)
    except XmlError as exc:
        raise ApiError.malformed_body(str(exc)) from None
    except RecursionError:
        raise ApiError.malformed_body("the XML body is nested too deeply") from None


@dataclass
class Call:
    state: EmulatorState
    method: str
    version: str
    path: str
    params: Mapping[str, str]
    raw_body: bytes
    content_type: str
    fmt: Format
    host: str
    scheme: str
    match: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    session: Session | None = None
    site: Site | None = None
    stale_session: bool = False

    def body(self) -> dict[str, Any]:
        return parse_body(self.raw_body, self.content_type)

    def element(self, name: str) -> dict[str, Any]:
        """The one top-level element of the body (`project`, `credentials`, ...), as a dict."""
        value = self.body().get(name)
        if not isinstance(value, dict):
            raise ApiError.malformed_body(f"the body needs a '{name}' element")
        return value

    def require_site(self) -> Site:
        if self.site is None:  # the route table guarantees a site for site-scoped routes
            raise ApiError.malformed_body("no site in the URI")
        return self.site

    def require_session(self) -> Session:
        if self.session is None:
            raise ApiError.no_credentials()
        return self.session


@dataclass
class Reply:
    """What a handler answers: nodes to render as XML or JSON, or else raw bytes (`body`) or a
    stream of them (`stream`: files, images), sent as `media_type`."""

    status: int = 200
    children: list[Node] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    media_type: str | None = None
