"""Deterministic seed content: the same configuration always yields the same ids, names and
dates, so tests and benchmarks can name what they expect.

Per site, for N = `seed_items`: N workbooks with 2 views each, N // 2 data sources, 1 + N // 20
projects (the first is "Default"), the configured accounts plus N // 5 more users, an "All Users"
group plus N // 25 more, and N // 4 background jobs.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from tabsession.emulator.config import Account

__all__ = ["ItemsByKind", "iso", "revision", "seed_site", "stable_id"]

ItemsByKind = dict[str, dict[str, dict[str, Any]]]
_NAMESPACE = uuid.UUID("6f0c61a4-6d0b-4b47-9d0e-3a1d8c6f2b10")
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_JOB_STATES = ("Success", "Failed", "InProgress", "Pending", "Cancelled", "Success")


_REVISIONS = itertools.count(1)


def revision() -> int:
    """A number never handed out before in this process. Every item carries one in `_rev`, and
    gets a new one whenever it changes, so that an item's rendering can be remembered by it."""
    return next(_REVISIONS)


def stable_id(*parts: str) -> str:
    """A UUID that depends only on `parts` (sites, users and content get the same ids each run)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def iso(moment: datetime | float) -> str:
    """Tableau's timestamp format: `2024-05-01T12:34:56Z` (no fractions, no offset)."""
    if not isinstance(moment, datetime):
        try:
            moment = datetime.fromtimestamp(moment, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # a clock advanced past year 9999
            moment = datetime.max.replace(microsecond=0, tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(hours: float) -> str:
    return iso(_EPOCH + timedelta(hours=hours))


def seed_site(site_url: str, n: int, accounts: Sequence[Account]) -> ItemsByKind:
    """All the content of one site, keyed by kind then id."""
    sid = site_url or "default-site"
    items: ItemsByKind = {k: {} for k in ("projects", "users", "groups", "workbooks", "views",
                                           "datasources", "jobs")}  # fmt: skip

    users: list[dict[str, Any]] = []
    for i, account in enumerate(accounts):
        users.append(
            {
                "id": stable_id(sid, "user", account.name),
                "name": account.name,
                "siteRole": account.site_role,
                "fullName": account.name.capitalize(),
                "email": f"{account.name}@example.com",
                "authSetting": "ServerDefault",
                "lastLogin": _at(i),
                "externalAuthUserId": "",
                "locale": "en_US",
                "language": "en",
                "domain": {"name": "local"},
                "_account": account.name,
            }
        )
    roles = ("Viewer", "Explorer", "Creator", "ExplorerCanPublish", "SiteAdministratorExplorer")
    for i in range(n // 5):
        name = f"user{i + 1:05d}"
        users.append(
            {
                "id": stable_id(sid, "user", name),
                "name": name,
                "siteRole": roles[i % len(roles)],
                "fullName": f"User {i + 1}",
                "email": f"{name}@example.com",
                "authSetting": "ServerDefault",
                "lastLogin": _at(24 + i),
                "externalAuthUserId": "",
                "locale": "en_US",
                "language": "en",
                "domain": {"name": "local"},
            }
        )
    items["users"] = {u["id"]: u for u in users}
    owner = users[0]

    projects: list[dict[str, Any]] = []
    for i in range(1 + n // 20):
        name = "Default" if i == 0 else f"Project {i:03d}"
        projects.append(
            {
                "id": stable_id(sid, "project", name),
                "name": name,
                "description": "The default project" if i == 0 else f"Seeded project {i}",
                "contentPermissions": "ManagedByOwner",
                "parentProjectId": "",
                "topLevelProject": True,
                "writeable": True,
                "owner": {"id": owner["id"], "name": owner["name"]},
                "_createdAt": _at(i),
                "_updatedAt": _at(i),
            }
        )
    items["projects"] = {p["id"]: p for p in projects}

    groups: list[dict[str, Any]] = [
        {
            "id": stable_id(sid, "group", "All Users"),
            "name": "All Users",
            "domain": {"name": "local"},
            "_members": [u["id"] for u in users],
        }
    ]
    for i in range(n // 25):
        name = f"Group {i + 1:03d}"
        groups.append(
            {
                "id": stable_id(sid, "group", name),
                "name": name,
                "domain": {"name": "local"},
                "_members": [u["id"] for j, u in enumerate(users) if j % (i + 2) == 0],
            }
        )
    items["groups"] = {g["id"]: g for g in groups}

    for i in range(n):
        project = projects[i % len(projects)]
        author = users[i % len(users)]
        name = f"Workbook {i + 1:05d}"
        url = f"Workbook{i + 1:05d}"
        wid = stable_id(sid, "workbook", name)
        created, updated = _at(i), _at(i + 12)
        view_ids = []
        for j, (view, sheet) in enumerate((("Overview", "dashboard"), ("Details", "worksheet"))):
            vid = stable_id(sid, "view", name, view)
            view_ids.append(vid)
            items["views"][vid] = {
                "id": vid,
                "name": view,
                "contentUrl": f"{url}/sheets/{view}",
                "viewUrlName": view,
                "sheetType": sheet,
                "createdAt": created,
                "updatedAt": updated,
                "favoritesTotal": (i + j) % 7,
                "_totalViewCount": (i * 7 + j * 3) % 50,
                "workbook": {"id": wid, "name": name},
                "owner": {"id": author["id"], "name": author["name"]},
                "project": {"id": project["id"], "name": project["name"]},
                "tags": [{"label": "seeded"}],
                "location": {"id": project["id"], "type": "Project", "name": project["name"]},
            }
        items["workbooks"][wid] = {
            "id": wid,
            "name": name,
            "description": f"Seeded workbook {i + 1}",
            "contentUrl": url,
            "webpageUrl": f"https://tableau.example.com/#/site/{site_url}/workbooks/{i + 1}",
            "showTabs": i % 2 == 0,
            "size": 1 + i % 9,
            "createdAt": created,
            "updatedAt": updated,
            "sheetCount": 2,
            "hasExtracts": i % 3 == 0,
            "encryptExtracts": False,
            "defaultViewId": view_ids[0],
            "location": {"id": project["id"], "type": "Project", "name": project["name"]},
            "project": {"id": project["id"], "name": project["name"]},
            "owner": {"id": author["id"], "name": author["name"]},
            "tags": [{"label": "seeded"}, {"label": f"batch{i % 10}"}],
            "_views": view_ids,
        }

    for i in range(n // 2):
        project = projects[i % len(projects)]
        name = f"Datasource {i + 1:05d}"
        did = stable_id(sid, "datasource", name)
        items["datasources"][did] = {
            "id": did,
            "name": name,
            "type": ("excel-direct", "postgres", "hyper", "snowflake")[i % 4],
            "description": "",
            "contentUrl": f"Datasource{i + 1:05d}",
            "createdAt": _at(i),
            "updatedAt": _at(i + 6),
            "isCertified": i % 5 == 0,
            "certificationNote": "",
            "encryptExtracts": False,
            "hasExtracts": i % 2 == 0,
            "useRemoteQueryAgent": False,
            "webpageUrl": f"https://tableau.example.com/#/site/{site_url}/datasources/{i + 1}",
            "size": 1 + i % 5,
            "connectedWorkbooksCount": i % 4,
            "favoritesTotal": 0,
            "hasAlert": False,
            "isPublished": True,
            "serverName": "",
            "project": {"id": project["id"], "name": project["name"]},
            "owner": {"id": owner["id"], "name": owner["name"]},
            "tags": [],
            "askData": {"enablement": "SiteDefault"},
        }

    workbook_list = list(items["workbooks"].values())
    for i in range(n // 4):
        status = _JOB_STATES[i % len(_JOB_STATES)]
        target = workbook_list[i % len(workbook_list)]
        jid = stable_id(sid, "job", str(i))
        job: dict[str, Any] = {
            "id": jid,
            "status": status,
            "createdAt": _at(i),
            "priority": "50",
            "jobType": "refresh_extracts",
            "title": target["name"],
            "subtitle": "Workbook",
            "_workbook": {"id": target["id"], "name": target["name"]},
        }
        if status != "Pending":
            job["startedAt"] = _at(i + 0.25)
        if status in ("Success", "Failed", "Cancelled"):
            job["endedAt"] = _at(i + 0.5)
        items["jobs"][jid] = job
    for by_id in items.values():
        for item in by_id.values():
            item["_rev"] = revision()
    return items
