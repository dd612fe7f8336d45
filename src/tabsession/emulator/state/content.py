"""The content of one site (projects, users, groups, workbooks, views, data sources, jobs) and
the operations on it. Thread-safe (one lock per site); knows nothing of HTTP.

Every item carries `_rev`, renewed on each change (see `seed.revision`).

Create, update and delete follow Tableau's rules where they matter to clients: names are unique
(projects among their siblings, groups and users on the site; 409 otherwise), references must
exist (404 with the kind's code), a user's site role must be one Tableau knows (400).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tabsession.clock import Clock
from tabsession.emulator.config import Account
from tabsession.emulator.state.errors import ApiError, text_field
from tabsession.emulator.state.kinds import KINDS, SITE_ROLES, Kind
from tabsession.emulator.state.query import Page, Query, run_query
from tabsession.emulator.state.seed import ItemsByKind, iso, revision, seed_site, stable_id

__all__ = ["SiteContent"]

Item = dict[str, Any]

_JOB_FINISH_CODES = {"Success": "0", "Failed": "1", "Cancelled": "2"}
_JOB_TYPES = {"refresh_extracts": "RefreshExtract"}


def _clone(value: Any) -> Any:
    """A copy of plain dict/list data (much cheaper than `copy.deepcopy` for item-sized data)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else _clone(v) for v in value]
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


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
        self._items: ItemsByKind = seed_site(site_url, seed_items, accounts)
        self._counter = 0

    # -- reading -------------------------------------------------------------------------------

    def _present(self, kind: str, item: Mapping[str, Any]) -> Item:
        """A copy with computed attributes added (internal `_` keys are left for the renderer)."""
        out: Item = _clone(item)
        if kind == "groups":
            out["userCount"] = len(item.get("_members", ()))
        elif kind == "projects":
            pid = item["id"]
            out["contentsCounts"] = {
                "projectCount": sum(
                    1 for p in self._items["projects"].values() if p["parentProjectId"] == pid
                ),
                "workbookCount": sum(
                    1 for w in self._items["workbooks"].values() if w["project"]["id"] == pid
                ),
                "viewCount": sum(
                    1 for v in self._items["views"].values() if v["project"]["id"] == pid
                ),
                "dataSourceCount": sum(
                    1 for d in self._items["datasources"].values() if d["project"]["id"] == pid
                ),
            }
        return out

    def _get(self, kind: str, item_id: str) -> Item:
        item = self._items[kind].get(item_id)
        if item is None:
            spec = KINDS[kind]
            raise ApiError.item_not_found(spec.not_found_code, spec.label, item_id)
        return item

    def list_page(
        self, kind: str, query: Query, *, within: Callable[[Item], bool] | None = None
    ) -> Page:
        """One page of `kind`, optionally only items for which `within(item)` is true."""
        spec: Kind = KINDS[kind]
        with self._lock:
            items: Sequence[Item] = list(self._items[kind].values())
            if within is not None:
                items = [i for i in items if within(i)]
            page = run_query(items, query, spec.fields)
            return Page(
                [self._present(kind, i) for i in page.items],
                page.page_number,
                page.page_size,
                page.total,
            )

    def get(self, kind: str, item_id: str) -> Item:
        with self._lock:
            return self._present(kind, self._get(kind, item_id))

    def job(self, job_id: str) -> Item:
        """A job as `GET jobs/{id}` shows it (the `job` shape, not the `backgroundJob` one)."""
        with self._lock:
            background = self._get("jobs", job_id)
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
            workbook = self._get("workbooks", workbook_id)
            return [self._present("views", self._items["views"][v]) for v in workbook["_views"]]

    def group_members(self, group_id: str) -> set[str]:
        with self._lock:
            return set(self._get("groups", group_id)["_members"])

    # -- accounts (used by sign-in) --------------------------------------------------------------

    def member_id(self, user_name: str) -> str | None:
        with self._lock:
            for user in self._items["users"].values():
                if user["name"].lower() == user_name.lower():
                    return str(user["id"])
            return None

    def member_name(self, user_id: str) -> str | None:
        with self._lock:
            user = self._items["users"].get(user_id)
            return None if user is None else str(user["name"])

    def touch_login(self, user_id: str, when: float) -> None:
        with self._lock:
            user = self._items["users"].get(user_id)
            if user is not None:
                user["lastLogin"] = iso(when)
                user["_rev"] = revision()

    # -- writing -------------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        self._counter += 1
        return stable_id(self.site_url or "default-site", kind, "created", str(self._counter))

    def _now(self) -> str:
        return iso(self._clock.time())

    def _owner_ref(self, user_id: str) -> dict[str, str]:
        user = self._get("users", user_id)
        return {"id": user["id"], "name": user["name"]}

    def create_project(self, data: Mapping[str, Any], owner_id: str) -> Item:
        with self._lock:
            name = text_field(data, "name")
            if not name:
                raise ApiError.malformed_body("a project needs a name")
            parent = text_field(data, "parentProjectId") or ""
            if parent:
                self._get("projects", parent)
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
            self._items["projects"][project["id"]] = project
            return self._present("projects", project)

    def _unique_project_name(self, name: str, parent: str, own_id: str | None) -> None:
        for other in self._items["projects"].values():
            same_place = other["parentProjectId"] == parent and other["id"] != own_id
            if same_place and other["name"].lower() == name.lower():
                raise ApiError.conflict(
                    "409006",
                    "Project name conflict",
                    f"A project with the name '{name}' already exists at this level.",
                )

    def update_project(self, project_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
            project = self._get("projects", project_id)
            name = text_field(data, "name") or project["name"]
            parent = text_field(data, "parentProjectId")
            parent = project["parentProjectId"] if parent is None else parent
            if parent:
                self._get("projects", parent)
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
            project.update(name=name, parentProjectId=parent, topLevelProject=parent == "")
            project["_updatedAt"] = self._now()
            project["_rev"] = revision()
            return self._present("projects", project)

    def _descendants(self, project_id: str) -> set[str]:
        found: set[str] = set()
        frontier = {project_id}
        while frontier:
            children = {
                p["id"]
                for p in self._items["projects"].values()
                if p["parentProjectId"] in frontier
            }
            frontier = children - found
            found |= children
        return found

    def delete_project(self, project_id: str) -> None:
        """Delete a project with its sub-projects and everything in them (as Tableau does)."""
        with self._lock:
            self._get("projects", project_id)
            doomed = {project_id} | self._descendants(project_id)
            for kind in ("workbooks", "views", "datasources"):
                self._items[kind] = {
                    k: v for k, v in self._items[kind].items() if v["project"]["id"] not in doomed
                }
            for pid in doomed:
                del self._items["projects"][pid]

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
            self._items["groups"][group["id"]] = group
            return self._present("groups", group)

    def _unique_group_name(self, name: str, own_id: str | None) -> None:
        for other in self._items["groups"].values():
            if other["id"] != own_id and other["name"].lower() == name.lower():
                raise ApiError.conflict(
                    "409009", "Group name conflict", f"A group named '{name}' already exists."
                )

    def update_group(self, group_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
            group = self._get("groups", group_id)
            name = text_field(data, "name")
            if name:
                self._unique_group_name(name, group_id)
                group["name"] = name
            role = text_field(data, "minimumSiteRole")
            if role is not None:
                self._check_role(role)
                group["minimumSiteRole"] = role
            group["_rev"] = revision()
            return self._present("groups", group)

    def delete_group(self, group_id: str) -> None:
        with self._lock:
            group = self._get("groups", group_id)
            if group["name"] == "All Users":
                raise ApiError.forbidden("The 'All Users' group cannot be deleted.")
            del self._items["groups"][group_id]

    def add_to_group(self, group_id: str, user_id: str) -> Item:
        with self._lock:
            group = self._get("groups", group_id)
            user = self._get("users", user_id)
            if user_id in group["_members"]:
                raise ApiError.conflict(
                    "409011", "User conflict", f"User '{user_id}' is already a member of the group."
                )
            group["_members"].append(user_id)
            group["_rev"] = revision()
            return self._present("users", user)

    def remove_from_group(self, group_id: str, user_id: str) -> None:
        with self._lock:
            group = self._get("groups", group_id)
            self._get("users", user_id)
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
            self._items["users"][user["id"]] = user
            everyone = self._items["groups"][
                stable_id(self.site_url or "default-site", "group", "All Users")
            ]
            everyone["_members"].append(user["id"])
            everyone["_rev"] = revision()
            return self._present("users", user)

    def update_user(self, user_id: str, data: Mapping[str, Any]) -> Item:
        with self._lock:
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
            return self._present("users", user)

    def remove_user(self, user_id: str, map_assets_to: str | None, fallback_owner: str) -> None:
        """Remove a user; what they own goes to `map_assets_to` (or `fallback_owner`)."""
        with self._lock:
            user = self._get("users", user_id)
            if user.get("_account"):
                raise ApiError.forbidden("The emulator's sign-in accounts cannot be removed.")
            heir_id = map_assets_to or fallback_owner
            if heir_id == user_id:
                raise ApiError.malformed_body("mapAssetsTo names the user being removed")
            heir = self._owner_ref(heir_id)
            for kind in ("projects", "workbooks", "views", "datasources"):
                for item in self._items[kind].values():
                    if item["owner"]["id"] == user_id:
                        item["owner"] = dict(heir)
                        item["_rev"] = revision()
            for group in self._items["groups"].values():
                if user_id in group["_members"]:
                    group["_members"].remove(user_id)
                    group["_rev"] = revision()
            del self._items["users"][user_id]

    # -- publishing and deleting workbooks and data sources ------------------------------------

    def find_named(self, kind: str, name: str, project_id: str) -> Item | None:
        """The workbook or data source called `name` (any case) in a project, if any."""
        with self._lock:
            for item in self._items[kind].values():
                if item["project"]["id"] == project_id and item["name"].lower() == name.lower():
                    return self._present(kind, item)
            return None

    def _content_url(self, kind: str, name: str, own_id: str | None) -> str:
        base = "".join(ch for ch in name if ch.isalnum() or ch in "-_") or "item"
        taken = {i["contentUrl"] for i in self._items[kind].values() if i["id"] != own_id}
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
                    for i in self._items[kind].values()
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
        self._items[kind].pop(item_id, None)

    def user_count(self) -> int:
        with self._lock:
            return len(self._items["users"])
