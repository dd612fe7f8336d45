"""Chunked uploads (`POST fileUploads`, `PUT fileUploads/{id}`): the bytes appended so far, per
upload session, until a publish takes them. Thread-safe.

Whether an upload session outlives the auth session that opened it is undocumented
(`EmulatorConfig.upload_outlives_session`). When it does not, every append and the publish must
come from that auth session; any other caller is told the upload session does not exist.

An upload left untouched for `IDLE_LIFETIME` of emulated time is abandoned: it ends, and its
bytes go back to the budget, so forgotten uploads cannot hold memory for ever.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from tabsession.clock import Clock
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.files import Budget

__all__ = ["Upload", "UploadSessions", "upload_not_found"]

MAX_CHUNKS = 1000
"""Tableau limits a file to 1000 appended blocks."""
IDLE_LIFETIME = 24 * 3600.0
"""Emulated seconds an untouched upload session lives (Tableau does not say: UNCONFIRMED)."""


def upload_not_found(upload_id: str) -> ApiError:
    # The code is UNCONFIRMED (Tableau documents a 404 without naming its code).
    return ApiError(
        404, "404025", "Resource Not Found", f"Upload session '{upload_id}' could not be found."
    )


@dataclass
class Upload:
    id: str
    site_id: str
    owner_token: str
    touched: float
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


class UploadSessions:
    """Open upload sessions; their bytes count against the shared `Budget`."""

    def __init__(self, budget: Budget, clock: Clock, *, outlive_session: bool) -> None:
        self._budget = budget
        self._clock = clock
        self._outlive = outlive_session
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._counter = 0

    def open(self, site_id: str, token: str) -> Upload:
        with self._lock:
            self._counter += 1
            upload_id = f"{self._counter}:{uuid.uuid4().hex}-1:0"
            upload = Upload(upload_id, site_id, token, touched=self._clock.time())
            self._uploads[upload_id] = upload
            return upload

    def _purge(self) -> None:
        """End the uploads nobody touched for `IDLE_LIFETIME` (called with the lock held)."""
        deadline = self._clock.time() - IDLE_LIFETIME
        for stale in [u for u in self._uploads.values() if u.touched < deadline]:
            del self._uploads[stale.id]
            self._budget.give_back(stale.size)

    def _find(self, upload_id: str, site_id: str, token: str) -> Upload:
        self._purge()
        upload = self._uploads.get(upload_id)
        if upload is None or upload.site_id != site_id:
            raise upload_not_found(upload_id)
        if not self._outlive and upload.owner_token != token:
            raise upload_not_found(upload_id)
        return upload

    def append(self, upload_id: str, site_id: str, token: str, data: bytes) -> Upload:
        with self._lock:
            upload = self._find(upload_id, site_id, token)
            if len(upload.chunks) >= MAX_CHUNKS:
                raise ApiError(
                    400, "400011", "Bad Request", f"A file is limited to {MAX_CHUNKS} blocks."
                )
            self._budget.take(len(data))
            upload.chunks.append(data)
            upload.size += len(data)
            upload.touched = self._clock.time()
            return upload

    def take(self, upload_id: str, site_id: str, token: str) -> bytes:
        """The whole file, and the upload session ends. Its bytes stay taken from the budget:
        the caller stores them (or gives them back)."""
        with self._lock:
            upload = self._find(upload_id, site_id, token)
            del self._uploads[upload_id]
        return b"".join(upload.chunks)

    def clear(self) -> None:
        with self._lock:
            uploads, self._uploads = self._uploads, {}
        self._budget.give_back(sum(u.size for u in uploads.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._uploads)
