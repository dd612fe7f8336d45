"""Site content: list, get, create, update, delete (`/api/{v}/sites/{site}/...`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node, node_from_item
from tabsession.emulator.http.shapes import shape, workbook_with_views
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import (
    Page,
    Query,
    field_selection,
    parse_query,
    select_fields,
)

__all__ = [
    "add_group_member",
    "create",
    "delete",
    "delete_content",
    "get",
    "group_users",
    "listing",
    "page_reply",
    "remove_group_member",
    "update",
    "workbook_views",
]

Handler = Callable[[Call], Reply]


_REMEMBERED = frozenset({"workbooks", "views", "datasources", "users", "jobs"})
"""Kinds whose rendering depends only on the item itself (projects and groups show counts
computed from other items), so that it can be reused while the item's `_rev` is unchanged."""


def _usage_asked(call: Call) -> bool:
    return call.params.get("includeUsageStatistics", "").lower() == "true"


def _with_usage(call: Call, kind: str, item: dict[str, Any]) -> dict[str, Any]:
    if kind == "views" and _usage_asked(call):
        item["usage"] = {"totalViewCount": item.get("_totalViewCount", 0)}
    return item


def page_reply(call: Call, kind: str, query: Query, page: Page) -> Reply:
    spec = KINDS[kind]
    selection = field_selection(query.fields, spec.singular)
    pagination = Node(
        "pagination",
        {
            "pageNumber": str(page.page_number),
            "pageSize": str(page.page_size),
            "totalAvailable": str(page.total),
        },
    )
    usage = kind == "views" and _usage_asked(call)
    remember = selection is None and kind in _REMEMBERED
    items = [
        node_from_item(
            spec.singular,
            shape(
                kind,
                _with_usage(call, kind, select_fields(i, selection)),
                complete=selection is None,
            ),
            key=(spec.singular, i["_rev"], usage) if remember and "_rev" in i else None,
        )
        for i in page.items
    ]
    return Reply(200, [pagination, Node(spec.plural, children=items, collection=True)])


def _one(kind: str, item: Mapping[str, Any], status: int = 200) -> Reply:
    return Reply(status, [node_from_item(KINDS[kind].singular, shape(kind, item))])


def listing(kind: str) -> Handler:
    """GET sites/{site}/<kind>: one page, filtered and sorted."""

    def handler(call: Call) -> Reply:
        query = parse_query(call.params, KINDS[kind].fields)
        return page_reply(call, kind, query, call.require_site().content.list_page(kind, query))

    return handler


def get(kind: str) -> Handler:
    """GET sites/{site}/<kind>/{id}."""

    def handler(call: Call) -> Reply:
        content = call.require_site().content
        item = content.get(kind, call.match["id"])
        if kind == "workbooks":  # a workbook's own answer lists its views, as Tableau's does
            item = workbook_with_views(item, content.workbook_views(item["id"]))
        return _one(kind, _with_usage(call, kind, item))

    return handler


def delete_content(kind: str) -> Handler:
    """DELETE sites/{site}/workbooks/{id} and datasources/{id} (204); the file goes too."""

    def handler(call: Call) -> Reply:
        site = call.require_site()
        site.content.delete_content(kind, call.match["id"])
        call.state.files.drop(site.id, kind, call.match["id"])
        return Reply(204)

    return handler


def workbook_views(call: Call) -> Reply:
    """All views of a workbook in one answer (no pagination: TSC does not read it here)."""
    views = call.require_site().content.workbook_views(call.match["id"])
    nodes = [node_from_item("view", shape("views", _with_usage(call, "views", v))) for v in views]
    return Reply(200, [Node("views", children=nodes, collection=True)])


def group_users(call: Call) -> Reply:
    content = call.require_site().content
    members = content.group_members(call.match["id"])
    query = parse_query(call.params, KINDS["users"].fields)
    page = content.list_page("users", query, within=lambda u: u["id"] in members)
    return page_reply(call, "users", query, page)


def add_group_member(call: Call) -> Reply:
    user = call.element("user")
    item = call.require_site().content.add_to_group(call.match["id"], str(user.get("id", "")))
    return _one("users", item)


def remove_group_member(call: Call) -> Reply:
    call.require_site().content.remove_from_group(call.match["id"], call.match["user_id"])
    return Reply(204)


def create(kind: str) -> Handler:
    """POST sites/{site}/<kind> for projects, groups and users (201 with the new item)."""

    def handler(call: Call) -> Reply:
        content = call.require_site().content
        data = call.element(KINDS[kind].singular)
        if kind == "projects":
            item = content.create_project(data, call.require_session().user_id)
        elif kind == "groups":
            item = content.create_group(data)
        else:
            item = content.add_user(data)
        return _one(kind, item, 201)

    return handler


def update(kind: str) -> Handler:
    """PUT sites/{site}/<kind>/{id} (an empty element changes nothing and returns the item)."""

    def handler(call: Call) -> Reply:
        content = call.require_site().content
        data = call.element(KINDS[kind].singular)
        updaters: dict[str, Callable[[str, Mapping[str, Any]], dict[str, Any]]] = {
            "projects": content.update_project,
            "groups": content.update_group,
            "users": content.update_user,
        }
        return _one(kind, updaters[kind](call.match["id"], data))

    return handler


def delete(kind: str) -> Handler:
    """DELETE sites/{site}/<kind>/{id} (204)."""

    def handler(call: Call) -> Reply:
        content = call.require_site().content
        item_id = call.match["id"]
        if kind == "projects":
            content.delete_project(item_id)
        elif kind == "groups":
            content.delete_group(item_id)
        else:
            heir = call.params.get("mapAssetsTo") or None
            content.remove_user(item_id, heir, call.require_session().user_id)
        return Reply(204)

    return handler
