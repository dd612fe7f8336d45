"""Sites: `GET sites` (server mode) and `GET sites/{site}`, by id, name or contentUrl
(`?key=name|contentUrl`), with the attribute set of a real answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tabsession.emulator.http.call import Call, Reply
from tabsession.emulator.http.render import Node, node_from_item
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.query import Field, parse_query, run_query

if TYPE_CHECKING:
    from tabsession.emulator.state.world import Site

__all__ = ["get_site", "list_sites", "site_shape"]

_SETTINGS: dict[str, Any] = {
    "adminMode": "ContentAndUsers",
    "state": "Active",
    "storageQuota": "100000",
    "disableSubscriptions": False,
    "subscribeOthersEnabled": True,
    "revisionHistoryEnabled": True,
    "revisionLimit": 25,
    "allowSubscriptionAttachments": True,
    "guestAccessEnabled": False,
    "cacheWarmupEnabled": True,
    "commentingEnabled": True,
    "commentingMentionsEnabled": True,
    "editingFlowsEnabled": True,
    "schedulingFlowsEnabled": True,
    "flowsEnabled": True,
    "extractEncryptionMode": "enabled",
    "catalogingEnabled": True,
    "catalogObfuscationEnabled": True,
    "derivedPermissionsEnabled": False,
    "requestAccessEnabled": False,
    "runNowEnabled": True,
    "dataAlertsEnabled": True,
    "askDataMode": "DisabledByDefault",
    "sheetImageEnabled": True,
    "explainDataEnabled": True,
    "webExtractionEnabled": True,
    "selfServiceScheduleForRefreshEnabled": True,
    "personalSpaceEnabled": False,
    "recycleBinEnabled": True,
    "tierCreatorCapacity": 100,
    "tierExplorerCapacity": 100,
    "tierViewerCapacity": 100,
    "useDefaultTimeZone": True,
    "timeZone": "UTC",
}
"""What every emulated site says about itself: Tableau's defaults for a new site."""


def site_shape(site: Site, *, usage: bool = False) -> dict[str, Any]:
    """A site as `GET sites` and `GET sites/{id}` show it (`usage`: with `<usage>`, as asked
    for by `includeUsage=true`)."""
    out: dict[str, Any] = {**site.describe(), **_SETTINGS}
    if usage:
        out["usage"] = {"numUsers": site.content.user_count(), "storage": 0}
    return out


_SITE_FIELDS = {
    "id": Field(lambda s: s.get("id")),
    "name": Field(lambda s: s.get("name")),
    "contentUrl": Field(lambda s: s.get("contentUrl")),
}


def list_sites(call: Call) -> Reply:
    if call.state.config.mode == "cloud":
        raise ApiError.sites_query_not_supported()
    query = parse_query(call.params, _SITE_FIELDS)
    page = run_query([site_shape(s) for s in call.state.sites()], query, _SITE_FIELDS)
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


def _find(call: Call, ref: str) -> Site | None:
    key = call.params.get("key", "id").lower()
    if key == "contenturl":
        return call.state.site_by_url(ref)
    if key == "name":
        return next((s for s in call.state.sites() if s.name.lower() == ref.lower()), None)
    if key != "id":
        raise ApiError.bad_query(f"key must be id, name or contentUrl, not '{key}'")
    return call.state.site_by_id(ref)


def get_site(call: Call) -> Reply:
    """GET sites/{site}: the session's own site, named by id (default), name or contentUrl."""
    ref = call.match["site_ref"]
    site = _find(call, ref)
    if site is None:
        raise ApiError.site_not_found(ref)
    session = call.require_session()
    if site.id != session.site_id:
        config = call.state.config
        raise ApiError(
            config.site_mismatch_status,
            config.mismatch_code,
            "Forbidden",
            f"The site '{ref}' is not the site this session is signed in to "
            f"('{session.site_id}'). (emulator code {config.mismatch_code})",
        )
    usage = call.params.get("includeUsage", "").lower() == "true"
    return Reply(200, [node_from_item("site", site_shape(site, usage=usage))])
