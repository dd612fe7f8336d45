"""Server-level endpoints: server info and sessions (sites: `handlers.sites`)."""

from __future__ import annotations

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node
from tabsession.emulator.state.errors import ApiError

__all__ = ["current_session", "delete_session", "server_info"]


def server_info(call: Call) -> Reply:
    product, build = call.state.config.product
    info = Node(
        "serverInfo",
        children=[
            Node("productVersion", {"build": build}, text=product),
            Node("prepConductorVersion", text=build),  # shipped with the server, same build
            Node("restApiVersion", text=call.state.config.api_version),
            Node("platform", text="linux"),
            Node(
                "serverSettings",
                children=[
                    Node("oAuthEnabled", text="true"),
                    Node("sheetImageMaxAgeFloor", text="1"),
                    Node("sheetImageMaxAgeCeiling", text="60"),
                    Node("offlineInteractionSupportedPhase", text="0"),
                ],
            ),
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
