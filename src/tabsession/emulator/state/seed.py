"""Deterministic seed content: the same configuration always yields the same ids, names and
dates, so tests and benchmarks can name what they expect.

Per site, for N = `seed_items`: N workbooks with 2 views each, N // 2 data sources, 1 + N // 20
projects (the first is "Default"), the configured accounts plus N // 5 more users, an "All Users"
group plus N // 25 more, and N // 4 background jobs.

Every seeded item is a pure function of its kind and position, so the tables hold only the ids
and build an item when it is read (see `table.ItemTable`): seeding 100,000 workbooks costs their
ids, not 400,000 dicts. Each seeded item's `_rev` is fixed (a block of revisions is reserved per
table), so renderings of unchanged seeded items are remembered like any other.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tabsession.emulator.config import Account
from tabsession.emulator.state.table import Item, ItemTable

__all__ = [
    "KIND_NAMES",
    "ItemsByKind",
    "SeededSite",
    "iso",
    "reserve_revisions",
    "revision",
    "seed_site",
    "seed_tables",
    "stable_id",
]

ItemsByKind = dict[str, ItemTable]
KIND_NAMES = ("projects", "users", "groups", "workbooks", "views", "datasources", "jobs")
_NAMESPACE = uuid.UUID("6f0c61a4-6d0b-4b47-9d0e-3a1d8c6f2b10").bytes
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_JOB_STATES = ("Success", "Failed", "InProgress", "Pending", "Cancelled", "Success")
_VIEWS = (("Overview", "dashboard"), ("Details", "worksheet"))
_ROLES = ("Viewer", "Explorer", "Creator", "ExplorerCanPublish", "SiteAdministratorExplorer")
_DS_TYPES = ("excel-direct", "postgres", "hyper", "snowflake")


_revision_lock = threading.Lock()
_next_revision = 1


def reserve_revisions(count: int) -> int:
    """The first of `count` consecutive revision numbers that nobody else will get."""
    global _next_revision
    with _revision_lock:
        first = _next_revision
        _next_revision += max(0, count)
        return first


def revision() -> int:
    """A number never handed out before in this process. Every item carries one in `_rev`, and
    gets a new one whenever it changes, so that an item's rendering can be remembered by it."""
    return reserve_revisions(1)


def stable_id(*parts: str) -> str:
    """A UUID that depends only on `parts` (sites, users and content get the same ids each run).

    The same value as `str(uuid.uuid5(namespace, "/".join(parts)))`, computed without building a
    UUID object (seeding computes hundreds of thousands)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + "/".join(parts).encode()).digest()[:16])  # noqa: S324 - uuid5 is defined with SHA-1
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def iso(moment: datetime | float) -> str:
    """Tableau's timestamp format: `2024-05-01T12:34:56Z` (no fractions, no offset)."""
    if not isinstance(moment, datetime):
        try:
            moment = datetime.fromtimestamp(moment, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # a clock advanced past year 9999
            moment = datetime.max.replace(microsecond=0, tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=1 << 14)
def _day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


def _at(hours: float) -> str:
    """`iso(_EPOCH + hours)` for the whole minutes seeding uses, without a datetime per call
    (a filtered listing of 100,000 seeded items builds each one, dates included)."""
    whole = int(hours // 1)
    days, hour = divmod(whole, 24)
    minute = round((hours - whole) * 60)
    return f"{_day(days)}T{hour:02d}:{minute:02d}:00Z"


def _ref(item: Item) -> dict[str, str]:
    return {"id": item["id"], "name": item["name"]}


@dataclass(frozen=True)
class SeededSite:
    """The tables of one seeded site, and what the site's counters start from."""

    tables: ItemsByKind
    project_ids: tuple[str, ...]
    workbooks_per_project: Callable[[int], int]
    """Seeded workbooks in the project at a position (views: twice that)."""
    datasources_per_project: Callable[[int], int]
    names: dict[str, dict[str, str]]
    """Per kind ("projects", "groups", "users"): id → name, for the name indexes."""


def _share(total: int, buckets: int) -> Callable[[int], int]:
    """How many of `total` items, dealt round-robin into `buckets`, land in bucket `b`."""
    return lambda b: total // buckets + (1 if b < total % buckets else 0)


class _Seeder:
    """The make-functions of one site: item at position → dict, using only ids and arithmetic."""

    def __init__(self, site_url: str, n: int, accounts: Sequence[Account]) -> None:
        self.site_url = site_url
        self.sid = site_url or "default-site"
        self.n = n
        self.accounts = tuple(accounts)
        sid = self.sid
        self.user_names = [a.name for a in accounts] + [f"user{i + 1:05d}" for i in range(n // 5)]
        self.user_ids = [stable_id(sid, "user", name) for name in self.user_names]
        self.project_names = ["Default"] + [f"Project {i:03d}" for i in range(1, 1 + n // 20)]
        self.project_ids = [stable_id(sid, "project", name) for name in self.project_names]
        self.group_names = ["All Users"] + [f"Group {i + 1:03d}" for i in range(n // 25)]
        self.group_ids = [stable_id(sid, "group", name) for name in self.group_names]
        self.workbook_ids = [stable_id(sid, "workbook", self._wb_name(i)) for i in range(n)]
        self.view_ids = [
            stable_id(sid, "view", self._wb_name(i), view) for i in range(n) for view, _ in _VIEWS
        ]
        self.datasource_ids = [
            stable_id(sid, "datasource", f"Datasource {i + 1:05d}") for i in range(n // 2)
        ]
        self.job_ids = [stable_id(sid, "job", str(i)) for i in range(n // 4)]
        self.revs = {kind: reserve_revisions(len(self.ids(kind))) for kind in KIND_NAMES}

    @staticmethod
    def _wb_name(i: int) -> str:
        return f"Workbook {i + 1:05d}"

    def ids(self, kind: str) -> list[str]:
        return {
            "projects": self.project_ids,
            "users": self.user_ids,
            "groups": self.group_ids,
            "workbooks": self.workbook_ids,
            "views": self.view_ids,
            "datasources": self.datasource_ids,
            "jobs": self.job_ids,
        }[kind]

    def _user_ref(self, pos: int) -> dict[str, str]:
        return {"id": self.user_ids[pos], "name": self.user_names[pos]}

    def _project_ref(self, pos: int) -> dict[str, str]:
        return {"id": self.project_ids[pos], "name": self.project_names[pos]}

    def user(self, pos: int) -> Item:
        name = self.user_names[pos]
        if pos < len(self.accounts):
            account = self.accounts[pos]
            role, full, login, extra = account.site_role, name.capitalize(), _at(pos), True
        else:
            i = pos - len(self.accounts)
            role, full, login, extra = _ROLES[i % len(_ROLES)], f"User {i + 1}", _at(24 + i), False
        item: Item = {
            "id": self.user_ids[pos],
            "name": name,
            "siteRole": role,
            "fullName": full,
            "email": f"{name}@example.com",
            "authSetting": "ServerDefault",
            "lastLogin": login,
            "externalAuthUserId": "",
            "locale": "en_US",
            "language": "en",
            "domain": {"name": "local"},
        }
        if extra:
            item["_account"] = name
        item["_rev"] = self.revs["users"] + pos
        return item

    def project(self, pos: int) -> Item:
        return {
            "id": self.project_ids[pos],
            "name": self.project_names[pos],
            "description": "The default project" if pos == 0 else f"Seeded project {pos}",
            "contentPermissions": "ManagedByOwner",
            "parentProjectId": "",
            "topLevelProject": True,
            "writeable": True,
            "owner": self._user_ref(0),
            "_createdAt": _at(pos),
            "_updatedAt": _at(pos),
            "_rev": self.revs["projects"] + pos,
        }

    def group(self, pos: int) -> Item:
        members = self.user_ids[:: pos + 1] if pos else list(self.user_ids)
        return {
            "id": self.group_ids[pos],
            "name": self.group_names[pos],
            "domain": {"name": "local"},
            "_members": members,
            "_rev": self.revs["groups"] + pos,
        }

    def workbook(self, i: int) -> Item:
        project = i % len(self.project_ids)
        url = f"Workbook{i + 1:05d}"
        return {
            "id": self.workbook_ids[i],
            "name": self._wb_name(i),
            "description": f"Seeded workbook {i + 1}",
            "contentUrl": url,
            "webpageUrl": f"https://tableau.example.com/#/site/{self.site_url}/workbooks/{i + 1}",
            "showTabs": i % 2 == 0,
            "size": 1 + i % 9,
            "createdAt": _at(i),
            "updatedAt": _at(i + 12),
            "sheetCount": 2,
            "hasExtracts": i % 3 == 0,
            "encryptExtracts": False,
            "defaultViewId": self.view_ids[2 * i],
            "location": {"id": self.project_ids[project], "type": "Project",
                         "name": self.project_names[project]},
            "project": self._project_ref(project),
            "owner": self._user_ref(i % len(self.user_ids)),
            "tags": [{"label": "seeded"}, {"label": f"batch{i % 10}"}],
            "_views": self.view_ids[2 * i : 2 * i + 2],
            "_rev": self.revs["workbooks"] + i,
        }  # fmt: skip

    def view(self, pos: int) -> Item:
        i, j = divmod(pos, 2)
        view, sheet = _VIEWS[j]
        project = i % len(self.project_ids)
        return {
            "id": self.view_ids[pos],
            "name": view,
            "contentUrl": f"Workbook{i + 1:05d}/sheets/{view}",
            "viewUrlName": view,
            "sheetType": sheet,
            "createdAt": _at(i),
            "updatedAt": _at(i + 12),
            "favoritesTotal": (i + j) % 7,
            "_totalViewCount": (i * 7 + j * 3) % 50,
            "workbook": {"id": self.workbook_ids[i], "name": self._wb_name(i)},
            "owner": self._user_ref(i % len(self.user_ids)),
            "project": self._project_ref(project),
            "tags": [{"label": "seeded"}],
            "location": {"id": self.project_ids[project], "type": "Project",
                         "name": self.project_names[project]},
            "_rev": self.revs["views"] + pos,
        }  # fmt: skip

    def datasource(self, i: int) -> Item:
        return {
            "id": self.datasource_ids[i],
            "name": f"Datasource {i + 1:05d}",
            "type": _DS_TYPES[i % 4],
            "description": "",
            "contentUrl": f"Datasource{i + 1:05d}",
            "createdAt": _at(i),
            "updatedAt": _at(i + 6),
            "isCertified": i % 5 == 0,
            "certificationNote": "",
            "encryptExtracts": False,
            "hasExtracts": i % 2 == 0,
            "useRemoteQueryAgent": False,
            "webpageUrl": f"https://tableau.example.com/#/site/{self.site_url}/datasources/{i + 1}",
            "size": 1 + i % 5,
            "connectedWorkbooksCount": i % 4,
            "favoritesTotal": 0,
            "hasAlert": False,
            "isPublished": True,
            "serverName": "",
            "project": self._project_ref(i % len(self.project_ids)),
            "owner": self._user_ref(0),
            "tags": [],
            "askData": {"enablement": "SiteDefault"},
            "_rev": self.revs["datasources"] + i,
        }

    def job(self, i: int) -> Item:
        status = _JOB_STATES[i % len(_JOB_STATES)]
        target = i % self.n
        name = self._wb_name(target)
        job: Item = {
            "id": self.job_ids[i],
            "status": status,
            "createdAt": _at(i),
            "priority": "50",
            "jobType": "refresh_extracts",
            "title": name,
            "subtitle": "Workbook",
            "_workbook": {"id": self.workbook_ids[target], "name": name},
        }
        if status != "Pending":
            job["startedAt"] = _at(i + 0.25)
        if status in ("Success", "Failed", "Cancelled"):
            job["endedAt"] = _at(i + 0.5)
        job["_rev"] = self.revs["jobs"] + i
        return job


def seed_tables(site_url: str, n: int, accounts: Sequence[Account]) -> SeededSite:
    """The seeded tables of one site and the starting point of its per-project counters."""
    seeder = _Seeder(site_url, n, accounts)
    makers: dict[str, Callable[[int], Item]] = {
        "projects": seeder.project,
        "users": seeder.user,
        "groups": seeder.group,
        "workbooks": seeder.workbook,
        "views": seeder.view,
        "datasources": seeder.datasource,
        "jobs": seeder.job,
    }
    tables = {kind: ItemTable(seeder.ids(kind), makers[kind]) for kind in KIND_NAMES}
    projects = len(seeder.project_ids)
    names = {
        "projects": dict(zip(seeder.project_ids, seeder.project_names, strict=True)),
        "groups": dict(zip(seeder.group_ids, seeder.group_names, strict=True)),
        "users": dict(zip(seeder.user_ids, seeder.user_names, strict=True)),
    }
    return SeededSite(
        tables, tuple(seeder.project_ids), _share(n, projects), _share(n // 2, projects), names
    )


def seed_site(site_url: str, n: int, accounts: Sequence[Account]) -> ItemsByKind:
    """All the content of one site, keyed by kind then id (items built when read)."""
    return seed_tables(site_url, n, accounts).tables
