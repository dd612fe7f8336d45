"""Site content over real HTTP: seeding, paging, filters, sorting, fields, CRUD, renderings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.emulator import Account
from tabsession.emulator.server import Emulator

V = "3.23"
NS = {"t": "http://tableau.com/api"}
JSON = {"Accept": "application/json"}


class Site:
    """A signed-in JSON client for one site of an emulator."""

    def __init__(
        self, emu: Emulator, content_url: str = "", name: str = "admin", password: str = "admin"
    ) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=f"{emu.url}/api/{V}/", headers=JSON)
        body = {
            "credentials": {"name": name, "password": password, "site": {"contentUrl": content_url}}
        }
        creds = self.http.post("auth/signin", json=body).json()["credentials"]
        self.id = creds["site"]["id"]
        self.user_id = creds["user"]["id"]
        self.http.headers["X-Tableau-Auth"] = creds["token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"sites/{self.id}/{path}", **kwargs)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.request("GET", path, params=params)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def items(self, kind: str, singular: str, **params: Any) -> list[dict[str, Any]]:
        body = self.ok(kind, **params)
        found: list[dict[str, Any]] = body[kind if kind != "jobs" else "backgroundJobs"].get(
            singular, []
        )
        return found

    def all(
        self, kind: str, singular: str, page_size: int = 1000, **params: Any
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        number = 1
        while True:
            body = self.ok(kind, pageSize=page_size, pageNumber=number, **params)
            key = kind if kind != "jobs" else "backgroundJobs"
            out += body[key].get(singular, [])
            if number * page_size >= int(body["pagination"]["totalAvailable"]):
                return out
            number += 1

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def site(tableau_emulator: Emulator) -> Iterator[Site]:
    client = Site(tableau_emulator)
    yield client
    client.close()


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


KINDS = [
    ("workbooks", "workbook"),
    ("views", "view"),
    ("datasources", "datasource"),
    ("projects", "project"),
    ("users", "user"),
    ("groups", "group"),
    ("jobs", "backgroundJob"),
]


# -- seeding ------------------------------------------------------------------------------------


@pytest.mark.tableau_emulator(seed_items=250, sites=("mkt",), users=(Account("alice", "pw"),))
def test_seed_items_gives_exact_counts_on_every_site(tableau_emulator: Emulator) -> None:
    n = 250
    expected = {
        "workbooks": n,
        "views": 2 * n,
        "datasources": n // 2,
        "projects": 1 + n // 20,
        "users": 2 + n // 5,
        "groups": 1 + n // 25,
        "jobs": n // 4,
    }
    for content_url in ("", "mkt"):
        client = Site(tableau_emulator, content_url)
        try:
            for kind, singular in KINDS:
                assert int(client.ok(kind)["pagination"]["totalAvailable"]) == expected[kind], kind
                items = client.all(kind, singular)
                assert len(items) == expected[kind] == len({i["id"] for i in items}), kind
        finally:
            client.close()


def test_seed_is_deterministic_across_runs(tableau_emulator_factory: Any) -> None:
    listings = []
    for _ in range(2):
        emu = tableau_emulator_factory(seed_items=40)
        client = Site(emu)
        listings.append(
            {kind: client.all(kind, singular) for kind, singular in KINDS if kind != "users"}
        )
        client.close()
    assert listings[0] == listings[1]


@pytest.mark.tableau_emulator(seed_items=0)
def test_zero_items_gives_empty_collections(site: Site) -> None:
    body = site.ok("workbooks")
    assert body == {
        "pagination": {"pageNumber": "1", "pageSize": "100", "totalAvailable": "0"},
        "workbooks": {},
    }
    assert site.ok("workbooks", filter="name:eq:none")["workbooks"] == {}
    xml = site.http.get(f"sites/{site.id}/workbooks", headers={"Accept": "*/*"})
    root = ET.fromstring(xml.content)
    assert root.find("t:workbooks", NS) is not None
    assert root.findall(".//t:workbook", NS) == []


# -- paging -------------------------------------------------------------------------------------


@pytest.mark.tableau_emulator(seed_items=1234)
def test_paging(site: Site) -> None:
    body = site.ok("workbooks")
    assert body["pagination"] == {"pageNumber": "1", "pageSize": "100", "totalAvailable": "1234"}
    assert len(body["workbooks"]["workbook"]) == 100
    big = site.ok("workbooks", pageSize=1000, pageNumber=2)
    assert len(big["workbooks"]["workbook"]) == 234
    assert big["pagination"]["pageNumber"] == "2"
    seen = [w["id"] for w in site.all("workbooks", "workbook", page_size=333)]
    assert len(seen) == len(set(seen)) == 1234
    for params, status, error in [
        ({"pageSize": 1001}, 403, "403014"),
        ({"pageSize": 0}, 400, "400007"),
        ({"pageSize": "ten"}, 400, "400007"),
        ({"pageNumber": 0}, 400, "400006"),
        ({"pageNumber": "x"}, 400, "400006"),
        ({"pageNumber": 14}, 400, "400006"),
        ({"pageNumber": 10**40}, 400, "400006"),
    ]:
        response = site.get("workbooks", **params)
        assert (response.status_code, code(response)) == (status, error), params


def test_pagination_is_the_first_child_in_xml(site: Site) -> None:
    response = site.http.get(f"sites/{site.id}/projects", headers={"Accept": "*/*"})
    root = ET.fromstring(response.content)
    assert [child.tag.split("}")[1] for child in root] == ["pagination", "projects"]


# -- filter, sort, fields -----------------------------------------------------------------------


@pytest.mark.tableau_emulator(seed_items=100)
@pytest.mark.parametrize(
    ("expression", "keep"),
    [
        ("name:eq:Workbook 00007", lambda w: w["name"] == "Workbook 00007"),
        ("name:cieq:workbook 00007", lambda w: w["name"] == "Workbook 00007"),
        ("name:has:0009", lambda w: "0009" in w["name"]),
        (
            "name:in:[Workbook 00001,Workbook 00002,nothing]",
            lambda w: w["name"] in ("Workbook 00001", "Workbook 00002"),
        ),
        ("size:gt:7", lambda w: int(w["size"]) > 7),
        ("size:gte:7", lambda w: int(w["size"]) >= 7),
        ("size:lt:2", lambda w: int(w["size"]) < 2),
        ("size:lte:2", lambda w: int(w["size"]) <= 2),
        ("hasExtracts:eq:true", lambda w: w["hasExtracts"] == "true"),
        ("tags:eq:batch3", lambda w: {"label": "batch3"} in w["tags"]["tag"]),
        ("createdAt:lt:2024-01-01T05:00:00Z", lambda w: w["createdAt"] < "2024-01-01T05"),
        ("projectName:eq:Default", lambda w: w["project"]["name"] == "Default"),
        (
            "size:gt:6,hasExtracts:eq:true",
            lambda w: int(w["size"]) > 6 and w["hasExtracts"] == "true",
        ),
    ],
)
def test_filters(site: Site, expression: str, keep: Any) -> None:
    expected = [w["id"] for w in site.all("workbooks", "workbook") if keep(w)]
    assert 0 < len(expected) < 100
    body = site.ok("workbooks", filter=expression, pageSize=1000)
    assert int(body["pagination"]["totalAvailable"]) == len(expected)
    assert [w["id"] for w in body["workbooks"]["workbook"]] == expected


@pytest.mark.tableau_emulator(seed_items=100)
def test_filter_on_users_and_datasources(site: Site) -> None:
    users = site.items("users", "user", filter="siteRole:in:[Viewer,Creator]", pageSize=1000)
    assert {u["siteRole"] for u in users} == {"Viewer", "Creator"}
    certified = site.items("datasources", "datasource", filter="isCertified:eq:true", pageSize=1000)
    assert len(certified) == 10
    assert all(d["isCertified"] == "true" for d in certified)


def test_bad_filters_and_sorts(site: Site) -> None:
    for params in (
        {"filter": "nope:eq:1"},
        {"filter": "name:like:x"},
        {"filter": "name"},
        {"sort": "name:up"},
        {"sort": "nope:asc"},
    ):
        response = site.get("workbooks", **params)
        assert (response.status_code, code(response)) == (400, "400065"), params


@pytest.mark.tableau_emulator(seed_items=30)
def test_sort(site: Site) -> None:
    names = [w["name"] for w in site.items("workbooks", "workbook", sort="name:desc")]
    assert names == sorted(names, reverse=True)
    by_size = site.items("workbooks", "workbook", sort="size:asc,name:desc")
    keys = [(int(w["size"]), w["name"]) for w in by_size]
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]))


@pytest.mark.tableau_emulator(seed_items=5)
def test_fields(site: Site) -> None:
    slim = site.items("workbooks", "workbook", fields="id,name")
    assert all(set(w) == {"id", "name"} for w in slim)
    nested = site.items("workbooks", "workbook", fields="workbook.name,project.name")
    assert all(
        set(w) == {"id", "name", "project"} and set(w["project"]) == {"name"} for w in nested
    )
    full = site.items("workbooks", "workbook", fields="_all_")
    assert full == site.items("workbooks", "workbook")
    assert site.items("workbooks", "workbook", fields="_default_,workbook.sheetCount") == full
    assert "sheetCount" in full[0]
    assert "_views" not in full[0]


@pytest.mark.tableau_emulator(seed_items=4)
def test_views_with_usage(site: Site) -> None:
    plain = site.items("views", "view")
    assert all("usage" not in v for v in plain)
    usage = site.items("views", "view", includeUsageStatistics="true")
    assert all("totalViewCount" in v["usage"] for v in usage)


# -- get by id ------------------------------------------------------------------------------------


@pytest.mark.tableau_emulator(seed_items=8)
@pytest.mark.parametrize(
    ("kind", "singular", "missing"),
    [
        ("workbooks", "workbook", "404006"),
        ("views", "view", "404011"),
        ("datasources", "datasource", "404011"),
        ("projects", "project", "404005"),
        ("users", "user", "404002"),
        ("groups", "group", "404012"),
    ],
)
def test_get_by_id(site: Site, kind: str, singular: str, missing: str) -> None:
    first = site.items(kind, singular)[0]
    one = site.ok(f"{kind}/{first['id']}")
    assert one[singular]["id"] == first["id"]
    response = site.get(f"{kind}/00000000-0000-0000-0000-000000000000")
    assert (response.status_code, code(response)) == (404, missing)


@pytest.mark.tableau_emulator(seed_items=8)
def test_jobs_and_workbook_views(site: Site) -> None:
    job = site.items("jobs", "backgroundJob")[0]
    detail = site.ok(f"jobs/{job['id']}")["job"]
    assert detail["id"] == job["id"]
    assert detail["finishCode"] in ("0", "1", "2")
    workbook = site.items("workbooks", "workbook")[0]
    views = site.ok(f"workbooks/{workbook['id']}/views")
    assert "pagination" not in views
    assert [v["id"] for v in views["views"]["view"]] != []
    assert len(views["views"]["view"]) == 2


# -- create, update, delete -----------------------------------------------------------------------


def test_project_crud(site: Site) -> None:
    created = site.request(
        "POST", "projects", json={"project": {"name": "Finance", "description": "money"}}
    )
    assert created.status_code == 201
    project = created.json()["project"]
    # a top-level project has no parentProjectId attribute at all (as in real answers)
    assert (project["name"], project["description"], project.get("parentProjectId")) == (
        "Finance",
        "money",
        None,
    )
    duplicate = site.request("POST", "projects", json={"project": {"name": "finance"}})
    assert (duplicate.status_code, code(duplicate)) == (409, "409006")
    child = site.request(
        "POST", "projects", json={"project": {"name": "Finance", "parentProjectId": project["id"]}}
    )
    assert child.status_code == 201  # unique among siblings only
    renamed = site.request("PUT", f"projects/{project['id']}", json={"project": {"name": "Money"}})
    assert renamed.json()["project"]["name"] == "Money"
    same = site.request(
        "PUT",
        f"projects/{project['id']}",
        content=b"<tsRequest><project /></tsRequest>",
        headers={"Content-Type": "text/xml", "Accept": "*/*"},
    )
    assert same.status_code == 200
    assert ET.fromstring(same.content).find("t:project", NS).get("name") == "Money"  # type: ignore[union-attr]
    loop = site.request(
        "PUT",
        f"projects/{project['id']}",
        json={"project": {"parentProjectId": child.json()["project"]["id"]}},
    )
    assert (loop.status_code, code(loop)) == (400, "400000")
    bad_parent = site.request(
        "POST", "projects", json={"project": {"name": "X", "parentProjectId": "nope"}}
    )
    assert (bad_parent.status_code, code(bad_parent)) == (404, "404005")
    assert site.request("DELETE", f"projects/{project['id']}").status_code == 204
    gone = site.request("DELETE", f"projects/{project['id']}")
    assert (gone.status_code, code(gone)) == (404, "404005")
    assert (
        site.get(f"projects/{child.json()['project']['id']}").status_code == 404
    )  # deleted with its parent
    nameless = site.request("POST", "projects", json={"project": {}})
    assert (nameless.status_code, code(nameless)) == (400, "400000")


def test_group_crud_and_membership(site: Site) -> None:
    created = site.request("POST", "groups", json={"group": {"name": "Analysts"}})
    assert created.status_code == 201
    group = created.json()["group"]
    assert group["userCount"] == "0"
    dup = site.request("POST", "groups", json={"group": {"name": "ANALYSTS"}})
    assert (dup.status_code, code(dup)) == (409, "409009")
    added = site.request("POST", f"groups/{group['id']}/users", json={"user": {"id": site.user_id}})
    assert added.json()["user"]["id"] == site.user_id
    again = site.request("POST", f"groups/{group['id']}/users", json={"user": {"id": site.user_id}})
    assert (again.status_code, code(again)) == (409, "409011")
    members = site.ok(f"groups/{group['id']}/users")
    assert members["pagination"]["totalAvailable"] == "1"
    assert site.ok(f"groups/{group['id']}")["group"]["userCount"] == "1"
    assert site.request("DELETE", f"groups/{group['id']}/users/{site.user_id}").status_code == 204
    renamed = site.request(
        "PUT",
        f"groups/{group['id']}",
        json={"group": {"name": "Quants", "minimumSiteRole": "Viewer"}},
    )
    assert renamed.json()["group"]["name"] == "Quants"
    bad_role = site.request(
        "PUT", f"groups/{group['id']}", json={"group": {"minimumSiteRole": "King"}}
    )
    assert (bad_role.status_code, code(bad_role)) == (400, "400000")
    assert site.request("DELETE", f"groups/{group['id']}").status_code == 204
    missing = site.request("PUT", f"groups/{group['id']}", json={"group": {"name": "x"}})
    assert (missing.status_code, code(missing)) == (404, "404012")
    everyone = site.items("groups", "group", filter="name:eq:All Users")[0]
    refused = site.request("DELETE", f"groups/{everyone['id']}")
    assert refused.status_code == 403


def test_user_crud(site: Site) -> None:
    everyone = site.items("groups", "group", filter="name:eq:All Users")[0]
    before = int(everyone["userCount"])
    created = site.request("POST", "users", json={"user": {"name": "bob", "siteRole": "Viewer"}})
    assert created.status_code == 201
    bob = created.json()["user"]
    assert bob["siteRole"] == "Viewer"
    dup = site.request("POST", "users", json={"user": {"name": "BOB", "siteRole": "Viewer"}})
    assert (dup.status_code, code(dup)) == (409, "409000")
    bad = site.request("POST", "users", json={"user": {"name": "carol", "siteRole": "Emperor"}})
    assert (bad.status_code, code(bad)) == (400, "400000")
    updated = site.request(
        "PUT",
        f"users/{bob['id']}",
        json={"user": {"siteRole": "Creator", "fullName": "Bob B", "email": "b@x"}},
    )
    assert updated.json()["user"]["siteRole"] == "Creator"
    assert site.ok(f"users/{bob['id']}")["user"]["fullName"] == "Bob B"
    everyone = site.items("groups", "group", filter="name:eq:All Users")[0]
    assert int(everyone["userCount"]) == before + 1
    assert site.request("DELETE", f"users/{bob['id']}").status_code == 204
    gone = site.request("DELETE", f"users/{bob['id']}")
    assert (gone.status_code, code(gone)) == (404, "404002")
    protected = site.request("DELETE", f"users/{site.user_id}")
    assert protected.status_code == 403


def test_xml_bodies_work_for_crud(site: Site) -> None:
    response = site.request(
        "POST",
        "projects",
        params={"publishSamples": "False"},
        content=(
            b'<tsRequest><project name="Caf&#233;" description="d" '
            b'contentPermissions="LockedToProject" /></tsRequest>'
        ),
        headers={"Content-Type": "text/xml", "Accept": "*/*"},
    )
    assert response.status_code == 201
    project = ET.fromstring(response.content).find("t:project", NS)
    assert project is not None
    assert (project.get("name"), project.get("contentPermissions")) == ("Café", "LockedToProject")


@pytest.mark.tableau_emulator(sites=("mkt",))
def test_content_is_per_site(tableau_emulator: Emulator) -> None:
    default, mkt = Site(tableau_emulator), Site(tableau_emulator, "mkt")
    try:
        assert (
            default.request("POST", "projects", json={"project": {"name": "Only here"}}).status_code
            == 201
        )
        assert len(default.items("projects", "project", filter="name:eq:Only here")) == 1
        assert mkt.items("projects", "project", filter="name:eq:Only here") == []
        assert (
            mkt.request("POST", "projects", json={"project": {"name": "Only here"}}).status_code
            == 201
        )
    finally:
        default.close()
        mkt.close()


def test_wrong_json_types_are_400(site: Site) -> None:
    for body in (
        {"project": "Finance"},
        {"project": {"name": {"nested": True}}},
        {"project": {"name": ["a"]}},
        {"group": {"name": 5}},
    ):
        kind = "projects" if "project" in body else "groups"
        response = site.request("POST", kind, json=body)
        assert response.status_code in (201, 400), body
        if response.status_code == 400:
            assert code(response) == "400000"


@pytest.mark.tableau_emulator(seed_items=10)
def test_listings_show_changes_at_once(site: Site) -> None:
    """Renderings are remembered per item revision: a change must show in the next listing."""
    created = site.request("POST", "users", json={"user": {"name": "dana", "siteRole": "Viewer"}})
    dana = created.json()["user"]["id"]
    for accept in ("application/json", "*/*"):
        site.http.get(f"sites/{site.id}/users", headers={"Accept": accept})  # warm
    changed = {"user": {"siteRole": "Creator", "fullName": "Dana D"}}
    assert site.request("PUT", f"users/{dana}", json=changed).status_code == 200
    found = site.items("users", "user", filter="name:eq:dana")
    assert (found[0]["siteRole"], found[0]["fullName"]) == ("Creator", "Dana D")
    xml = site.http.get(f"sites/{site.id}/users", headers={"Accept": "*/*"}).content
    assert b'fullName="Dana D"' in xml
    workbook = site.items("workbooks", "workbook")[0]
    owner = workbook["owner"]["id"]
    if owner != site.user_id:
        assert site.request("DELETE", f"users/{owner}").status_code == 204
        again = site.ok(f"workbooks/{workbook['id']}")["workbook"]
        assert again["owner"]["id"] == site.user_id
        listed = site.items("workbooks", "workbook", filter=f"name:eq:{workbook['name']}")
        assert listed[0]["owner"]["id"] == site.user_id
