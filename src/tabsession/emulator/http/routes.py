"""The REST routes the emulator serves: path pattern (after `/api/{version}/`) → handlers by verb.

Data only. `auth=False` routes take no token; `{site}` routes are checked against the session's
site (404000 unknown, `site_mismatch_status` when another site's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.handlers import (
    auth,
    content,
    exports,
    jobs,
    listings,
    publish,
    server,
    sites,
)

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
        if kind in ("workbooks", "datasources"):
            collection["POST"] = publish.publish(kind)
            single["DELETE"] = content.delete_content(kind)
        routes.append(_route(f"{_SITE}/{kind}", collection))
        routes.append(_route(f"{_SITE}/{kind}/{_ID}", single))
    return routes


def _new_routes() -> list[Route]:
    """Publishing, downloads, refreshes, view exports and the read-only listings."""
    routes = [
        _route(f"{_SITE}/fileUploads", {"POST": publish.open_upload}),
        _route(f"{_SITE}/fileUploads/{_ID}", {"PUT": publish.append_upload}),
        _route(f"{_SITE}/flows", {"GET": listings.list_flows}),
        _route(f"{_SITE}/tasks/extractRefreshes", {"GET": listings.list_extract_tasks}),
    ]
    for kind in ("workbooks", "datasources"):
        routes.append(_route(f"{_SITE}/{kind}/{_ID}/content", {"GET": publish.download(kind)}))
        routes.append(_route(f"{_SITE}/{kind}/{_ID}/refresh", {"POST": jobs.refresh(kind)}))
    for what, suffix in (("image", "image"), ("pdf", "pdf"), ("data", "data"),
                         ("crosstab", "crosstab/excel")):  # fmt: skip
        routes.append(_route(f"{_SITE}/views/{_ID}/{suffix}", {"GET": exports.export(what)}))
    return routes


ROUTES: tuple[Route, ...] = (
    _route("serverinfo", {"GET": server.server_info}, auth=False),
    _route("auth/signin", {"POST": auth.sign_in}, auth=False),
    # sign-out and switch-site read the token themselves (sign-out must not refresh the session)
    _route("auth/signout", {"POST": auth.sign_out}, auth=False),
    _route("auth/switchsite", {"POST": auth.switch_site}, auth=False),
    _route("sessions/current", {"GET": server.current_session}),
    _route("sessions/(?P<session_id>[^/]+)", {"DELETE": server.delete_session}),
    _route("sites", {"GET": sites.list_sites}),
    # not site-scoped: {site_ref} may be a name or contentUrl (?key=...); the handler checks it
    _route("sites/(?P<site_ref>[^/]+)", {"GET": sites.get_site}),
    _route("schedules", {"GET": listings.list_schedules}),
    *_content_routes(),
    *_new_routes(),
    _route(f"{_SITE}/workbooks/{_ID}/views", {"GET": content.workbook_views}),
    _route(
        f"{_SITE}/groups/{_ID}/users",
        {"GET": content.group_users, "POST": content.add_group_member},
    ),
    _route(
        f"{_SITE}/groups/{_ID}/users/(?P<user_id>[^/]+)", {"DELETE": content.remove_group_member}
    ),
    _route(f"{_SITE}/jobs", {"GET": jobs.list_jobs}),
    _route(f"{_SITE}/jobs/{_ID}", {"GET": jobs.get_job, "PUT": jobs.cancel_job}),
)


def match_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `path` and its captured groups, or None (→ 404003)."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
    return None
