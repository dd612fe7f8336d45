"""Reading a request body with a ceiling, so no single request can make the emulator hold more
than `MAX_BODY_BYTES` (a 64 MB publish plus room for its multipart framing and payload)."""

from __future__ import annotations

from starlette.requests import Request

from tabsession.emulator.state.errors import ApiError

__all__ = ["MAX_BODY_BYTES", "read_body"]

MAX_BODY_BYTES = 65 * 1024 * 1024


def _too_large() -> ApiError:
    return ApiError(
        413,
        "413000",
        "Payload Too Large",
        "The request body is larger than one request may carry; publish large files in "
        "chunks (fileUploads).",
    )


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed `limit` (default
    `MAX_BODY_BYTES`), from Content-Length or while it streams in."""
    if limit is None:
        limit = MAX_BODY_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)
