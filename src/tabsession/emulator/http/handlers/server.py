"""Server-level endpoints: server info, sessions and sites."""

from __future__ import annotations

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node, node_from_item
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.query import Field, parse_query, run_query

__all__ = ["current_session", "delete_session", "get_site", "list_sites", "server_info"]


def server_info(call: Call) -> Reply:
    product, build = call.state.config.product
    info = Node(
        "serverInfo",
        children=[
            Node("productVersion", {"build": build}, text=product),
            Node("restApiVersion", text=call.state.config.api_version),
        ],
    )
    return Reply(200, [info])


def current_session(call: Call) -> Reply:
    session = call.require_session()
    site = call.state.site_by_id(session.site_id)
    if site is None:
        raise ApiError.site_not_found(session.site_id)
    user = site.content.get("users", session.user_id)
    user_attrs = {
        key: str(user[key])
        for key in ("id", "name", "siteRole", "lastLogin", "externalAuthUserId", "authSetting")
        if user.get(key) is not None
    }
    return Reply(
        200, [Node("session", children=[Node("site", site.describe()), Node("user", user_attrs)])]
    )


def delete_session(call: Call) -> Reply:
    session = call.require_session()
    if call.state.config.mode != "server":
        raise ApiError.unknown_resource(f"/{call.version}/{call.path}")
    if not call.state.auth.is_admin(session.user_name):
        raise ApiError.forbidden("Only server administrators can delete sessions.")
    call.state.auth.delete_session(call.match["session_id"])
    return Reply(204)


_SITE_FIELDS = {
    "id": Field(lambda s: s.get("id")),
    "name": Field(lambda s: s.get("name")),
    "contentUrl": Field(lambda s: s.get("contentUrl")),
}


def _site_item(site_describe: dict[str, str]) -> dict[str, str]:
    return {**site_describe, "adminMode": "ContentAndUsers", "state": "Active"}


def list_sites(call: Call) -> Reply:
    if call.state.config.mode == "cloud":
        raise ApiError.sites_query_not_supported()
    query = parse_query(call.params, _SITE_FIELDS)
    sites = [_site_item(s.describe()) for s in call.state.sites()]
    page = run_query(sites, query, _SITE_FIELDS)
    pagination = Node(
        "pagination",
        {
            "pageNumber": str(page.page_number),
            "pageSize": str(page.page_size),
            "totalAvailable": str(page.total),
        },
    )
    listing = Node(
        "sites", children=[node_from_item("site", s) for s in page.items], collection=True
    )
    return Reply(200, [pagination, listing])


def get_site(call: Call) -> Reply:
    site = call.require_site()
    return Reply(200, [node_from_item("site", _site_item(site.describe()))])
