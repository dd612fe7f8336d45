"""Content the emulator lists but does not manage: flows, server schedules and extract-refresh
tasks. Derived deterministically from the site's seed, read-only.

Per site: max(2, seed_items // 10) flows in the Default project, owned by the admin; four
server schedules (two extract, one subscription, one flow); one extract-refresh task per
workbook that has extracts (at most `MAX_TASKS`), on the extract schedules in turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tabsession.emulator.state.seed import iso, stable_id

__all__ = ["MAX_TASKS", "SCHEDULES", "extract_tasks", "flows"]

MAX_TASKS = 1000
_EPOCH = 1_704_067_200.0  # 2024-01-01T00:00:00Z, the seed's epoch


def _schedule(name: str, kind: str, frequency: str, priority: int, hour: int) -> dict[str, Any]:
    return {
        "id": stable_id("schedule", name),
        "name": name,
        "state": "Active",
        "priority": priority,
        "createdAt": iso(_EPOCH),
        "updatedAt": iso(_EPOCH + 3600),
        "type": kind,
        "frequency": frequency,
        "nextRunAt": iso(_EPOCH + 86400 + hour * 3600),
        "executionOrder": "Parallel",
    }


SCHEDULES: tuple[dict[str, Any], ...] = (
    _schedule("Daily refresh", "Extract", "Daily", 50, 2),
    _schedule("Weekday early mornings", "Extract", "Weekly", 50, 5),
    _schedule("Saturday night", "Subscription", "Weekly", 80, 22),
    _schedule("First of the month", "Flow", "Monthly", 30, 1),
)
"""The server's schedules (`GET /api/{v}/schedules`)."""


def flows(
    site_url: str, seed_items: int, project: Mapping[str, Any], owner_id: str
) -> list[dict[str, Any]]:
    """The flows of a site."""
    sid = site_url or "default-site"
    out: list[dict[str, Any]] = []
    for i in range(max(2, seed_items // 10)):
        name = f"Flow {i + 1:04d}"
        out.append(
            {
                "id": stable_id(sid, "flow", name),
                "name": name,
                "description": f"Seeded flow {i + 1}",
                "webpageUrl": f"https://tableau.example.com/#/site/{site_url}/flows/{i + 1}",
                "fileType": "tflx" if i % 2 == 0 else "tfl",
                "createdAt": iso(_EPOCH + i * 3600),
                "updatedAt": iso(_EPOCH + i * 3600 + 600),
                "project": {"id": project["id"], "name": project["name"]},
                "owner": {"id": owner_id},
                "tags": [],
            }
        )
    return out


def extract_tasks(site_url: str, workbook_ids: list[str]) -> list[dict[str, Any]]:
    """Extract-refresh tasks (`task` elements) for the given workbooks, in order."""
    sid = site_url or "default-site"
    extract_schedules = [s for s in SCHEDULES if s["type"] == "Extract"]
    return [
        {
            "extractRefresh": {
                "id": stable_id(sid, "task", workbook_id),
                "priority": 50,
                "consecutiveFailedCount": 0,
                "type": "RefreshExtractTask",
                "schedule": dict(extract_schedules[i % len(extract_schedules)]),
                "workbook": {"id": workbook_id},
            }
        }
        for i, workbook_id in enumerate(workbook_ids[:MAX_TASKS])
    ]
