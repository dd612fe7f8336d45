"""The content of one site (projects, users, groups, workbooks, views, data sources, jobs) and
the operations on it. Thread-safe (one lock per site); knows nothing of HTTP.

Every item carries `_rev`, renewed on each change (see `seed.revision`).

Create, update and delete follow Tableau's rules where they matter to clients: names are unique
(projects among their siblings, groups and users on the site; 409 otherwise), references must
exist (404 with the kind's code), a user's site role must be one Tableau knows (400).

What a listing costs does not depend on the site's size:
- the items live in `ItemTable`s (seeded items are built when read, and only the page is built);
- per-project content counts (`contentsCounts`) are counters, kept as items are stored,
  replaced or removed (`_changed`, which each table calls, whoever writes to it) and moved
  (`_move`); a project whose counts change gets a new `_rev`, so its rendering can be
  remembered like any other item's;
- names are indexed (users and groups by name, projects by parent and name);
- a filtered or sorted listing is computed once and its ids remembered until the kind changes,
  so paging through it costs a page each time.
Methods return copies, made once (a seeded item is built, a live one cloned): callers never hold
live state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tabsession.clock import Clock
from tabsession.emulator.config import Account
from tabsession.emulator.state.errors import ApiError, text_field
from tabsession.emulator.state.kinds import KINDS, SITE_ROLES, Kind
from tabsession.emulator.state.query import Page, Query, page_bounds, select_ids
from tabsession.emulator.state.seed import ItemsByKind, iso, revision, seed_tables, stable_id
from tabsession.emulator.state.table import Item, ItemTable

__all__ = ["SiteContent"]

_JOB_FINISH_CODES = {"Success": "0", "Failed": "1", "Cancelled": "2"}
_JOB_TYPES = {"refresh_extracts": "RefreshExtract"}
_COUNTED = {"projects": 0, "workbooks": 1, "views": 2, "datasources": 3}
"""Kinds counted per project, and their place in a project's counter list."""
_COUNT_NAMES = ("projectCount", "workbookCount", "viewCount", "datasourceCount")
_QUERY_CACHE_SIZE = 16


def _project_of(kind: str, item: Mapping[str, Any]) -> str:
    """The project an item is counted in ("" for none; a project counts in its parent)."""
    if kind == "projects":
        return str(item.get("parentProjectId") or "")
    ref = item.get("project")
    return str(ref.get("id") or "") if isinstance(ref, Mapping) else ""


class SiteContent:
    """All content of one site. Methods return copies: callers never hold live state."""

    def __init__(
        self,
        site_id: str,
        site_url: str,
        seed_items: int,
        accounts: Sequence[Account],
        clock: Clock,
    ) -> None:
        self.site_id = site_id
        self.site_url = site_url
        self._clock = clock
        self._lock = threading.RLock()
        seeded = seed_tables(site_url, seed_items, accounts)
        self._items: ItemsByKind = seeded.tables
        for kind, table in self._items.items():
            table.on_change = self._watch(kind)
        self._counter = 0
        self._counts: dict[str, list[int]] = {
            pid: [0, seeded.workbooks_per_project(pos), 2 * seeded.workbooks_per_project(pos),
                  seeded.datasources_per_project(pos)]
            for pos, pid in enumerate(seeded.project_ids)
        }  # fmt: skip
        self._children: dict[str, set[str]] = {}
        """parent project id → ids of its sub-projects (seeded projects are all top-level)."""
        self._project_names: dict[tuple[str, str], str] = {
            ("", name.lower()): pid for pid, name in seeded.names["projects"].items()
        }
        self._group_names = {name.lower(): gid for gid, name in seeded.names["groups"].items()}
        self._user_names = {name.lower(): uid for uid, name in seeded.names["users"].items()}
        self._queries: OrderedDict[tuple[Any, ...], tuple[int, list[str]]] = OrderedDict()

    # -- reading -------------------------------------------------------------------------------

    def _present(self, kind: str, item: Item) -> Item:
        """`item` (a copy the caller owns) with computed attributes added."""
        if kind == "groups":
            item["userCount"] = len(item.get("_members", ()))
        elif kind == "projects":
            counts = self._counts.get(item["id"], [0, 0, 0, 0])
            item["contentsCounts"] = dict(zip(_COUNT_NAMES, counts, strict=True))
        return item

    def _table(self, kind: str) -> ItemTable:
        return self._items[kind]

    def _missing(self, kind: str, item_id: str) -> ApiError:
        spec = KINDS[kind]
        return ApiError.item_not_found(spec.not_found_code, spec.label, item_id)

    def _get(self, kind: str, item_id: str) -> Item:
        """The live item, to change in place (callers then give it a new `_rev`)."""
        table = self._items[kind]
        if item_id not in table:
            raise self._missing(kind, item_id)
        return table[item_id]

    def _peek(self, kind: str, item_id: str) -> Item:
        """The item, read-only (not to be changed, not to be handed out)."""
        item = self._items[kind].peek(item_id)
        if item is None:
            raise self._missing(kind, item_id)
        return item

    def _snapshot(self, kind: str, item_id: str) -> Item:
        item = self._items[kind].snapshot(item_id)
        if item is None:
            raise self._missing(kind, item_id)
        return self._present(kind, item)

    def list_page(
        self, kind: str, query: Query, *, within: Callable[[Item], bool] | None = None
    ) -> Page:
        """One page of `kind`, optionally only items for which `within(item)` is true.

        A filtered or sorted listing scans the kind without holding the site lock (it only
        reads, from a snapshot of the order), so a long scan holds up no other request."""
        spec: Kind = KINDS[kind]
        table = self._items[kind]
        if within is None and not query.conditions and not query.sort:
            with self._lock:
                start, stop = page_bounds(len(table), query)
                items, total = table.page(start, stop), len(table)
        else:
            ids = self._selected(kind, table, query, spec, within)
            with self._lock:
                start, stop = page_bounds(len(ids), query)
                items = [s for s in (table.snapshot(i) for i in ids[start:stop]) if s is not None]
                total = len(ids)
        with self._lock:
            presented: list[Mapping[str, Any]] = [self._present(kind, i) for i in items]
        return Page(presented, query.page_number, query.page_size, total)

    def _selected(
        self,
        kind: str,
        table: ItemTable,
        query: Query,
        spec: Kind,
        within: Callable[[Item], bool] | None,
    ) -> list[str]:
        """Ids of the filtered, sorted items; remembered until the table changes."""
        key = (kind, query.conditions, query.sort)
        with self._lock:
            version = table.version
            cached = self._queries.get(key) if within is None else None
            if cached is not None and cached[0] == version:
                self._queries.move_to_end(key)
                return cached[1]
            scan = table.scan()  # the order is copied now, under the lock
            if kind == "groups":  # userCount is filterable
                scan = (self._present(kind, dict(g)) for g in scan)
        if within is not None:
            return select_ids((i for i in scan if within(i)), query, spec.fields)
        ids = select_ids(scan, query, spec.fields)
        with self._lock:
            if table.version == version:  # nothing changed meanwhile: worth remembering
                self._queries[key] = (version, ids)
                if len(self._queries) > _QUERY_CACHE_SIZE:
                    self._queries.popitem(last=False)
        return ids

    def get(self, kind: str, item_id: str) -> Item:
        with self._lock:
            return self._snapshot(kind, item_id)

    def job(self, job_id: str) -> Item:
        """A job as `GET jobs/{id}` shows it (the `job` shape, not the `backgroundJob` one)."""
        with self._lock:
            background = self._peek("jobs", job_id)
            status = background["status"]
            job: Item = {
                "id": background["id"],
                "mode": "Asynchronous",
                "type": _JOB_TYPES.get(background["jobType"], background["jobType"]),
                "progress": 100 if status in _JOB_FINISH_CODES else 0,
                "createdAt": background["createdAt"],
                "startedAt": background.get("startedAt"),
                "completedAt": background.get("endedAt"),
                "finishCode": _JOB_FINISH_CODES.get(status),
                "extractRefreshJob": {"workbook": dict(background["_workbook"])},
            }
            return job

    def workbook_views(self, workbook_id: str) -> list[Item]:
        with self._lock:
            workbook = self._peek("workbooks", workbook_id)
            views = self._items["views"]
            return [
                self._present("views", v)
                for v in (views.snapshot(i) for i in workbook["_views"])
                if v is not None
            ]

    def group_members(self, group_id: str) -> set[str]:
        with self._lock:
            return set(self._peek("groups", group_id)["_members"])

    def project_counts(self, project_id: str) -> dict[str, int]:
        """The project's `contentsCounts` (its direct sub-projects and content)."""
        with self._lock:
            self._peek("projects", project_id)
            return dict(zip(_COUNT_NAMES, self._counts.get(project_id, [0, 0, 0, 0]), strict=True))

    def scan(self, kind: str) -> list[Item]:
        """Copies of every item of `kind`, in order (for whole-site views such as the Metadata
        API's; listings use `list_page`, which costs a page)."""
        with self._lock:
            table = self._items[kind]
            return [self._present(kind, i) for i in (table.snapshot(j) for j in table.ids()) if i]

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._items[kind])

    def ids(self, kind: str) -> list[str]:
        """The ids of `kind`, in listing order."""
        with self._lock:
            return self._items[kind].ids()

    def slice(self, kind: str, start: int, stop: int) -> list[Item]:
        """Copies of the items at positions start..stop-1 in listing order (costs the slice)."""
        with self._lock:
            return [self._present(kind, i) for i in self._items[kind].page(start, stop)]

    # -- accounts (used by sign-in) --------------------------------------------------------------

    # member_id and member_name take no lock: each is one dict read (atomic in CPython), so a
    # sign-in never waits behind a slow listing that holds the site lock.

    def member_id(self, user_name: str) -> str | None:
        return self._user_names.get(user_name.lower())

    def member_name(self, user_id: str) -> str | None:
        user = self._items["users"].peek(user_id)
        return None if user is None else str(user["name"])

    def touch_login(self, user_id: str, when: float) -> None:
        with self._lock:
            if user_id in self._items["users"]:
                user = self._items["users"][user_id]
                user["lastLogin"] = iso(when)
                user["_rev"] = revision()

    # -- keeping counters and indexes ------------------------------------------------------------

    def _recount(self, project_id: str, kind: str, delta: int) -> None:
        counts = self._counts.get(project_id)
        if counts is None:
            return
        counts[_COUNTED[kind]] += delta
        if project_id in self._items["projects"]:
            self._items["projects"][project_id]["_rev"] = revision()  # its counts show

    def _insert(self, kind: str, item: Item) -> None:
        """Add a new item (its table's `on_change` keeps the counters and indexes)."""
        self._items[kind][item["id"]] = item

    def _discard(self, kind: str, item_id: str) -> None:
        """Remove one item (its table's `on_change` keeps the counters and indexes)."""
        del self._items[kind][item_id]

    def _watch(self, kind: str) -> Callable[[Item | None, Item | None], None]:
        def changed(old: Item | None, new: Item | None) -> None:
            self._changed(kind, old, new)

        return changed

    def _changed(self, kind: str, old: Item | None, new: Item | None) -> None:
        """An item of `kind` was stored (`old` None), replaced, or removed (`new` None)."""
        if old is not None:
            self._unindex(kind, old, gone=new is None)
            if kind in _COUNTED:
                self._recount(_project_of(kind, old), kind, -1)
        if new is not None:
            self._index(kind, new)
            if kind in _COUNTED:
                self._recount(_project_of(kind, new), kind, +1)

    def _index(self, kind: str, item: Item) -> None:
        if kind == "projects":
            self._counts.setdefault(item["id"], [0, 0, 0, 0])
            parent = _project_of(kind, item)
            if parent:
                self._children.setdefault(parent, set()).add(item["id"])
            self._project_names[(parent, item["name"].lower())] = item["id"]
        elif kind == "groups":
            self._group_names[item["name"].lower()] = item["id"]
        elif kind == "users":
            self._user_names[item["name"].lower()] = item["id"]

    def _unindex(self, kind: str, item: Item, *, gone: bool) -> None:
        if kind == "projects":
            parent = _project_of(kind, item)
            self._children.get(parent, set()).discard(item["id"])
            self._project_names.pop((parent, item["name"].lower()), None)
            if gone:
                self._children.pop(item["id"], None)
                self._counts.pop(item["id"], None)
        elif kind == "groups":
            self._group_names.pop(item["name"].lower(), None)
        elif kind == "users":
            self._user_names.pop(item["name"].lower(), None)

    def _move(self, kind: str, item: Item, new_project: str) -> None:
        """Count `item` (live, about to be changed by the caller) in `new_project` instead."""
        old = _project_of(kind, item)
        if old == new_project:
            return
        if kind == "projects":
            self._children.get(old, set()).discard(item["id"])
            if new_project:
                self._children.setdefault(new_project, set()).add(item["id"])
        self._recount(old, kind, -1)
        self._recount(new_project, kind, +1)

    # -- writing -------------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        self._counter += 1
        return stable_id(self.site_url or "default-site", kind, "created", str(self._counter))

    def _now(self) -> str:
        return iso(self._clock.time())

    def _owner_ref(self, user_id: str) -> dict[str, str]:
        user = self._peek("users", user_id)
        return {"id": user["id"], "name": user["name"]}

    def create_project(self, data: Mapping[str, Any], owner_id: str) -> Item:
        with self._lock:
            name = text_field(data, "name")
            if not name:
                raise ApiError.malformed_body("a project needs a name")
            parent = text_field(data, "parentProjectId") or ""
            if parent:
                self._peek("projects", parent)
            self._unique_project_name(name, parent, None)
            project: Item = {
                "id": self._new_id("project"),
                "name": name,
                "description": text_field(data, "description") or "",
                "contentPermissions": text_field(data, "contentPermissions") or "ManagedByOwner",
                "parentProjectId": parent,
                "topLevelProject": parent == "",
                "writeable": True,
                "owner": self._owner_ref(owner_id),
                "_createdAt": self._now(),
                "_updatedAt": self._now(),
            }
            project["_rev"] = revision()
            self._insert("projects", project)
            return self._snapshot("projects", project["id"])

    def _unique_project_name(self, name: str, parent: str, own_id: str | None) -> None:
        other = self._project_names.get((parent, name.lower()))
        if other is not None and other != own_id:
            raise ApiError.conflict(
                "409006",
                "Project name conflict",
                f"A project with the name '{name}' already exists at this level.",
            )

    def update_project(self, project_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
            self._peek("projects", project_id)
            project = self._get("projects", project_id)
            name = text_field(data, "name") or project["name"]
            parent = text_field(data, "parentProjectId")
            parent = project["parentProjectId"] if parent is None else parent
            if parent:
                self._peek("projects", parent)
                if parent == project_id or parent in self._descendants(project_id):
                    raise ApiError.malformed_body("a project cannot be moved under itself")
            self._unique_project_name(name, parent, project_id)
            owner = data.get("owner")
            if isinstance(owner, Mapping) and owner.get("id"):
                project["owner"] = self._owner_ref(str(owner["id"]))
            for key in ("description", "contentPermissions"):
                value = text_field(data, key)
                if value is not None:
                    project[key] = value
            self._project_names.pop((project["parentProjectId"], project["name"].lower()), None)
            self._project_names[(parent, name.lower())] = project_id
            self._move("projects", project, parent)
            project.update(name=name, parentProjectId=parent, topLevelProject=parent == "")
            project["_updatedAt"] = self._now()
            project["_rev"] = revision()
            return self._snapshot("projects", project_id)

    def _descendants(self, project_id: str) -> set[str]:
        found: set[str] = set()
        frontier = [project_id]
        while frontier:
            children = self._children.get(frontier.pop(), set()) - found
            found |= children
            frontier.extend(children)
        return found

    def delete_project(self, project_id: str) -> None:
        """Delete a project with its sub-projects and everything in them (as Tableau does)."""
        with self._lock:
            self._peek("projects", project_id)
            doomed = {project_id} | self._descendants(project_id)
            for kind in ("workbooks", "views", "datasources"):
                table = self._items[kind]
                table.delete_many({i["id"] for i in table.scan() if _project_of(kind, i) in doomed})
            self._items["projects"].delete_many(doomed)

    def create_group(self, data: Mapping[str, Any]) -> Item:
        with self._lock:
            name = text_field(data, "name")
            if not name:
                raise ApiError.malformed_body("a group needs a name")
            self._unique_group_name(name, None)
            group: Item = {"id": self._new_id("group"), "name": name, "domain": {"name": "local"}}
            role = text_field(data, "minimumSiteRole")
            if role is not None:
                self._check_role(role)
                group["minimumSiteRole"] = role
            group["_members"] = []
            group["_rev"] = revision()
            self._insert("groups", group)
            return self._snapshot("groups", group["id"])

    def _unique_group_name(self, name: str, own_id: str | None) -> None:
        other = self._group_names.get(name.lower())
        if other is not None and other != own_id:
            raise ApiError.conflict(
                "409009", "Group name conflict", f"A group named '{name}' already exists."
            )

    def update_group(self, group_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
            self._peek("groups", group_id)
            group = self._get("groups", group_id)
            name = text_field(data, "name")
            if name:
                self._unique_group_name(name, group_id)
                self._group_names.pop(group["name"].lower(), None)
                self._group_names[name.lower()] = group_id
                group["name"] = name
            role = text_field(data, "minimumSiteRole")
            if role is not None:
                self._check_role(role)
                group["minimumSiteRole"] = role
            group["_rev"] = revision()
            return self._snapshot("groups", group_id)

    def delete_group(self, group_id: str) -> None:
        with self._lock:
            group = self._peek("groups", group_id)
            if group["name"] == "All Users":
                raise ApiError.forbidden("The 'All Users' group cannot be deleted.")
            self._discard("groups", group_id)

    def add_to_group(self, group_id: str, user_id: str) -> Item:
        with self._lock:
            self._peek("groups", group_id)
            user = self._snapshot("users", user_id)
            group = self._get("groups", group_id)
            if user_id in group["_members"]:
                raise ApiError.conflict(
                    "409011", "User conflict", f"User '{user_id}' is already a member of the group."
                )
            group["_members"].append(user_id)
            group["_rev"] = revision()
            return user

    def remove_from_group(self, group_id: str, user_id: str) -> None:
        with self._lock:
            self._peek("groups", group_id)
            self._peek("users", user_id)
            group = self._get("groups", group_id)
            if user_id not in group["_members"]:
                raise ApiError.item_not_found("404002", "user", user_id)
            group["_members"].remove(user_id)
            group["_rev"] = revision()

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in SITE_ROLES:
            raise ApiError(400, "400000", "Bad Request", f"'{role}' is not a valid site role.")

    def add_user(self, data: Mapping[str, Any]) -> Item:
        with self._lock:
            name = text_field(data, "name")
            role = text_field(data, "siteRole")
            if not name or not role:
                raise ApiError.malformed_body("a user needs a name and a siteRole")
            self._check_role(role)
            if self.member_id(name) is not None:
                raise ApiError.conflict(
                    "409000", "User conflict", f"User '{name}' already exists on the site."
                )
            user: Item = {
                "id": self._new_id("user"),
                "name": name,
                "siteRole": role,
                "authSetting": text_field(data, "authSetting") or "ServerDefault",
                "externalAuthUserId": "",
                "domain": {"name": "local"},
            }
            user["_rev"] = revision()
            self._insert("users", user)
            everyone = self._items["groups"][
                stable_id(self.site_url or "default-site", "group", "All Users")
            ]
            everyone["_members"].append(user["id"])
            everyone["_rev"] = revision()
            return self._snapshot("users", user["id"])

    def update_user(self, user_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
            self._peek("users", user_id)
            user = self._get("users", user_id)
            role = text_field(data, "siteRole")
            if role is not None:
                self._check_role(role)
                user["siteRole"] = role
            for key in ("fullName", "email", "authSetting"):
                value = text_field(data, key)
                if value is not None:
                    user[key] = value
            user["_rev"] = revision()
            return self._snapshot("users", user_id)

    def remove_user(self, user_id: str, map_assets_to: str | None, fallback_owner: str) -> None:
        """Remove a user; what they own goes to `map_assets_to` (or `fallback_owner`)."""
        with self._lock:
            user = self._peek("users", user_id)
            if user.get("_account"):
                raise ApiError.forbidden("The emulator's sign-in accounts cannot be removed.")
            heir_id = map_assets_to or fallback_owner
            if heir_id == user_id:
                raise ApiError.malformed_body("mapAssetsTo names the user being removed")
            heir = self._owner_ref(heir_id)
            for kind in ("projects", "workbooks", "views", "datasources"):
                table = self._items[kind]
                owned = [i["id"] for i in table.scan() if i["owner"]["id"] == user_id]
                for item_id in owned:
                    item = table[item_id]
                    item["owner"] = dict(heir)
                    item["_rev"] = revision()
            groups = self._items["groups"]
            for group_id in [g["id"] for g in groups.scan() if user_id in g["_members"]]:
                group = groups[group_id]
                group["_members"].remove(user_id)
                group["_rev"] = revision()
            self._discard("users", user_id)

    # -- publishing and deleting workbooks and data sources ------------------------------------

    def find_named(self, kind: str, name: str, project_id: str) -> Item | None:
        """The workbook or data source called `name` (any case) in a project, if any."""
        with self._lock:
            for item in self._items[kind].scan():
                if item["project"]["id"] == project_id and item["name"].lower() == name.lower():
                    return self._present(kind, item)
            return None

    def _content_url(self, kind: str, name: str, own_id: str | None) -> str:
        base = "".join(ch for ch in name if ch.isalnum() or ch in "-_") or "item"
        taken = {i["contentUrl"] for i in self._items[kind].scan() if i["id"] != own_id}
        url, n = base, 0
        while url in taken:
            n += 1
            url = f"{base}_{n}"
        return url

    def publish(
        self, kind: str, data: Mapping[str, Any], owner_id: str, size_bytes: int, overwrite: bool
    ) -> Item:
        """Create (or, with `overwrite`, replace) a workbook or data source from a publish
        request's element. A new workbook gets one view, "Sheet 1"."""
        with self._lock:
            name = text_field(data, "name")
            project_ref = data.get("project")
            project_id = text_field(project_ref, "id") if isinstance(project_ref, Mapping) else None
            if not name or not project_id:
                raise ApiError.malformed_body(f"a {KINDS[kind].label} needs a name and a project")
            project = self._get("projects", project_id)
            existing = next(
                (
                    i
                    for i in self._items[kind].scan()
                    if i["project"]["id"] == project_id and i["name"].lower() == name.lower()
                ),
                None,
            )
            if existing is not None and not overwrite:
                raise ApiError.conflict(
                    "409004",
                    "Resource Conflict",
                    f"A {KINDS[kind].label} named '{name}' already exists in project "
                    f"'{project['name']}'; publish with overwrite=true to replace it.",
                )
            now = self._now()
            item_id = existing["id"] if existing else self._new_id(kind[:-1])
            project_ref_out = {"id": project["id"], "name": project["name"]}
            item: Item = {
                "id": item_id,
                "name": name,
                "description": text_field(data, "description") or "",
                "contentUrl": self._content_url(kind, name, item_id),
                "webpageUrl": f"https://tableau.example.com/#/site/{self.site_url}/{kind}/"
                f"{item_id}",
                "size": max(1, -(-size_bytes // (1024 * 1024))),
                "createdAt": existing["createdAt"] if existing else now,
                "updatedAt": now,
                "encryptExtracts": False,
                "hasExtracts": False,
                "project": project_ref_out,
                "owner": self._owner_ref(owner_id),
                "tags": [],
            }
            if kind == "workbooks":
                show_tabs = text_field(data, "showTabs")
                item["showTabs"] = (show_tabs or "false").lower() == "true"
                item["sheetCount"] = 1
                item["location"] = {**project_ref_out, "type": "Project"}
                view_ids = existing["_views"] if existing else [self._new_id("view")]
                for view_id in view_ids:
                    self._store(
                        "views",
                        {
                            "id": view_id,
                            "name": "Sheet 1",
                            "contentUrl": f"{item['contentUrl']}/sheets/Sheet1",
                            "viewUrlName": "Sheet1",
                            "sheetType": "worksheet",
                            "createdAt": item["createdAt"],
                            "updatedAt": now,
                            "favoritesTotal": 0,
                            "_totalViewCount": 0,
                            "workbook": {"id": item_id, "name": name},
                            "owner": dict(item["owner"]),
                            "project": dict(project_ref_out),
                            "tags": [],
                            "location": {**project_ref_out, "type": "Project"},
                            "_rev": revision(),
                        },
                    )
                item["defaultViewId"] = view_ids[0]
                item["_views"] = view_ids
            else:
                item.update(type=text_field(data, "type") or "hyper", isCertified=False)
                item.update(useRemoteQueryAgent=False, isPublished=True)
            item["_rev"] = revision()
            self._store(kind, item)
            return self._present(kind, item)

    def delete_content(self, kind: str, item_id: str) -> None:
        """Delete a workbook (with its views) or a data source."""
        with self._lock:
            item = self._get(kind, item_id)
            for view_id in item.get("_views", ()):
                self._unstore("views", view_id)
            self._unstore(kind, item_id)

    def _store(self, kind: str, item: Item) -> None:
        """Add or replace one published item (the one place publishing writes the tables)."""
        self._items[kind][item["id"]] = item

    def _unstore(self, kind: str, item_id: str) -> None:
        """Remove one item, if present (the one place deleting content writes the tables)."""
        table = self._items[kind]
        if item_id in table:
            del table[item_id]

    def has(self, kind: str, item_id: str) -> bool:
        with self._lock:
            return item_id in self._items[kind]

    def user_count(self) -> int:
        with self._lock:
            return len(self._items["users"])
