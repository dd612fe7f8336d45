"""The few ASGI messages the proxy sends, written out: plain bodies and relayed streams."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tabsession.proxy.pool import UpstreamResponse

__all__ = ["Receive", "Send", "header", "send_body", "send_relayed"]

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

SMALL_BODY = 64 * 1024
"""Answers up to this size (by Content-Length) are read whole and sent in one message; larger
or unsized ones (downloads) are relayed chunk by chunk as they arrive."""


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header `name` (lower-case bytes) in ASGI headers, as text."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("latin-1")),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_relayed(
    send: Send,
    receive: Receive,
    response: UpstreamResponse,
    headers: list[tuple[bytes, bytes]],
    *,
    head: bool,
) -> None:
    """Relay an open upstream response (bytes as received, compression included), then close
    it. A client that goes away mid-download ends the relay, and the upstream transfer with it
    (the connection is closed rather than drained)."""
    try:
        length = response.header(b"content-length")
        if head or (length is not None and length.isdigit() and int(length) <= SMALL_BODY):
            body = b"" if head else await response.read()
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": headers})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            async for chunk in response.chunks():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(0)  # buffered reads and sends never yield: let `gone` run
                if gone.done():
                    return
        finally:
            gone.cancel()
        await send({"type": "http.response.body", "body": b""})
    finally:
        await response.aclose()
