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
from tabsession.emulator.http.handlers.publish import attachment
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


async def _held(
    slots: ExportSlots, ticket: int, data: bytes, latency_ms: float
) -> AsyncIterator[bytes]:
    try:
        await asyncio.sleep(latency_ms / 1000.0)
        yield data
    finally:
        slots.release(ticket)


def export(what: str) -> Handler:
    """The handler for one export kind: image, pdf, data or crosstab."""

    def handler(call: Call) -> Reply:
        view = call.require_site().content.get("views", call.match["id"])
        data = _bytes(what, view)
        slots = call.state.exports
        latency_ms = call.state.config.export_latency_ms
        ticket = slots.try_acquire(latency_ms / 1000.0)
        if ticket is None:
            return Reply(429, body=_TOO_MANY, media_type="text/html")
        headers = {"Content-Length": str(len(data))}
        if what == "crosstab":
            headers["Content-Disposition"] = attachment(f"{view['name']}.xlsx")
        if not latency_ms:  # served at once: the slot is free again before the answer leaves
            slots.release(ticket)
            return Reply(200, headers=headers, body=data, media_type=_MEDIA[what])
        stream = _held(slots, ticket, data, latency_ms)
        return Reply(200, headers=headers, stream=stream, media_type=_MEDIA[what])

    return handler
