"""The REST routes the emulator serves: path pattern (after `/api/{version}/`) → handlers by verb.

Data only. `auth=False` routes take no token; `{site}` routes are checked against the session's
site (404000 unknown, `site_mismatch_status` when another site's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.handlers import auth, content, server

__all__ = ["ROUTES", "Route", "match_route"]

Handler = Callable[[Call], Reply]
_ID = r"(?P<id>[^/]+)"
_SITE = r"sites/(?P<site>[^/]+)"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    auth: bool = True

    @property
    def site_scoped(self) -> bool:
        return "site" in self.pattern.groupindex


def _route(path: str, handlers: Mapping[str, Handler], *, auth: bool = True) -> Route:
    return Route(re.compile(f"^{path}/?$", re.IGNORECASE), handlers, auth)


def _content_routes() -> list[Route]:
    routes = []
    for kind in ("projects", "users", "groups", "workbooks", "views", "datasources"):
        collection: dict[str, Handler] = {"GET": content.listing(kind)}
        single: dict[str, Handler] = {"GET": content.get(kind)}
        if kind in ("projects", "groups", "users"):
            collection["POST"] = content.create(kind)
            single["PUT"] = content.update(kind)
            single["DELETE"] = content.delete(kind)
        routes.append(_route(f"{_SITE}/{kind}", collection))
        routes.append(_route(f"{_SITE}/{kind}/{_ID}", single))
    return routes


ROUTES: tuple[Route, ...] = (
    _route("serverinfo", {"GET": server.server_info}, auth=False),
    _route("auth/signin", {"POST": auth.sign_in}, auth=False),
    # sign-out and switch-site read the token themselves (sign-out must not refresh the session)
    _route("auth/signout", {"POST": auth.sign_out}, auth=False),
    _route("auth/switchsite", {"POST": auth.switch_site}, auth=False),
    _route("sessions/current", {"GET": server.current_session}),
    _route("sessions/(?P<session_id>[^/]+)", {"DELETE": server.delete_session}),
    _route("sites", {"GET": server.list_sites}),
    _route(_SITE, {"GET": server.get_site}),
    *_content_routes(),
    _route(f"{_SITE}/workbooks/{_ID}/views", {"GET": content.workbook_views}),
    _route(
        f"{_SITE}/groups/{_ID}/users",
        {"GET": content.group_users, "POST": content.add_group_member},
    ),
    _route(
        f"{_SITE}/groups/{_ID}/users/(?P<user_id>[^/]+)", {"DELETE": content.remove_group_member}
    ),
    _route(f"{_SITE}/jobs", {"GET": content.listing("jobs")}),
    _route(f"{_SITE}/jobs/{_ID}", {"GET": content.get_job}),
)


def match_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `path` and its captured groups, or None (→ 404003)."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
    return None
