"""The emulator at scale, by behaviour (the timings are in benchmarks/): counters kept right by
every mutation, listings that touch only their page, and a control plane that answers while a
handler is stuck."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.clock import ManualClock
from tabsession.emulator.config import Account
from tabsession.emulator.server import Emulator
from tabsession.emulator.state.content import SiteContent
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import parse_query
from tabsession.emulator.state.table import ItemTable

V = "3.23"
JSON = {"Accept": "application/json"}


_OPEN: list[httpx.Client] = []


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed_items=100) as running:
        yield running
        while _OPEN:
            _OPEN.pop().close()


def _signed_in(emu: Emulator) -> tuple[httpx.Client, str]:
    """A JSON client signed in as admin (closed by `emu`'s fixture teardown)."""
    http = httpx.Client(base_url=f"{emu.url}/api/{V}/", headers=JSON, timeout=30)
    body = {"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}}
    creds = http.post("auth/signin", json=body).json()["credentials"]
    http.headers["X-Tableau-Auth"] = creds["token"]
    _OPEN.append(http)
    return http, str(creds["site"]["id"])


def _projects(http: httpx.Client, site: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    number = 1
    while True:
        body = http.get(f"sites/{site}/projects", params={"pageSize": 1000, "pageNumber": number})
        assert body.status_code == 200, body.text
        data = body.json()
        for project in data["projects"].get("project", []):
            found[project["id"]] = project
        if number * 1000 >= int(data["pagination"]["totalAvailable"]):
            return found
        number += 1


def _counted(http: httpx.Client, site: str, kind: str, singular: str) -> dict[str, int]:
    """Per project id, how many items of `kind` a full listing shows in it."""
    counts: dict[str, int] = {}
    body = http.get(f"sites/{site}/{kind}", params={"pageSize": 1000}).json()
    assert int(body["pagination"]["totalAvailable"]) <= 1000
    for item in body[kind].get(singular, []):
        pid = item["project"]["id"]
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def _assert_counts_match_listings(http: httpx.Client, site: str) -> None:
    projects = _projects(http, site)
    workbooks = _counted(http, site, "workbooks", "workbook")
    views = _counted(http, site, "views", "view")
    datasources = _counted(http, site, "datasources", "datasource")
    for pid, project in projects.items():
        counts = project["contentsCounts"]
        children = sum(1 for p in projects.values() if p.get("parentProjectId") == pid)
        assert counts["projectCount"] == str(children), project["name"]
        assert counts["workbookCount"] == str(workbooks.get(pid, 0)), project["name"]
        assert counts["viewCount"] == str(views.get(pid, 0)), project["name"]
        assert counts["datasourceCount"] == str(datasources.get(pid, 0)), project["name"]


def test_seeded_counts_match_what_the_listings_show(emu: Emulator) -> None:
    http, site = _signed_in(emu)
    _assert_counts_match_listings(http, site)
    projects = _projects(http, site)
    assert sum(int(p["contentsCounts"]["workbookCount"]) for p in projects.values()) == 100


def test_create_move_and_delete_keep_the_counts_right(emu: Emulator) -> None:
    http, site = _signed_in(emu)
    seeded = next(p for p in _projects(http, site).values() if p["name"] == "Project 001")

    def create(name: str, parent: str = "") -> str:
        body: dict[str, Any] = {"project": {"name": name}}
        if parent:
            body["project"]["parentProjectId"] = parent
        answer = http.post(f"sites/{site}/projects", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["project"]["id"])

    outer = create("Outer")
    inner = create("Inner", outer)
    create("Leaf", inner)
    # seen once before the changes: the renderings of unchanged projects are remembered
    before = _projects(http, site)
    assert before[outer]["contentsCounts"]["projectCount"] == "1"
    _assert_counts_match_listings(http, site)

    moved = http.put(f"sites/{site}/projects/{inner}", json={"project": {"parentProjectId": ""}})
    assert moved.status_code == 200, moved.text
    after_move = _projects(http, site)
    assert after_move[outer]["contentsCounts"]["projectCount"] == "0"
    _assert_counts_match_listings(http, site)

    http.put(f"sites/{site}/projects/{inner}", json={"project": {"parentProjectId": seeded["id"]}})
    assert _projects(http, site)[seeded["id"]]["contentsCounts"]["projectCount"] == "1"
    _assert_counts_match_listings(http, site)

    # deleting a seeded project takes its content with it; the others' counts do not move
    victim = next(p for p in _projects(http, site).values() if p["name"] == "Project 002")
    assert int(victim["contentsCounts"]["workbookCount"]) > 0
    assert http.delete(f"sites/{site}/projects/{victim['id']}").status_code == 204
    assert http.delete(f"sites/{site}/projects/{seeded['id']}").status_code == 204
    projects = _projects(http, site)
    assert victim["id"] not in projects
    assert inner not in projects
    _assert_counts_match_listings(http, site)
    total = sum(int(p["contentsCounts"]["workbookCount"]) for p in projects.values())
    listed = http.get(f"sites/{site}/workbooks", params={"pageSize": 1}).json()
    assert (
        total == int(listed["pagination"]["totalAvailable"]) == 100 - 17 - 17
    )  # 6 projects: the first four hold 17


def test_group_counts_and_name_index_follow_changes(emu: Emulator) -> None:
    http, site = _signed_in(emu)
    created = http.post(f"sites/{site}/groups", json={"group": {"name": "Scale"}}).json()["group"]
    assert created["userCount"] == "0"
    user = http.post(
        f"sites/{site}/users", json={"user": {"name": "newbie", "siteRole": "Viewer"}}
    ).json()["user"]
    http.post(f"sites/{site}/groups/{created['id']}/users", json={"user": {"id": user["id"]}})
    listed = http.get(f"sites/{site}/groups", params={"filter": "name:eq:Scale"}).json()
    assert listed["groups"]["group"][0]["userCount"] == "1"
    again = http.post(f"sites/{site}/groups", json={"group": {"name": "scale"}})
    assert again.status_code == 409
    renamed = http.put(f"sites/{site}/groups/{created['id']}", json={"group": {"name": "Other"}})
    assert renamed.status_code == 200
    assert http.post(f"sites/{site}/groups", json={"group": {"name": "Scale"}}).status_code == 201
    assert http.delete(f"sites/{site}/users/{user['id']}").status_code == 204
    listed = http.get(f"sites/{site}/groups", params={"filter": "name:eq:Other"}).json()
    assert listed["groups"]["group"][0]["userCount"] == "0"
    # the removed user's name is free again
    answer = http.post(
        f"sites/{site}/users", json={"user": {"name": "newbie", "siteRole": "Viewer"}}
    )
    assert answer.status_code == 201


def _content(seed_items: int) -> SiteContent:
    return SiteContent("site", "", seed_items, [Account("admin", "admin")], ManualClock())


def test_a_page_builds_only_its_items() -> None:
    content = _content(10_000)
    tables: dict[str, ItemTable] = content._items
    page = content.list_page("workbooks", parse_query({"pageSize": "100", "pageNumber": "7"}, {}))
    assert [w["name"] for w in page.items][:2] == ["Workbook 00601", "Workbook 00602"]
    assert page.total == 10_000
    content.list_page("projects", parse_query({"pageSize": "100"}, {}))
    # listing built copies for the caller; it kept no item as a dict
    assert all(table.live_count == 0 for table in tables.values())


def test_a_filtered_listing_is_remembered_until_the_kind_changes() -> None:
    content = _content(200)
    fields = KINDS["workbooks"].fields
    params = {"filter": "tags:in:[batch3]", "sort": "name:desc", "pageSize": "5"}
    first = content.list_page("workbooks", parse_query(params, fields))
    assert first.total == 20
    assert next(w["name"] for w in first.items) == "Workbook 00194"
    tables: dict[str, ItemTable] = content._items
    version = tables["workbooks"].version
    second = content.list_page("workbooks", parse_query({**params, "pageNumber": "2"}, fields))
    assert next(w["name"] for w in second.items) == "Workbook 00144"
    assert tables["workbooks"].version == version  # nothing changed: the remembered ids served
    assert content._queries  # and they are the ones remembered


def test_the_control_plane_and_other_requests_answer_while_a_handler_is_stuck(
    emu: Emulator,
) -> None:
    http, site = _signed_in(emu)
    content = emu.state.site_by_id(site).content  # type: ignore[union-attr]
    entered, release = threading.Event(), threading.Event()
    original = content.list_page

    def stuck(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return original(*args, **kwargs)

    content.list_page = stuck  # type: ignore[method-assign]
    order: list[str] = []
    slow = threading.Thread(
        target=lambda: order.append(f"slow {http.get(f'sites/{site}/workbooks').status_code}")
    )
    slow.start()
    try:
        assert entered.wait(30)
        with httpx.Client(base_url=emu.url, timeout=30) as other:
            stats = other.get("/_emulator/stats")
            order.append(f"stats {stats.status_code}")
            info = other.get(f"/api/{V}/serverinfo")
            order.append(f"serverinfo {info.status_code}")
        assert stats.json()["requests"] >= 1
        assert order == ["stats 200", "serverinfo 200"]  # both while the listing was stuck
    finally:
        release.set()
        slow.join(30)
    assert order == ["stats 200", "serverinfo 200", "slow 200"]


def test_a_sign_in_waiting_on_a_busy_site_holds_up_nothing_else(emu: Emulator) -> None:
    """A handler that holds a site's lock (a long scan) delays sign-ins on that site, but never
    the auth lock: the control plane and serverinfo still answer meanwhile."""
    site = emu.state.site_by_url("")
    assert site is not None
    holding, release = threading.Event(), threading.Event()

    def busy() -> None:
        with site.content._lock:
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=busy)
    holder.start()
    order: list[str] = []
    try:
        assert holding.wait(30)
        signing_in = threading.Thread(target=lambda: order.append(f"sign-in {_signed_in(emu)[1]}"))
        signing_in.start()
        for _ in range(3000):  # bounded: until the sign-in has its session and waits on the site
            if emu.state.auth._sessions:
                break
            time.sleep(0.01)
        assert emu.state.auth._sessions, "the sign-in never got its session"
        with httpx.Client(base_url=emu.url, timeout=30) as other:
            for path in ("/_emulator/stats", "/_emulator/sessions", f"/api/{V}/serverinfo"):
                order.append(f"{path} {other.get(path).status_code}")
        assert order == [
            "/_emulator/stats 200",
            "/_emulator/sessions 200",
            f"/api/{V}/serverinfo 200",
        ]
    finally:
        release.set()
        holder.join(30)
    signing_in.join(30)
    assert order[-1] == f"sign-in {site.id}"
    assert emu.stats()["signins"] == 1
