"""Jobs: `GET jobs/{id}` in the schema's `job` shape, `PUT jobs/{id}` (cancel), and the answers
of the endpoints that start jobs (refresh)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.handlers.content import listing, page_reply
from tabsession.emulator.http.render import Text, node_from_item
from tabsession.emulator.state.jobs import FINISH_CODES, Job, JobBoard
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import MAX_PAGE_SIZE, parse_query, run_query
from tabsession.emulator.state.seed import iso

__all__ = ["cancel_job", "get_job", "job_shape", "list_jobs", "refresh", "seeded_job_shape"]

_TYPES = {"refresh_extracts": "RefreshExtract"}
_FAILED_NOTE = "The refresh failed (emulated by a job_failure fault rule)."


def job_shape(job: Job, now: float) -> dict[str, Any]:
    """A started job as `GET jobs/{id}`, the refresh answer and asJob publishes show it."""
    status = job.status(now)
    done = status in FINISH_CODES
    out: dict[str, Any] = {
        "id": job.id,
        "mode": "Asynchronous",
        "type": job.type,
        "progress": job.progress(now),
        "createdAt": iso(job.created),
        "startedAt": None if status == "Pending" else iso(job.started_at()),
        "updatedAt": iso(min(now, job.ended_at())),
        "completedAt": iso(job.ended_at()) if done else None,
        "finishCode": FINISH_CODES.get(status),
    }
    if job.type == "RefreshExtract":
        notes = {"Failed": _FAILED_NOTE, "Cancelled": "The job was cancelled."}.get(status, "")
        out["extractRefreshJob"] = {"notes": Text(notes), job.target_kind: dict(job.target)}
    return out


def _seeded_as_now(background: Mapping[str, Any], board: JobBoard) -> Mapping[str, Any]:
    """A seeded `backgroundJob`, cancelled if `PUT jobs/{id}` cancelled it."""
    cancelled = board.seeded_cancelled_at(str(background["id"]))
    if cancelled is None:
        return background
    return {**background, "status": "Cancelled", "endedAt": iso(cancelled)}


def seeded_job_shape(background: Mapping[str, Any]) -> dict[str, Any]:
    """A seeded `backgroundJob` item in the `job` shape."""
    status = str(background.get("status", ""))
    target_kind = "workbook" if background.get("_workbook") else "datasource"
    target = background.get("_workbook") or background.get("_datasource") or {}
    return {
        "id": background["id"],
        "mode": "Asynchronous",
        "type": _TYPES.get(str(background.get("jobType")), "RefreshExtract"),
        "progress": 100 if status in FINISH_CODES else 0,
        "createdAt": background.get("createdAt"),
        "startedAt": background.get("startedAt"),
        "updatedAt": background.get("endedAt") or background.get("startedAt"),
        "completedAt": background.get("endedAt"),
        "finishCode": FINISH_CODES.get(status),
        "extractRefreshJob": {
            "notes": Text("The refresh failed." if status == "Failed" else ""),
            target_kind: dict(target),
        },
    }


def background_shape(job: Job, now: float) -> dict[str, Any]:
    """A started job as the `GET jobs` listing shows it (`backgroundJob`)."""
    status = job.status(now)
    done = status in FINISH_CODES
    return {
        "id": job.id,
        "status": status,
        "createdAt": iso(job.created),
        "startedAt": None if status == "Pending" else iso(job.started_at()),
        "endedAt": iso(job.ended_at()) if done else None,
        "priority": 50,
        "jobType": "refresh_extracts" if job.type == "RefreshExtract" else "publish",
        "title": job.target.get("name", ""),
        "subtitle": "Workbook" if job.target_kind == "workbook" else "Data Source",
    }


_seeded_listing = listing("jobs")


def list_jobs(call: Call) -> Reply:
    """GET jobs: the seeded jobs, then those started since (refreshes, asJob publishes), one
    filtered, sorted and paged listing. Without started jobs it is the plain seeded listing."""
    site = call.require_site()
    board = call.state.jobs_for(site.id)
    started = board.all()
    if not started and not board.has_cancelled_seeded():
        return _seeded_listing(call)
    fields = KINDS["jobs"].fields
    seeded: list[Mapping[str, Any]] = []
    number = 1
    while True:  # bounded: the seeded jobs are a fixed number, read a page at a time
        batch = site.content.list_page(
            "jobs", parse_query({"pageSize": str(MAX_PAGE_SIZE), "pageNumber": str(number)}, fields)
        )
        seeded.extend(_seeded_as_now(item, board) for item in batch.items)
        if number * MAX_PAGE_SIZE >= batch.total:
            break
        number += 1
    now = board.now()
    items: list[Mapping[str, Any]] = [*seeded, *(background_shape(j, now) for j in started)]
    query = parse_query(call.params, fields)
    return page_reply(call, "jobs", query, run_query(items, query, fields))


def get_job(call: Call) -> Reply:
    site = call.require_site()
    board = call.state.jobs_for(site.id)
    job = board.find(call.match["id"])
    if job is not None:
        return Reply(200, [node_from_item("job", job_shape(job, board.now()))])
    seeded = _seeded_as_now(site.content.get("jobs", call.match["id"]), board)
    return Reply(200, [node_from_item("job", seeded_job_shape(seeded))])


def cancel_job(call: Call) -> Reply:
    """PUT jobs/{id}: a running job ends Cancelled (a finished one stays as it ended); the
    answer is the job as it now is. Seeded jobs that are Pending or InProgress cancel too."""
    site = call.require_site()
    board = call.state.jobs_for(site.id)
    if board.find(call.match["id"]) is not None:
        job = board.cancel(call.match["id"])
        return Reply(200, [node_from_item("job", job_shape(job, board.now()))])
    seeded = site.content.get("jobs", call.match["id"])
    if seeded.get("status") in ("Pending", "InProgress"):
        board.cancel_seeded(str(seeded["id"]))
    shaped = seeded_job_shape(_seeded_as_now(seeded, board))
    return Reply(200, [node_from_item("job", shaped)])


def refresh(kind: str) -> Any:
    """POST workbooks/{id}/refresh and datasources/{id}/refresh: 202 with a new job."""
    singular = kind[:-1]

    def handler(call: Call) -> Reply:
        site = call.require_site()
        item = site.content.get(kind, call.match["id"])
        fails = call.state.faults.job_fails(call.method, call.path)
        board = call.state.jobs_for(site.id)
        job = board.start("RefreshExtract", singular, item, fails=fails)
        return Reply(202, [node_from_item("job", job_shape(job, board.now()))])

    return handler
