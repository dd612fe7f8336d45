"""Listings of what the emulator shows but does not manage: flows (`GET sites/{site}/flows`),
server schedules (`GET schedules`, Tableau Server only) and extract-refresh tasks
(`GET sites/{site}/tasks/extractRefreshes`). See `state.catalog` for what they hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node, node_from_item
from tabsession.emulator.state import catalog
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import Field, parse_query, run_query
from tabsession.emulator.state.seed import stable_id

__all__ = ["list_extract_tasks", "list_flows", "list_schedules"]


def _attr(name: str) -> Field:
    return Field(lambda item: item.get(name))


_FLOW_FIELDS = {
    "id": _attr("id"),
    "name": _attr("name"),
    "projectName": Field(lambda item: item["project"]["name"]),
    "createdAt": Field(lambda item: item.get("createdAt"), "datetime"),
    "updatedAt": Field(lambda item: item.get("updatedAt"), "datetime"),
}
_SCHEDULE_FIELDS = {"id": _attr("id"), "name": _attr("name"), "type": _attr("type")}


def _paged(
    call: Call, tag: str, items: Sequence[Mapping[str, Any]], fields: Mapping[str, Field]
) -> Reply:
    query = parse_query(call.params, fields)
    page = run_query(items, query, fields)
    pagination = Node(
        "pagination",
        {
            "pageNumber": str(page.page_number),
            "pageSize": str(page.page_size),
            "totalAvailable": str(page.total),
        },
    )
    nodes = [node_from_item(tag, dict(i)) for i in page.items]
    return Reply(200, [pagination, Node(tag + "s", children=nodes, collection=True)])


def list_flows(call: Call) -> Reply:
    site = call.require_site()
    sid = site.content_url or "default-site"
    default_id = stable_id(sid, "project", "Default")
    try:
        project: Mapping[str, Any] = site.content.get("projects", default_id)
    except ApiError:  # the Default project was deleted: the flows keep their reference
        project = {"id": default_id, "name": "Default"}
    owner = stable_id(sid, "user", call.state.config.admin.name)
    items = catalog.flows(site.content_url, call.state.config.seed_items, project, owner)
    return _paged(call, "flow", items, _FLOW_FIELDS)


def list_schedules(call: Call) -> Reply:
    if call.state.config.mode == "cloud":  # List Server Schedules is for Tableau Server only
        raise ApiError.unknown_resource(f"/{call.version}/{call.path}")
    return _paged(call, "schedule", catalog.SCHEDULES, _SCHEDULE_FIELDS)


def list_extract_tasks(call: Call) -> Reply:
    site = call.require_site()
    query = parse_query(
        {"filter": "hasExtracts:eq:true", "pageSize": str(catalog.MAX_TASKS)},
        KINDS["workbooks"].fields,
    )
    workbooks = site.content.list_page("workbooks", query).items
    tasks = catalog.extract_tasks(site.content_url, [str(w["id"]) for w in workbooks])
    nodes = [node_from_item("task", t) for t in tasks]
    return Reply(200, [Node("tasks", children=nodes, collection=True)])
