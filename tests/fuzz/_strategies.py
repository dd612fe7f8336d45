"""Hypothesis strategies for hostile HTTP: bodies that look almost right (JSON, XML, Tableau's
error shapes, HTML), header values, compressed bodies, URL paths and query values."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from hypothesis import strategies as st

CONTENT_TYPES = [
    "", "application/json", "application/json; charset=utf-8", "application/xml",
    "text/xml; charset=iso-8859-1", "text/html", "text/plain", "application/octet-stream",
    "application/vnd.tableau+json", "JSON", "xml", "application/problem+json", "multipart/mixed",
]  # fmt: skip

_text = st.text(max_size=40)
_scalar = st.none() | st.booleans() | st.integers() | st.floats() | _text
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)

_tableau_keys = st.sampled_from(
    ["error", "code", "summary", "detail", "pagination", "pageNumber", "pageSize",
     "totalAvailable", "credentials", "token", "site", "id", "user", "workbooks", "workbook",
     "serverInfo", "restApiVersion", "productVersion"]
)  # fmt: skip
tableau_json: st.SearchStrategy[Any] = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tableau_keys, inner, max_size=4),
    max_leaves=15,
)

_names = st.sampled_from(["tsResponse", "error", "summary", "detail", "credentials", "site",
                          "pagination", "workbooks", "workbook", "x:y", "a"])  # fmt: skip
_attr_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters='"<&\x00'), max_size=12
)


@st.composite
def xml_documents(draw: st.DrawFn, depth: int = 3) -> str:
    name = draw(_names)
    attrs = draw(st.dictionaries(st.sampled_from(["code", "id", "name", "xmlns", "pageSize"]),
                                 _attr_values, max_size=3))  # fmt: skip
    rendered = "".join(f' {k}="{v}"' for k, v in attrs.items())
    if depth <= 0 or draw(st.booleans()):
        text = draw(_attr_values)
        return f"<{name}{rendered}>{text}</{name}>"
    children = draw(st.lists(xml_documents(depth - 1), max_size=3))
    return f"<{name}{rendered}>{''.join(children)}</{name}>"


HOSTILE_XML = [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
    b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>',
    b'<?xml version="1.0" encoding="nonsense"?><a/>',
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<a><b></a>",
    b'<?xml version="1.0" encoding="utf-16"?><a/>',
    b"\xef\xbb\xbf<tsResponse><error code='401002'/></tsResponse>",
]
HOSTILE_JSON = [b"[" * 100_000, b'{"a":' * 5000, b"NaN", b'"\\ud800"', b"1e999999", b"\xff\xfe{}"]


def _mutated(data: bytes, cuts: list[int], junk: bytes) -> bytes:
    out = data
    for cut in cuts:
        if out:
            at = cut % (len(out) + 1)
            out = out[:at] + junk + out[at + len(junk) :]
    return out


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A response or request body: structured, then maybe truncated or corrupted."""
    kind = draw(st.sampled_from(["json", "tableau", "xml", "raw", "hostile", "html"]))
    if kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "tableau":
        body = json.dumps(draw(tableau_json)).encode()
    elif kind == "xml":
        body = draw(xml_documents()).encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])),
                                            "replace")  # fmt: skip
    elif kind == "hostile":
        body = draw(st.sampled_from(HOSTILE_XML + HOSTILE_JSON))
    elif kind == "html":
        body = f"<html><head><title>{draw(_text)}</title></head></html>".encode("utf-8", "replace")
    else:
        body = draw(st.binary(max_size=200))
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    if draw(st.integers(0, 4)) == 0:
        body = _mutated(body, draw(st.lists(st.integers(0, 10_000), max_size=3)),
                        draw(st.binary(min_size=1, max_size=3)))  # fmt: skip
    return body


CODINGS = ["", "gzip", "deflate", "raw-deflate", "gzip, gzip", "br", "identity", "corrupt-gzip",
           "GZIP", "x-gzip, identity"]  # fmt: skip


@st.composite
def encoded(draw: st.DrawFn, body: bytes) -> tuple[str, bytes]:
    """(content-encoding header, the body under it): right, wrong, stacked or corrupt."""
    choice = draw(st.sampled_from(CODINGS))
    if choice in ("gzip", "GZIP"):
        return choice, gzip.compress(body)
    if choice == "gzip, gzip":
        return choice, gzip.compress(gzip.compress(body))
    if choice == "x-gzip, identity":
        return choice, gzip.compress(body)
    if choice == "deflate":
        return choice, zlib.compress(body)
    if choice == "raw-deflate":
        packer = zlib.compressobj(wbits=-15)
        return "deflate", packer.compress(body) + packer.flush()
    if choice == "corrupt-gzip":
        packed = bytearray(gzip.compress(body))
        packed[len(packed) // 2] ^= 0xFF
        return "gzip", bytes(packed[: draw(st.integers(0, len(packed)))])
    return choice, body


header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40
) | st.sampled_from(["120", "-1", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT", "0", "", "nan", "9" * 40])

methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
path_segments = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="/?#%"),
    min_size=1, max_size=12,
) | st.sampled_from(["..", ".", "%2e%2e", "%00", "%zz", "é", "a" * 300, "{id}", "*"])  # fmt: skip
query_values = st.text(max_size=30) | st.sampled_from(
    ["0", "-1", "1001", "99999999999999999999", "1.5", "name:eq:x", "name:in:[a,b", ":::",
     "createdAt:gt:2020-13-45T99:99:99Z", "size:desc", "name:asc,", "_all_", ""]
)  # fmt: skip
header_maps = st.dictionaries(
    st.sampled_from(
        [
            "Content-Type",
            "Accept",
            "X-Tableau-Auth",
            "Content-Length-X",
            "X-Other",
            "Accept-Encoding",
            "Range",
        ]
    ),
    header_values,
    max_size=4,
)
request_header_values = header_values.map(str.strip)
"""Header values an HTTP client will send (h11 refuses leading or trailing whitespace)."""
