"""View exports: `GET views/{id}/image` (PNG), `/pdf`, `/data` (CSV) and `/crosstab/excel`.

Each export holds a slot while it is served (`EmulatorConfig.export_latency_ms` of real time,
0 by default). With a limit (Tableau Cloud: 20 at once), a request beyond it gets Tableau
Cloud's answer for these endpoints: an HTML 429 page, not a `tsResponse`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.export_bytes import crosstab_xlsx, view_csv, view_pdf, view_png
from tabsession.emulator.state.world import ExportSlots

__all__ = ["export"]

Handler = Callable[[Call], Reply]
_MEDIA = {
    "image": "image/png",
    "pdf": "application/pdf",
    "data": "text/csv; charset=utf-8",
    "crosstab": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_TOO_MANY = (
    b"<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1>"
    b"<p>Too many concurrent export requests for this site. Try again later.</p></body></html>"
)


def _bytes(what: str, view: dict[str, object]) -> bytes:
    view_id, name = str(view["id"]), str(view.get("name", ""))
    if what == "image":
        return view_png(view_id)
    if what == "pdf":
        return view_pdf(name)
    if what == "data":
        return view_csv(name, view_id)
    return crosstab_xlsx(view_id)


async def _held(slots: ExportSlots, data: bytes, latency_ms: float) -> AsyncIterator[bytes]:
    try:
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000.0)
        yield data
    finally:
        slots.release()


def export(what: str) -> Handler:
    """The handler for one export kind: image, pdf, data or crosstab."""

    def handler(call: Call) -> Reply:
        view = call.require_site().content.get("views", call.match["id"])
        data = _bytes(what, view)
        slots = call.state.exports
        if not slots.try_acquire():
            return Reply(429, body=_TOO_MANY, media_type="text/html")
        headers = {"Content-Length": str(len(data))}
        if what == "crosstab":
            headers["Content-Disposition"] = f'attachment; filename="{view["name"]}.xlsx"'
        stream = _held(slots, data, call.state.config.export_latency_ms)
        return Reply(200, headers=headers, stream=stream, media_type=_MEDIA[what])

    return handler
