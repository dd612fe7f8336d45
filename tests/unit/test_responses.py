"""Reading Tableau's answers: success payloads, error bodies in every shape Tableau and the
proxies in front of it send, hostile XML, and the status → error class mapping."""

from __future__ import annotations

import json
import time

import pytest

from tabsession._httpx import Headers
from tabsession._responses import ErrorBody, error_for_response, parse_error_body, parse_payload
from tabsession._xml import XmlError
from tabsession.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ResponseError,
    ServerError,
    SessionExpired,
)

NS = "http://tableau.com/api"
LEGACY_NS = "http://tableausoftware.com/api"


def tableau_error(code: str, summary: str, detail: str, ns: str = NS) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"{ns}\" "
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{ns} https://help.tableau.com/x.xsd">'
        f'<error code="{code}"><summary>{summary}</summary><detail>{detail}</detail></error>'
        "</tsResponse>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<tsResponse xmlns="http://tableau.com/api"><error code="&lol9;">
<summary>&lol9;</summary><detail>&lol9;</detail></error></tsResponse>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE tsResponse [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<tsResponse xmlns="http://tableau.com/api"><error code="401002">
<summary>&xxe;</summary><detail>x</detail></error></tsResponse>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE tsResponse SYSTEM "http://127.0.0.1:9/evil.dtd">
<tsResponse xmlns="http://tableau.com/api"><error code="401002">
<summary>s</summary><detail>d</detail></error></tsResponse>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<tsResponse xmlns="http://tableau.com/api"><error code="1"/></tsResponse>"""

HOSTILE = pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY]
)


# -- parse_payload ---------------------------------------------------------------------------------


def test_payload_json() -> None:
    body = json.dumps({"project": {"id": "p1", "name": "Sales"}}).encode()
    assert parse_payload(body, "application/json;charset=utf-8") == {
        "project": {"id": "p1", "name": "Sales"}
    }


def test_payload_json_without_content_type_is_sniffed() -> None:
    assert parse_payload(b'  {"a": "1"}', "") == {"a": "1"}
    assert parse_payload(b"[1, 2]", "") == [1, 2]


def test_payload_xml_becomes_the_json_shape() -> None:
    body = (
        f'<tsResponse xmlns="{NS}"><pagination pageNumber="1" pageSize="100" totalAvailable="1"/>'
        '<projects><project id="p1" name="Sales"/></projects></tsResponse>'
    ).encode()
    expected = {
        "pagination": {"pageNumber": "1", "pageSize": "100", "totalAvailable": "1"},
        "projects": {"project": [{"id": "p1", "name": "Sales"}]},
    }
    assert parse_payload(body, "application/xml;charset=utf-8") == expected
    assert parse_payload(body, "") == expected  # sniffed
    assert parse_payload(body, "text/xml") == expected


@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n\t"])
def test_payload_empty_is_none(body: bytes) -> None:
    assert parse_payload(body, "application/json") is None
    assert parse_payload(body, "") is None


def test_payload_binary_is_returned_as_bytes() -> None:
    blob = bytes(range(256)) * 4
    assert parse_payload(blob, "application/octet-stream") == blob
    twbx = b"PK\x03\x04" + b"\x00" * 40
    assert parse_payload(twbx, "") == twbx


@HOSTILE
def test_payload_hostile_xml_is_refused_without_expansion(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(XmlError):
        parse_payload(body, "application/xml")
    assert time.perf_counter() - started < 2.0  # refused, not expanded


# -- parse_error_body ------------------------------------------------------------------------------


def test_error_body_tableau_xml() -> None:
    body = tableau_error("401002", "Unauthorized Access", "Invalid authentication credentials.")
    assert parse_error_body(body, "application/xml;charset=utf-8") == ErrorBody(
        "401002", "Unauthorized Access", "Invalid authentication credentials."
    )
    assert parse_error_body(body, "") == ErrorBody(
        "401002", "Unauthorized Access", "Invalid authentication credentials."
    )


def test_error_body_legacy_namespace() -> None:
    body = tableau_error("404000", "Site not found", "No such site.", ns=LEGACY_NS)
    assert parse_error_body(body, "text/xml") == ErrorBody(
        "404000", "Site not found", "No such site."
    )


def test_error_body_without_namespace() -> None:
    body = b'<tsResponse><error code="400000"><summary>Bad</summary></error></tsResponse>'
    assert parse_error_body(body, "application/xml") == ErrorBody("400000", "Bad", None)


def test_error_element_in_a_foreign_namespace_is_not_tableaus() -> None:
    body = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><soap:error code="999"><soap:summary>nope</soap:summary></soap:error>'
        b"</soap:Body></soap:Envelope>"
    )
    assert parse_error_body(body, "text/xml").code is None


def test_error_body_json_code_as_string() -> None:
    body = json.dumps(
        {"error": {"summary": "Bad Request", "detail": "Payload is malformed", "code": "400000"}}
    ).encode()
    assert parse_error_body(body, "application/json") == ErrorBody(
        "400000", "Bad Request", "Payload is malformed"
    )


def test_error_body_json_numeric_code_becomes_a_string() -> None:
    body = b'{"error": {"code": 409006, "summary": "Conflict"}}'
    found = parse_error_body(body, "application/json")
    assert found.code == "409006"
    assert isinstance(found.code, str)
    assert (found.summary, found.detail) == ("Conflict", None)


def test_error_body_is_read_whatever_the_declared_type() -> None:
    xml = tableau_error("403004", "Forbidden", "No.")
    assert parse_error_body(xml, "application/json").code == "403004"
    as_json = b'{"error": {"code": "404003", "summary": "Resource Not Found"}}'
    assert parse_error_body(as_json, "application/xml").code == "404003"


def test_error_body_html_title_becomes_the_summary() -> None:
    page = (
        b"<!DOCTYPE html><html><head><meta charset='utf-8'>"
        b"<title>502 Bad   Gateway</title></head><body><h1>Bad Gateway</h1><br></body></html>"
    )
    assert parse_error_body(page, "text/html; charset=utf-8") == ErrorBody(
        summary="502 Bad Gateway"
    )
    upper = b"<HTML><HEAD><TITLE>Service Unavailable</TITLE></HEAD></HTML>"
    assert parse_error_body(upper, "text/html").summary == "Service Unavailable"


def test_error_body_long_text_is_clipped() -> None:
    body = json.dumps({"error": {"code": "500000", "summary": "x" * 5000}}).encode()
    summary = parse_error_body(body, "application/json").summary
    assert summary is not None
    assert len(summary) <= 300


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"   \n", "application/xml"),
        (b"garbage", "application/json"),
        (b"{not json", "application/json"),
        (b"<tsResponse><error code='1'", "application/xml"),  # truncated
        (b'{"error": "just a string"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"\xff\xfe\x00binary", "application/octet-stream"),
        (b"<html><body>no title</body></html>", "text/html"),
        (b"<tsResponse xmlns='http://tableau.com/api'><ok/></tsResponse>", "application/xml"),
    ],
)
def test_error_body_unreadable_is_empty_and_never_raises(body: bytes, content_type: str) -> None:
    assert parse_error_body(body, content_type) == ErrorBody()


@HOSTILE
@pytest.mark.parametrize("content_type", ["application/xml", "text/html", ""])
def test_error_body_hostile_xml_is_refused_without_expansion(
    body: bytes, content_type: str
) -> None:
    started = time.perf_counter()
    found = parse_error_body(body, content_type)
    assert time.perf_counter() - started < 2.0
    assert found.code is None  # the entity-laden error element was not read
    for text in (found.code, found.summary, found.detail):
        assert text is None or ("lollol" not in text and "root:" not in text)


# -- error_for_response ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, SessionExpired),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (405, ResponseError),
        (408, ResponseError),
        (418, ResponseError),
    ],
)
def test_error_class_follows_the_status(status: int, cls: type[ResponseError]) -> None:
    body = tableau_error(f"{status}000", "Summary", "Detail")
    error = error_for_response(
        status, Headers({"content-type": "application/xml"}), body,
        method="GET", url="https://t.example/api/3.23/x", now=0.0,
    )  # fmt: skip
    assert type(error) is cls
    assert (error.status, error.code, error.summary, error.detail) == (
        status,
        f"{status}000",
        "Summary",
        "Detail",
    )
    assert (error.method, error.url) == ("GET", "https://t.example/api/3.23/x")


def test_status_wins_over_the_code() -> None:
    # a 404 whose body claims a 401 code is still NotFound: classify by status first
    body = tableau_error("401002", "Unauthorized Access", "Invalid")
    error = error_for_response(404, Headers(), body, method="GET", url="u", now=0)
    assert type(error) is NotFound
    assert error.code == "401002"


def test_rate_limited_carries_retry_after() -> None:
    error = error_for_response(
        429, Headers({"Retry-After": "7"}), b"", method="POST", url="u", now=0.0
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    assert error.code is None


def test_rate_limited_retry_after_http_date_and_absent() -> None:
    dated = error_for_response(
        429, Headers({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}), b"",
        method="GET", url="u", now=40.0,
    )  # fmt: skip
    assert isinstance(dated, RateLimited)
    assert dated.retry_after == pytest.approx(60.0)
    plain = error_for_response(429, Headers(), b"", method="GET", url="u", now=0.0)
    assert isinstance(plain, RateLimited)
    assert plain.retry_after is None


def test_html_server_error_has_the_title_as_summary() -> None:
    page = b"<html><head><title>504 Gateway Time-out</title></head><body></body></html>"
    error = error_for_response(
        504, Headers({"content-type": "text/html"}), page, method="GET", url="u", now=0
    )
    assert isinstance(error, ServerError)
    assert (error.code, error.summary) == (None, "504 Gateway Time-out")
    assert "504 Gateway Time-out" in str(error)


# -- hostile bodies: every failure is a ValueError, never a RecursionError ----------------------

DEEP = 100_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * DEEP + b"]" * DEEP, "application/json"),
        (b'{"a": ' * DEEP + b"1" + b"}" * DEEP, ""),
        (b"<r>" + b"<a>" * DEEP + b"</a>" * DEEP + b"</r>", "application/xml"),
    ],
)
def test_deeply_nested_payloads_are_refused_as_value_errors(body: bytes, content_type: str) -> None:
    with pytest.raises(ValueError, match="nested"):
        parse_payload(body, content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"error": ' * DEEP + b"1" + b"}" * DEEP, "application/json"),
        (b"[" * DEEP + b"]" * DEEP, ""),
        (b"<tsResponse>" + b"<a>" * DEEP + b"</a>" * DEEP + b"</tsResponse>", "text/xml"),
        (b'{"error": {"code": 400, "summary": [[["x"]]], "detail": {"a": 1}}}', "application/json"),
    ],
)
def test_deep_or_odd_error_bodies_never_raise(body: bytes, content_type: str) -> None:
    found = parse_error_body(body, content_type)
    assert found.summary is None
    assert found.detail is None
