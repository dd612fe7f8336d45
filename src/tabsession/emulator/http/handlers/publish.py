"""Publishing and downloading workbooks and data sources.

- `POST fileUploads` opens an upload session; `PUT fileUploads/{id}` appends one multipart
  block (`tableau_file`) to it.
- `POST workbooks` / `POST datasources` publish: a multipart body with `request_payload` (the
  `tsRequest`) and the file (`tableau_workbook` / `tableau_datasource`), at most 64 MB, or only
  the payload plus `?uploadSessionId=` for a chunked upload. `overwrite=true` replaces an item
  of the same name in the project (else 409004); `asJob=true` answers 202 with a job.
- `GET workbooks/{id}/content` and `datasources/{id}/content` stream the published bytes back
  with a Content-Disposition naming the file.

Tableau's checks: the file type (`.twb`/`.twbx` for workbooks; `.tds`/`.tdsx`/`.tde`/`.hyper`
for data sources) and the 64 MB single-request limit give 400011.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote

from tabsession.emulator.http.call import Call, Reply, parse_body
from tabsession.emulator.http.handlers.jobs import job_shape
from tabsession.emulator.http.render import node_from_item
from tabsession.emulator.http.shapes import shape, workbook_with_views
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.files import StoredFile, placeholder_file

__all__ = [
    "SINGLE_REQUEST_LIMIT",
    "Part",
    "append_upload",
    "attachment",
    "download",
    "open_upload",
    "parse_multipart",
    "publish",
]

Handler = Callable[[Call], Reply]
SINGLE_REQUEST_LIMIT = 64 * 1024 * 1024
"""Tableau's limit for a file published in one request; larger files go in chunks."""
STREAM_CHUNK = 64 * 1024

_FILE_TYPES = {
    "workbooks": frozenset({"twb", "twbx"}),
    "datasources": frozenset({"tds", "tdsx", "tde", "hyper"}),
}
_FILE_PART = {"workbooks": "tableau_workbook", "datasources": "tableau_datasource"}
_TYPE_PARAM = {"workbooks": "workbookType", "datasources": "datasourceType"}
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    data: bytes


def _publish_error(detail: str) -> ApiError:
    return ApiError(
        400, "400011", "Bad Request", f"There was a problem publishing the file: {detail}"
    )


def parse_multipart(raw: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a `multipart/mixed` (or form-data) body, by their Content-Disposition name."""
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or found is None:
        raise ApiError.malformed_body("the body must be multipart/mixed with a boundary")
    delimiter = b"--" + found.group(1).encode("latin-1")
    parts: dict[str, Part] = {}
    for piece in raw.split(delimiter)[1:]:
        if piece.startswith(b"--"):
            break
        head, sep, body = piece.partition(b"\r\n\r\n")
        if not sep:
            raise ApiError.malformed_body("a multipart part has no header block")
        if body.endswith(b"\r\n"):
            body = body[:-2]
        fields: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                fields = dict(_DISPOSITION.findall(value))
        name = fields.get("name")
        if name:
            parts[name] = Part(name, fields.get("filename"), body)
    return parts


# -- chunked uploads -----------------------------------------------------------------------------


def _upload_reply(status: int, upload_id: str, size: int) -> Reply:
    return Reply(
        status, [node_from_item("fileUpload", {"uploadSessionId": upload_id, "fileSize": size})]
    )


def open_upload(call: Call) -> Reply:
    """POST fileUploads: a new upload session (201)."""
    upload = call.state.uploads.open(call.require_site().id, call.token or "")
    return _upload_reply(201, upload.id, 0)


def append_upload(call: Call) -> Reply:
    """PUT fileUploads/{id}: append the `tableau_file` part; answers the size so far."""
    parts = parse_multipart(call.raw_body, call.content_type)
    block = parts.get("tableau_file")
    if block is None:
        raise ApiError.malformed_body("the body needs a 'tableau_file' part")
    upload = call.state.uploads.append(
        call.match["id"], call.require_site().id, call.token or "", block.data
    )
    return _upload_reply(200, upload.id, upload.size)


# -- publishing ----------------------------------------------------------------------------------


def _file_type(kind: str, call: Call, filename: str | None) -> str:
    declared = call.params.get(_TYPE_PARAM[kind], "")
    ext = declared or (filename.rpartition(".")[2] if filename and "." in filename else "")
    if ext.lower() not in _FILE_TYPES[kind]:
        allowed = ", ".join(sorted(_FILE_TYPES[kind]))
        raise _publish_error(f"the file type '{ext or '?'}' is not one of {allowed}.")
    return ext.lower()


def _is_true(call: Call, name: str) -> bool:
    return call.params.get(name, "").lower() == "true"


def _received_file(kind: str, call: Call, parts: dict[str, Part]) -> tuple[bytes, str]:
    """The published bytes (taken from the memory budget) and the file type."""
    state, site = call.state, call.require_site()
    upload_id = call.params.get("uploadSessionId")
    if upload_id:
        file_type = _file_type(kind, call, None)
        return state.uploads.take(upload_id, site.id, call.token or ""), file_type
    part = parts.get(_FILE_PART[kind])
    if part is None:
        raise ApiError.malformed_body(
            f"the body needs a '{_FILE_PART[kind]}' part (or use uploadSessionId)"
        )
    file_type = _file_type(kind, call, part.filename)
    if len(part.data) > SINGLE_REQUEST_LIMIT:
        raise _publish_error("files larger than 64 MB must be published in chunks (fileUploads).")
    state.budget.take(len(part.data))
    return part.data, file_type


def _payload(kind: str, parts: dict[str, Part]) -> dict[str, object]:
    payload = parts.get("request_payload")
    if payload is None:
        raise ApiError.malformed_body("the body needs a 'request_payload' part")
    element = parse_body(payload.data, "text/xml").get(kind[:-1])
    if not isinstance(element, dict):
        raise ApiError.malformed_body(f"the request payload needs a '{kind[:-1]}' element")
    return element


def publish(kind: str) -> Handler:
    """POST workbooks / POST datasources."""

    def handler(call: Call) -> Reply:
        state, site = call.state, call.require_site()
        session = call.require_session()
        parts = parse_multipart(call.raw_body, call.content_type)
        element = _payload(kind, parts)
        data, file_type = _received_file(kind, call, parts)
        try:
            item = site.content.publish(
                kind, element, session.user_id, len(data), _is_true(call, "overwrite")
            )
        except BaseException:
            state.budget.give_back(len(data))
            raise
        state.files.put(site.id, kind, item["id"], f"{item['name']}.{file_type}", data)
        if _is_true(call, "asJob"):
            board = state.jobs_for(site.id)
            job_type = "PublishWorkbook" if kind == "workbooks" else "PublishDatasource"
            job = board.start(job_type, kind[:-1], item)
            return Reply(202, [node_from_item("job", job_shape(job, board.now()))])
        if kind == "workbooks":
            item = workbook_with_views(item, site.content.workbook_views(item["id"]))
        return Reply(201, [node_from_item(kind[:-1], shape(kind, item))])

    return handler


# -- downloading ---------------------------------------------------------------------------------


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), STREAM_CHUNK):
        yield bytes(view[start : start + STREAM_CHUNK])


def attachment(filename: str) -> str:
    """A Content-Disposition for `filename`: a plain ASCII `filename` (what every client
    reads), plus RFC 6266's `filename*` when the name has other characters."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    if plain == filename:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(kind: str) -> Handler:
    """GET workbooks/{id}/content and datasources/{id}/content: the file, streamed."""

    def handler(call: Call) -> Reply:
        site = call.require_site()
        item = site.content.get(kind, call.match["id"])
        stored: StoredFile | None = call.state.files.get(site.id, kind, item["id"])
        if stored is None:
            stored = placeholder_file(kind, str(item["name"]), str(item.get("contentUrl", "")))
        headers = {
            "Content-Disposition": attachment(stored.filename),
            "Content-Length": str(len(stored.data)),
        }
        return Reply(
            200, headers=headers, stream=_chunks(stored.data), media_type="application/octet-stream"
        )

    return handler
