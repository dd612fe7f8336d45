"""`transport.bounds`: bodies decoded in bounded pieces, capped, and cut off at the deadline.
Pure logic: the reader is fed chunks by hand, as the clients' loops do."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import httpx
import pytest

from tabsession.errors import ConfigurationError, ResponseError, ResponseTooLarge, TransportError
from tabsession.transport.bounds import BodyReader, Bounds, request_timeouts

URL = "https://tableau.example.com/api/3.23/serverinfo"


def streamed(headers: dict[str, str], status: int = 200) -> httpx.Response:
    request = httpx.Request("GET", URL)
    return httpx.Response(status, headers=headers, request=request, stream=httpx.ByteStream(b""))


def read(
    body: bytes, headers: dict[str, str], *, max_body: int | None = 1 << 20, chunk: int = 4096
) -> httpx.Response:
    reader = BodyReader(
        Bounds(max_body=max_body), deadline=100.0, request=httpx.Request("GET", URL)
    )
    reader.start(streamed(headers))
    for start in range(0, len(body), chunk):
        reader.feed(body[start : start + chunk], now=1.0)
    return reader.finish()


def test_a_plain_body_is_kept_as_is() -> None:
    response = read(b'{"a": 1}', {"content-type": "application/json"})
    assert response.content == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda data: data),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
def test_encoded_bodies_are_decoded_and_their_headers_dropped(coding: str, encode) -> None:  # type: ignore[no-untyped-def]
    payload = b"<tsResponse>" + b"x" * 100_000 + b"</tsResponse>"
    encoded = encode(payload)
    response = read(encoded, {"content-encoding": coding, "content-length": str(len(encoded))})
    assert response.content == payload
    assert response.headers["content-length"] == str(len(payload))  # describes the content
    if coding != "identity":
        assert "content-encoding" not in response.headers


def test_an_unknown_encoding_is_refused() -> None:
    with pytest.raises(ResponseError, match="'br'"):
        read(b"...", {"content-encoding": "br"})


def test_a_corrupt_compressed_body_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="corrupt"):
        read(b"\x1f\x8b\x08\x00garbage" * 10, {"content-encoding": "gzip"})


def test_a_body_over_the_cap_raises_as_soon_as_it_crosses_it() -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        read(b"x" * 5000, {}, max_body=4096, chunk=1000)
    assert caught.value.limit == 4096
    assert caught.value.status == 200
    assert "max_body" in str(caught.value)


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    reader = BodyReader(Bounds(max_body=10), deadline=100.0, request=httpx.Request("GET", URL))
    with pytest.raises(ResponseTooLarge, match="1,000 bytes"):
        reader.start(streamed({"content-length": "1000"}))


def test_a_gzip_bomb_stops_at_the_cap_with_bounded_memory() -> None:
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # 256 MiB in ~250 KiB
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            read(bomb, {"content-encoding": "gzip"}, max_body=8 * 1024 * 1024, chunk=65536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024  # the cap plus pieces, never the 256 MiB


def test_a_chunk_after_the_deadline_ends_the_read() -> None:
    reader = BodyReader(Bounds(timeout=2.0), deadline=10.0, request=httpx.Request("GET", URL))
    reader.start(streamed({}))
    reader.feed(b"a", now=9.0)
    with pytest.raises(TransportError, match="timeout") as caught:
        reader.feed(b"b", now=10.5)
    assert caught.value.url == URL


def test_phase_timeouts_never_exceed_what_is_left() -> None:
    bounds = Bounds(timeout=60.0, connect_timeout=10.0)
    assert request_timeouts(bounds, 60.0) == {
        "connect": 10.0,
        "read": 60.0,
        "write": 60.0,
        "pool": 60.0,
    }
    assert request_timeouts(bounds, 3.0)["connect"] == 3.0
    assert request_timeouts(bounds, -1.0)["read"] > 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "64MB"])
def test_max_body_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        Bounds(max_body=bad)  # type: ignore[arg-type]


def test_a_deadline_scope_clamps_every_socket_timeout_to_what_is_left() -> None:
    from tabsession._httpx import httpcore
    from tabsession.transport.deadline import _clamp, deadline_scope

    assert _clamp(30.0, httpcore.ReadTimeout) == 30.0  # no scope: untouched
    with deadline_scope(time.monotonic() + 5.0):
        left = _clamp(30.0, httpcore.ReadTimeout)
        assert left is not None
        assert 4.0 < left <= 5.0
        assert _clamp(1.0, httpcore.ReadTimeout) == 1.0  # a shorter timeout stays
        none_left = _clamp(None, httpcore.ReadTimeout)
        assert none_left is not None
        assert none_left <= 5.0
        with deadline_scope(time.monotonic() - 1.0), pytest.raises(httpcore.WriteTimeout):
            _clamp(30.0, httpcore.WriteTimeout)
        assert _clamp(30.0, httpcore.ReadTimeout) is not None  # the outer scope is back
    assert _clamp(None, httpcore.ReadTimeout) is None


def test_no_cap_when_max_body_is_none() -> None:
    response = read(b"x" * 3_000_000, {}, max_body=None, chunk=65536)
    assert len(response.content) == 3_000_000
