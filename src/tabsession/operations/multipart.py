"""`multipart/mixed` bodies as Tableau's publish and upload calls take them (pure).

A publish carries a `request_payload` part (the `tsRequest` XML) and, for a file sent in one
request, the file part (`tableau_workbook` / `tableau_datasource`); an upload append carries an
empty `request_payload` and one `tableau_file` block.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

__all__ = ["Part", "encode_multipart", "request_payload"]

Part = tuple[str, "str | None", str, bytes]
"""(name, filename or None, content type, bytes)."""


def encode_multipart(parts: list[Part], boundary: str | None = None) -> tuple[bytes, str]:
    """(body, Content-Type) of a `multipart/mixed` body holding `parts` in order."""
    mark = boundary or uuid.uuid4().hex
    out: list[bytes] = []
    for name, filename, content_type, data in parts:
        disposition = f'name="{name}"'
        if filename is not None:
            disposition += f'; filename="{_safe_filename(filename)}"'
        head = f"--{mark}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}"
        out += [head.encode("utf-8"), b"\r\n\r\n", data, b"\r\n"]
    out.append(f"--{mark}--\r\n".encode())
    return b"".join(out), f"multipart/mixed; boundary={mark}"


def _safe_filename(filename: str) -> str:
    return "".join("_" if c in '"\\\r\n' else c for c in filename)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def request_payload(
    element: str, *, name: str, project_id: str, attributes: Mapping[str, Any] | None = None
) -> bytes:
    """`<tsRequest><workbook name=... ><project id=.../></workbook></tsRequest>`. `attributes`
    (e.g. `showTabs=True`, `description="..."`) become attributes of the element; None values
    are left out."""
    attrs = [f"name={quoteattr(name)}"]
    for key, value in (attributes or {}).items():
        if value is not None:
            attrs.append(f"{key}={quoteattr(_attribute(value))}")
    return (
        f"<tsRequest><{element} {' '.join(attrs)}>"
        f"<project id={quoteattr(project_id)}/></{element}></tsRequest>"
    ).encode()
