"""The bytes the emulator holds: files of published workbooks and data sources, and unfinished
chunked uploads, under one memory budget (`EmulatorConfig.max_stored_bytes`).

Each published item keeps the exact bytes it was published with, so a download returns them.
Seeded items were never published: their download is a small deterministic archive made on
demand (`placeholder_file`), which takes no budget. Thread-safe.
"""

from __future__ import annotations

import io
import threading
import zipfile
from dataclasses import dataclass

from tabsession.emulator.state.errors import ApiError

__all__ = ["Budget", "FileStore", "StoredFile", "placeholder_file"]


class Budget:
    """Bytes in use against a fixed limit, shared by the file store and the upload sessions."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        """Reserve `size` bytes, or refuse with 413 (nothing is reserved then)."""
        with self._lock:
            if self._used + size > self.limit:
                raise ApiError(
                    413,
                    "413000",
                    "Payload Too Large",
                    f"The emulator holds at most {self.limit} bytes of files and uploads "
                    f"(max_stored_bytes); {self._used} are in use.",
                )
            self._used += size

    def give_back(self, size: int) -> None:
        with self._lock:
            self._used = max(0, self._used - size)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used


@dataclass(frozen=True)
class StoredFile:
    filename: str
    data: bytes


class FileStore:
    """Published files by (site id, kind, item id)."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._files: dict[tuple[str, str, str], StoredFile] = {}

    def put(self, site_id: str, kind: str, item_id: str, filename: str, data: bytes) -> None:
        """Keep `data` as the item's file (replacing, and giving back, an earlier one). The
        caller has already taken `len(data)` from the budget."""
        with self._lock:
            old = self._files.get((site_id, kind, item_id))
            self._files[(site_id, kind, item_id)] = StoredFile(filename, data)
        if old is not None:
            self._budget.give_back(len(old.data))

    def get(self, site_id: str, kind: str, item_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get((site_id, kind, item_id))

    def drop(self, site_id: str, kind: str, item_id: str) -> None:
        with self._lock:
            old = self._files.pop((site_id, kind, item_id), None)
        if old is not None:
            self._budget.give_back(len(old.data))

    def clear(self) -> None:
        with self._lock:
            files, self._files = self._files, {}
        self._budget.give_back(sum(len(f.data) for f in files.values()))


def placeholder_file(kind: str, name: str, content_url: str) -> StoredFile:
    """A seeded item's file: a packaged workbook (.twbx) or data source (.tdsx) holding one
    small XML document. The same item always gives the same bytes."""
    inner, root, ext = (
        ("twb", "workbook", "twbx") if kind == "workbooks" else ("tds", "datasource", "tdsx")
    )
    document = (
        f"<?xml version='1.0' encoding='utf-8' ?>\n<{root} version='18.1' "
        f"source-build='emulator'><!-- {content_url} --></{root}>\n"
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(f"{content_url or 'item'}.{inner}", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, document)
    return StoredFile(f"{name}.{ext}", buffer.getvalue())
