"""Fuzzing response parsing: whatever a server sends (body, headers, encoding), tabsession
raises a `TableauError` subclass, never anything else; the pure readers fail only in the way
they document (ValueError/XmlError for unreadable payloads, nothing at all for error bodies).

The last test sends the fuzzed answers over real HTTP (a raw loopback server) through
`Client`, which covers the bounded reader, the parsers and the error mapping together."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabsession import Client, TableauError
from tabsession._responses import (
    ErrorBody,
    error_for_response,
    load_json,
    parse_error_body,
    parse_payload,
    read_payload,
)
from tabsession._xml import XmlError, xml_to_dict
from tabsession.errors import ResponseError
from tabsession.pagination import read_page
from tabsession.testing import instant_waits
from tabsession.transport.bounds import BodyReader, Bounds
from tabsession.transport.retry import parse_retry_after
from tests.integration._support import pat
from tests.reliability._hostile import Request, Writer, head, hostile, normal

from ._budget import examples
from ._strategies import CONTENT_TYPES, bodies, encoded, header_values, xml_documents

content_types = st.sampled_from(CONTENT_TYPES) | st.text(max_size=30)
STATUSES = [200, 201, 202, 204, 206, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 406, 409,
            410, 413, 429, 500, 501, 502, 503, 504, 599]  # fmt: skip
statuses = st.sampled_from(STATUSES)


def wire_headers(fields: dict[str, str]) -> httpx.Headers:
    """Headers as they come off the wire: bytes, whatever characters they hold."""
    return httpx.Headers([(k.encode(), v.encode("utf-8", "replace")) for k, v in fields.items()])


@examples(1.0)
@given(bodies(), content_types)
def test_parse_payload_raises_only_value_error(body: bytes, content_type: str) -> None:
    with contextlib.suppress(ValueError):
        parse_payload(body, content_type)


@examples(0.5)
@given(bodies())
def test_load_json_raises_only_value_error(body: bytes) -> None:
    with contextlib.suppress(ValueError):
        load_json(body)


@examples(0.5)
@given(xml_documents() | st.text(max_size=200))
def test_xml_to_dict_raises_only_xml_error(document: str) -> None:
    for data in (document, document.encode("utf-8", "surrogatepass")):
        with contextlib.suppress(XmlError):
            assert isinstance(xml_to_dict(data), dict)


@examples(1.0)
@given(bodies(), content_types)
def test_parse_error_body_never_raises(body: bytes, content_type: str) -> None:
    found = parse_error_body(body, content_type)
    assert isinstance(found, ErrorBody)
    for text in (found.summary, found.detail):
        assert text is None or len(text) <= 300


@examples(1.0)
@given(statuses.filter(lambda s: s >= 400), bodies(), content_types, header_values)
def test_error_for_response_always_returns_a_typed_error(
    status: int, body: bytes, content_type: str, retry_after: str
) -> None:
    headers = wire_headers({"content-type": content_type, "retry-after": retry_after})
    error = error_for_response(status, headers, body, method="GET", url="http://x/y", now=1e9)
    assert isinstance(error, ResponseError)
    assert error.status == status
    str(error), repr(error)  # rendering never fails either


@examples(0.5)
@given(header_values | st.none(), st.floats(0, 4e9))
def test_retry_after_is_none_or_a_finite_wait(value: str | None, now: float) -> None:
    wait = parse_retry_after(value, now)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


@examples(1.0)
@given(statuses, bodies(), content_types)
def test_read_payload_raises_only_response_error(
    status: int, body: bytes, content_type: str
) -> None:
    headers = wire_headers({"content-type": content_type})
    response = httpx.Response(status, headers=headers, content=body)
    try:
        data = read_payload(response, method="GET", url="http://x/y")
    except ResponseError:
        return
    with contextlib.suppress(TableauError):
        read_page(data)


@st.composite
def raw_answers(draw: st.DrawFn) -> tuple[dict[str, str], bytes, list[int]]:
    body = draw(bodies())
    coding, wire = draw(encoded(body))
    headers = {"content-type": draw(content_types.filter(str.isprintable))}
    if coding:
        headers["content-encoding"] = coding
    if draw(st.booleans()):
        headers["content-length"] = draw(
            st.sampled_from([str(len(wire)), "0", "-5", "x", "9" * 30])
        )
    cuts = sorted(draw(st.lists(st.integers(0, len(wire)), max_size=4)))
    return headers, wire, cuts


@examples(1.0)
@given(raw_answers(), st.sampled_from([None, 64, 10_000, 1 << 20]))
def test_the_bounded_reader_raises_only_tableau_errors(
    answer: tuple[dict[str, str], bytes, list[int]], cap: int | None
) -> None:
    headers, wire, cuts = answer
    request = httpx.Request("GET", "http://127.0.0.1/api/3.23/x")
    reader = BodyReader(Bounds(max_body=cap), deadline=100.0, request=request)
    try:
        reader.start(httpx.Response(200, headers=wire_headers(headers), request=request))
        start = 0
        for cut in [*cuts, len(wire)]:
            reader.feed(wire[start:cut], now=1.0)
            start = cut
        response = reader.finish()
    except TableauError:
        return
    assert cap is None or len(response.content) <= cap


# -- end to end: fuzzed answers over real HTTP through Client --------------------------------

_TARGETS = ("serverinfo", "auth/signin", "projects")


class Answer:
    """The answer the raw server gives for `target` (set by each example)."""

    target = "projects"
    status = 200
    headers: dict[str, str] = {}  # noqa: RUF012
    body = b""


async def _fuzzed(request: Request, writer: Writer) -> None:
    path = request.path.split("?")[0]
    if not path.endswith(Answer.target):
        await normal(request, writer)
        return
    headers = {**Answer.headers, "Content-Length": str(len(Answer.body))}
    writer.write(head(Answer.status, headers) + Answer.body)


@pytest.fixture(scope="module")
def server() -> Any:
    with hostile(_TARGETS, _fuzzed) as running:
        yield running


@st.composite
def http_answers(draw: st.DrawFn) -> tuple[str, int, dict[str, str], bytes]:
    body = draw(bodies())
    coding, wire = draw(encoded(body))
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES))}
    if coding:
        headers["Content-Encoding"] = coding
    for name in draw(st.lists(st.sampled_from(["Retry-After", "Location", "X-Extra"]), max_size=2)):
        headers[name] = draw(header_values.filter(lambda v: v.strip() == v and v))
    return draw(st.sampled_from(_TARGETS)), draw(statuses), headers, wire


@examples(0.6)
@given(http_answers())
def test_the_client_turns_any_answer_into_data_or_a_typed_error(
    server: Any, answer: tuple[str, int, dict[str, str], bytes]
) -> None:
    Answer.target, Answer.status, Answer.headers, Answer.body = answer
    client = Client(server.url, pat(), timeout=10, max_body=1 << 20)
    with instant_waits(), client as tab, contextlib.suppress(TableauError):
        tab.get("projects")


def test_the_fuzzed_server_answers_normally_between_examples(server: Any) -> None:
    Answer.target = "nothing-matches"
    with Client(server.url, pat()) as tab:
        assert tab.get("projects")["projects"]["project"][0]["id"] == "p1"
