"""Publishing a workbook or data source: one request up to 64 MB, chunks above (shared by
`Client` and `AsyncClient`; I/O-free).

Chunked: `POST fileUploads` opens an upload session, each block goes in one
`PUT fileUploads/{id}`, and `POST workbooks?uploadSessionId=...` commits it. What can go wrong:

- a 401 at any step: the request flow signs in again and replays that step (Tableau refused
  it before acting), so the same upload goes on;
- the upload session is gone (404 on an append; on the commit, a 404 other than "project not
  found" for which an empty append to the upload gets a 404 too; e.g. a server whose uploads
  end with their auth session): the upload starts again from the first block, once;
- an append that fails ambiguously (5xx, a connection dropped after sending): Tableau may or may
  not have appended it, and appending is not idempotent, so the block is never resent to that
  upload session: a new upload session starts from the first block (`MAX_RESTARTS` times).

Memory holds one block (`chunk_size`) at a time; a file sent in one request is held once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tabsession._effects import Flow, file_size, read_block
from tabsession._httpx import Response, release_request_body
from tabsession._responses import parse_payload
from tabsession.errors import (
    ConfigurationError,
    NotFound,
    ServerError,
    TableauError,
    TransportError,
)
from tabsession.operations.multipart import encode_multipart, request_payload
from tabsession.operations.sink import Progress

if TYPE_CHECKING:
    from tabsession._core import ClientCore

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_BLOCKS",
    "MAX_CHUNK_SIZE",
    "MAX_RESTARTS",
    "SINGLE_REQUEST_LIMIT",
    "PublishSpec",
    "publish_flow",
]

SINGLE_REQUEST_LIMIT = 64 * 1024 * 1024
"""Tableau's limit for a file published in one request (larger files go in chunks)."""
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
"""8 MiB blocks: few requests, little memory. Lower it on slow or flaky links (a failed block
costs a restart), raise it (up to 64 MiB) on fast ones."""
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MAX_BLOCKS = 1000
"""Tableau limits a file to 1000 appended blocks: a bigger file gets bigger blocks."""
MAX_RESTARTS = 3
"""Upload sessions started again after ambiguous append failures, at most."""

PROJECT_NOT_FOUND = "404005"
"""Tableau's code for a project that does not exist (a commit's 404 that no restart cures)."""

Kind = Literal["workbooks", "datasources"]
_ELEMENT = {"workbooks": "workbook", "datasources": "datasource"}
_FILE_PART = {"workbooks": "tableau_workbook", "datasources": "tableau_datasource"}
_TYPE_PARAM = {"workbooks": "workbookType", "datasources": "datasourceType"}
_FILE_TYPES = {
    "workbooks": frozenset({"twb", "twbx"}),
    "datasources": frozenset({"tds", "tdsx", "tde", "hyper"}),
}
_MODES = {
    "workbooks": frozenset({"CreateNew", "Overwrite"}),
    "datasources": frozenset({"CreateNew", "Overwrite", "Append"}),
}


@dataclass(frozen=True)
class PublishSpec:
    """One publish, as the public methods were called (checked by `PublishSpec.build`)."""

    kind: Kind
    path: str
    project_id: str
    name: str
    mode: str
    as_job: bool
    chunk_size: int
    chunked_above: int
    on_progress: Progress | None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        kind: Kind,
        file: str | os.PathLike[str],
        *,
        project_id: str,
        name: str | None,
        mode: str,
        as_job: bool,
        chunk_size: int,
        chunked_above: int,
        on_progress: Progress | None,
        attributes: Mapping[str, Any],
    ) -> PublishSpec:
        path = os.fspath(file)
        if not isinstance(path, str):
            raise ConfigurationError("file must be a path (str or os.PathLike)")
        if not project_id:
            raise ConfigurationError("project_id is required (the LUID of the target project)")
        if mode not in _MODES[kind]:
            raise ConfigurationError(
                f"mode must be one of {', '.join(sorted(_MODES[kind]))} for {kind}, not {mode!r}"
            )
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
            raise ConfigurationError("chunk_size must be an integer number of bytes")
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ConfigurationError(f"chunk_size must be between 1 byte and {MAX_CHUNK_SIZE}")
        if not 0 <= chunked_above <= SINGLE_REQUEST_LIMIT:
            raise ConfigurationError(
                f"chunked_above must be between 0 and {SINGLE_REQUEST_LIMIT} (Tableau's limit)"
            )
        stem, _, ext = os.path.basename(path).rpartition(".")
        if ext.lower() not in _FILE_TYPES[kind] or not stem:
            allowed = ", ".join(f".{e}" for e in sorted(_FILE_TYPES[kind]))
            raise ConfigurationError(f"{path!r}: a {kind[:-1]} file ends with {allowed}")
        return cls(
            kind=kind,
            path=path,
            project_id=project_id,
            name=name or stem,
            mode=mode,
            as_job=as_job,
            chunk_size=chunk_size,
            chunked_above=chunked_above,
            on_progress=on_progress,
            attributes=dict(attributes),
        )

    @property
    def file_type(self) -> str:
        return self.path.rpartition(".")[2].lower()

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)

    def params(self) -> dict[str, str]:
        params = {_TYPE_PARAM[self.kind]: self.file_type}
        if self.mode == "Overwrite":
            params["overwrite"] = "true"
        elif self.mode == "Append":
            params["append"] = "true"
        if self.as_job:
            params["asJob"] = "true"
        return params

    def payload(self) -> bytes:
        return request_payload(
            _ELEMENT[self.kind],
            name=self.name,
            project_id=self.project_id,
            attributes=self.attributes,
        )

    def block_size(self, size: int) -> int:
        """`chunk_size`, or larger when the file would need more than `MAX_BLOCKS` blocks."""
        needed = math.ceil(size / MAX_BLOCKS)
        if needed > MAX_CHUNK_SIZE:
            raise ConfigurationError(
                f"{self.path!r} is too large for Tableau ({MAX_BLOCKS} blocks of 64 MiB at most)"
            )
        return max(self.chunk_size, needed)


def _multipart_headers(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type}


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def publish_flow(core: ClientCore, spec: PublishSpec) -> Flow[dict[str, Any]]:
    """Publish `spec.path`; the new item (`workbook`/`datasource` as parsed JSON), or the job
    when `spec.as_job`."""
    try:
        size = yield from file_size(spec.path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {spec.path!r}: {exc}") from None
    if size <= spec.chunked_above:
        response = yield from _single(core, spec, size)
    else:
        response = yield from _chunked(core, spec, size)
    return _result(spec, response)


def _single(core: ClientCore, spec: PublishSpec, size: int) -> Flow[Response]:
    data = yield from read_block(spec.path, 0, size)
    body, content_type = encode_multipart(
        [
            ("request_payload", None, "text/xml", spec.payload()),
            (_FILE_PART[spec.kind], spec.filename, "application/octet-stream", data),
        ]
    )
    del data
    _report(spec.on_progress, 0, size)
    response = yield from core.request_flow(
        "POST",
        spec.kind,
        params=spec.params(),
        content=body,
        headers=_multipart_headers(content_type),
    )
    _report(spec.on_progress, size, size)
    return response


def _chunked(core: ClientCore, spec: PublishSpec, size: int) -> Flow[Response]:
    block = spec.block_size(size)
    gone_restarts = ambiguous_restarts = 0
    while True:
        upload_id = yield from _open_upload(core)
        step = "append"
        try:
            offset = 0
            _report(spec.on_progress, 0, size)
            while offset < size:
                data = yield from read_block(spec.path, offset, block)
                if not data:
                    raise TableauError(f"{spec.path!r} shrank while it was being published")
                offset += len(data)
                body, content_type = _append_body(data)
                del data  # only the body stays: one copy of the block
                yield from _append(core, upload_id, body, content_type)
                del body
                _report(spec.on_progress, offset, size)
            step = "commit"
            body, content_type = encode_multipart(
                [("request_payload", None, "text/xml", spec.payload())]
            )
            return (
                yield from core.request_flow(
                    "POST",
                    spec.kind,
                    params={**spec.params(), "uploadSessionId": upload_id},
                    content=body,
                    headers=_multipart_headers(content_type),
                )
            )
        except NotFound as exc:
            if step == "commit" and (
                exc.code == PROJECT_NOT_FOUND or (yield from _upload_alive(core, upload_id))
            ):
                raise  # the 404 names something else: starting again would not help
            if gone_restarts >= 1:
                raise
            gone_restarts += 1
            reason = f"upload session gone (404 on {step})"
        except (ServerError, TransportError) as exc:
            if step != "append" or ambiguous_restarts >= MAX_RESTARTS:
                raise  # a failed commit may have published: never publish twice
            ambiguous_restarts += 1
            reason = f"ambiguous append failure ({type(exc).__name__})"
        core.events.emit(
            "upload_restart",
            f"upload {upload_id} abandoned: {reason}; starting again from the first block",
            upload_id=upload_id,
            reason=reason,
        )


def _upload_alive(core: ClientCore, upload_id: str) -> Flow[bool]:
    """Whether the upload session still exists, after a 404 on the commit: Tableau does not
    document which code says "upload session gone", so an empty block is appended to it (a
    404 again means it is gone; the upload is abandoned either way)."""
    try:
        yield from _append(core, upload_id, *_append_body(b""))
    except NotFound:
        return False
    return True


def _open_upload(core: ClientCore) -> Flow[str]:
    response = yield from core.request_flow("POST", "fileUploads")
    data = parse_payload(response.content, response.headers.get("content-type", ""))
    try:
        return str(data["fileUpload"]["uploadSessionId"])
    except (KeyError, TypeError):
        raise TableauError(
            "POST fileUploads answered without an uploadSessionId", method="POST"
        ) from None


def _append_body(data: bytes) -> tuple[bytes, str]:
    return encode_multipart(
        [
            ("request_payload", None, "text/xml", b""),
            ("tableau_file", "file", "application/octet-stream", data),
        ]
    )


def _append(core: ClientCore, upload_id: str, body: bytes, content_type: str) -> Flow[None]:
    response = yield from core.request_flow(
        "PUT",
        f"fileUploads/{upload_id}",
        content=body,
        headers=_multipart_headers(content_type),
        idempotent=False,  # an append resent after a 5xx or a drop could be appended twice
    )
    release_request_body(response.request)  # memory: one block at a time


def _result(spec: PublishSpec, response: Response) -> dict[str, Any]:
    data = parse_payload(response.content, response.headers.get("content-type", ""))
    key = "job" if spec.as_job else _ELEMENT[spec.kind]
    item = data.get(key) if isinstance(data, dict) else None
    if not isinstance(item, dict):
        raise TableauError(f"the publish answered without a {key!r}", method="POST")
    return item
