"""The kinds of content a site holds, and how each is filtered, sorted and shown.

Items are plain dicts shaped like their XML: scalar values are attributes, dicts are child
elements, lists are collections (`tags: [{"label": "x"}]`). Keys starting with `_` are internal
(links between items) and are never rendered. `present()` adds what is computed on read
(`userCount`, `contentsCounts`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tabsession.emulator.state.query import Field

__all__ = ["KINDS", "SITE_ROLES", "Kind"]

Item = dict[str, Any]

SITE_ROLES = frozenset(
    {
        "Interactor", "Publisher", "ServerAdministrator", "SiteAdministrator", "Unlicensed",
        "UnlicensedWithPublish", "Viewer", "ViewerWithPublish", "Guest", "Creator", "Explorer",
        "ExplorerCanPublish", "ReadOnly", "SiteAdministratorCreator",
        "SiteAdministratorExplorer", "SupportUser",
    }
)  # fmt: skip


def _attr(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda item: item.get(name)


def _child(child: str, name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda item: (item.get(child) or {}).get(name)


def _tags(item: Mapping[str, Any]) -> list[str]:
    return [t["label"] for t in item.get("tags") or []]


@dataclass(frozen=True)
class Kind:
    """One kind of content: its element names, 404 code and queryable fields."""

    plural: str
    singular: str
    label: str
    not_found_code: str
    fields: Mapping[str, Field]


_COMMON = {
    "id": Field(_attr("id")),
    "name": Field(_attr("name")),
}

_PUBLISHED = {
    **_COMMON,
    "contentUrl": Field(_attr("contentUrl")),
    "projectName": Field(_child("project", "name")),
    "ownerName": Field(_child("owner", "name")),
    "createdAt": Field(_attr("createdAt"), "datetime"),
    "updatedAt": Field(_attr("updatedAt"), "datetime"),
    "tags": Field(_tags, "list"),
}
"""The fields every published item (workbook, view, data source) filters and sorts on."""

KINDS: dict[str, Kind] = {
    "projects": Kind(
        "projects",
        "project",
        "project",
        "404005",
        {
            **_COMMON,
            "description": Field(_attr("description")),
            "parentProjectId": Field(_attr("parentProjectId")),
            "topLevelProject": Field(_attr("topLevelProject"), "bool"),
            "ownerName": Field(_child("owner", "name")),
            "createdAt": Field(_attr("_createdAt"), "datetime"),
            "updatedAt": Field(_attr("_updatedAt"), "datetime"),
        },
    ),
    "users": Kind(
        "users",
        "user",
        "user",
        "404002",
        {
            **_COMMON,
            "siteRole": Field(_attr("siteRole")),
            "lastLogin": Field(_attr("lastLogin"), "datetime"),
            "friendlyName": Field(_attr("fullName")),
            "fullName": Field(_attr("fullName")),
            "email": Field(_attr("email")),
            "domainName": Field(_child("domain", "name")),
        },
    ),
    "groups": Kind(
        "groups",
        "group",
        "group",
        "404012",
        {
            **_COMMON,
            "domainName": Field(_child("domain", "name")),
            "userCount": Field(lambda item: len(item.get("_members", ())), "int"),
            "minimumSiteRole": Field(_attr("minimumSiteRole")),
        },
    ),
    "workbooks": Kind(
        "workbooks",
        "workbook",
        "workbook",
        "404006",
        {
            **_PUBLISHED,
            "projectId": Field(_child("project", "id")),
            "size": Field(_attr("size"), "int"),
            "sheetCount": Field(_attr("sheetCount"), "int"),
            "hasExtracts": Field(_attr("hasExtracts"), "bool"),
        },
    ),
    "views": Kind(
        "views",
        "view",
        "view",
        "404011",
        {
            **_PUBLISHED,
            "viewUrlName": Field(_attr("viewUrlName")),
            "sheetType": Field(_attr("sheetType")),
            "workbookName": Field(_child("workbook", "name")),
        },
    ),
    "datasources": Kind(
        "datasources",
        "datasource",
        "data source",
        "404011",
        {
            **_PUBLISHED,
            "type": Field(_attr("type")),
            "isCertified": Field(_attr("isCertified"), "bool"),
            "hasExtracts": Field(_attr("hasExtracts"), "bool"),
        },
    ),
    "jobs": Kind(
        "backgroundJobs",
        "backgroundJob",
        "job",
        "404031",
        {
            "id": Field(_attr("id")),
            "status": Field(_attr("status")),
            "jobType": Field(_attr("jobType")),
            "title": Field(_attr("title")),
            "subtitle": Field(_attr("subtitle")),
            "priority": Field(_attr("priority"), "int"),
            "createdAt": Field(_attr("createdAt"), "datetime"),
            "startedAt": Field(_attr("startedAt"), "datetime"),
            "endedAt": Field(_attr("endedAt"), "datetime"),
        },
    ),
}
