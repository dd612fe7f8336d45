"""The Metadata API (`POST /api/metadata/graphql`) over real HTTP: real TSC's `metadata.query`
and `paginated_query`, cursors, filters, lineage, Tableau's JSON errors (auth included), the
node limit and the RATE_EXCEEDED fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.emulator.server import Emulator

TSC = pytest.importorskip("tableauserverclient")

V = "3.23"
GRAPHQL = "/api/metadata/graphql"
WORKBOOK_PAGES = """
query pages($first: Int, $afterToken: String) {
  workbooksConnection(first: $first, after: $afterToken) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { luid name projectName projectLuid owner { name } }
  }
}
"""


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed_items=40) as running:
        yield running


class Meta:
    """A signed-in JSON client of one emulator's Metadata API (and its REST API)."""

    def __init__(self, emu: Emulator) -> None:
        self.http = httpx.Client(base_url=emu.url, headers={"Accept": "application/json"})
        body = {"credentials": {"name": "admin", "password": "admin", "site": {"contentUrl": ""}}}
        creds = self.http.post(f"/api/{V}/auth/signin", json=body).json()["credentials"]
        self.token = str(creds["token"])
        self.site = str(creds["site"]["id"])
        self.http.headers["X-Tableau-Auth"] = self.token

    def post(self, query: str, **variables: Any) -> httpx.Response:
        return self.http.post(GRAPHQL, json={"query": query, "variables": variables or None})

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.post(query, **variables)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return dict(body["data"])

    def rest(self, path: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/{V}/sites/{self.site}/{path}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def meta(emu: Emulator) -> Iterator[Meta]:
    client = Meta(emu)
    yield client
    client.http.close()


def test_tsc_query_and_paginated_query(emu: Emulator) -> None:
    server = TSC.Server(emu.url, use_server_version=True)
    with server.auth.sign_in(TSC.TableauAuth("admin", "admin")):
        result = server.metadata.query(
            "{ publishedDatasources { luid name } }", abort_on_error=True
        )
        rest_ids = {d.id for d in TSC.Pager(server.datasources)}
        assert {d["luid"] for d in result["data"]["publishedDatasources"]} == rest_ids
        pages = server.metadata.paginated_query(
            WORKBOOK_PAGES, {"first": 15, "afterToken": None}, abort_on_error=True
        )["pages"]
        connections = [p["data"]["workbooksConnection"] for p in pages]
        assert [len(c["nodes"]) for c in connections] == [15, 15, 10]
        assert {c["totalCount"] for c in connections} == {40}
        luids = [n["luid"] for c in connections for n in c["nodes"]]
        assert len(set(luids)) == 40
        assert set(luids) == {w.id for w in TSC.Pager(server.workbooks)}


def test_nodes_match_the_rest_items(meta: Meta) -> None:
    first = meta.rest("workbooks?pageSize=1")["workbooks"]["workbook"][0]
    node = meta.data(
        "query one($luid: String) { workbooks(filter: {luid: $luid}) { luid name projectName "
        "projectLuid owner { luid name } tags { name } sheets { luid name } createdAt } }",
        luid=first["id"],
    )["workbooks"]
    assert len(node) == 1
    assert node[0]["name"] == first["name"]
    assert node[0]["projectLuid"] == first["project"]["id"]
    assert node[0]["owner"]["luid"] == first["owner"]["id"]
    assert node[0]["createdAt"] == first["createdAt"]
    views = meta.rest(f"workbooks/{first['id']}/views")["views"]["view"]
    assert [s["luid"] for s in node[0]["sheets"]] == [v["id"] for v in views]


def test_offset_after_and_edges_agree(meta: Meta) -> None:
    query = (
        "query p($first: Int, $after: String, $offset: Int) { publishedDatasourcesConnection("
        "first: $first, after: $after, offset: $offset) { totalCount nodes { luid } "
        "edges { cursor node { luid } } pageInfo { hasNextPage hasPreviousPage startCursor "
        "endCursor } } }"
    )
    whole = meta.data(query, first=100)["publishedDatasourcesConnection"]
    assert whole["totalCount"] == 20
    assert whole["pageInfo"]["hasNextPage"] is False
    luids = [n["luid"] for n in whole["nodes"]]
    assert [e["node"]["luid"] for e in whole["edges"]] == luids
    cursor = whole["edges"][4]["cursor"]
    after = meta.data(query, first=3, after=cursor)["publishedDatasourcesConnection"]
    by_offset = meta.data(query, first=3, offset=5)["publishedDatasourcesConnection"]
    assert (
        [n["luid"] for n in after["nodes"]] == luids[5:8] == [n["luid"] for n in by_offset["nodes"]]
    )
    assert after["pageInfo"]["hasPreviousPage"] is True
    assert after["pageInfo"]["startCursor"] == whole["edges"][5]["cursor"]
    empty = meta.data(query, first=0)["publishedDatasourcesConnection"]
    assert empty["nodes"] == []
    assert empty["pageInfo"]["endCursor"] is None
    assert empty["pageInfo"]["hasNextPage"] is True


def test_filters(meta: Meta) -> None:
    projects = meta.rest("projects")["projects"]["project"]
    target = next(p for p in projects if p["name"] == "Project 001")
    rest_count = int(target["contentsCounts"]["workbookCount"])
    found = meta.data(
        'query { workbooksConnection(filter: {projectName: "Project 001"}) '
        "{ totalCount nodes { projectLuid } } }"
    )["workbooksConnection"]
    assert found["totalCount"] == rest_count
    assert {n["projectLuid"] for n in found["nodes"]} == {target["id"]}
    names = meta.data(
        'query { workbooks(filter: {nameWithin: ["Workbook 00003", "Workbook 00007", "nope"]}) '
        "{ name } }"
    )["workbooks"]
    assert sorted(n["name"] for n in names) == ["Workbook 00003", "Workbook 00007"]
    certified = meta.data("{ publishedDatasources(filter: {isCertified: true}) { name } }")
    assert len(certified["publishedDatasources"]) == 4  # every fifth of 20
    project = meta.data(
        'query { projects(filter: {name: "Project 001"}) { luid workbooks { luid } } }'
    )["projects"]
    assert project[0]["luid"] == target["id"]
    assert len(project[0]["workbooks"]) == rest_count


def test_lineage_is_consistent_both_ways(meta: Meta) -> None:
    workbooks = meta.data(
        "{ workbooks { luid upstreamDatasources { luid } "
        "upstreamTables { luid fullName database { luid name } } upstreamDatabases { luid } } }"
    )["workbooks"]
    datasources = meta.data(
        "{ publishedDatasources { luid upstreamTables { luid } downstreamWorkbooks { luid } } }"
    )["publishedDatasources"]
    downstream = {d["luid"]: {w["luid"] for w in d["downstreamWorkbooks"]} for d in datasources}
    table_of = {d["luid"]: d["upstreamTables"][0]["luid"] for d in datasources}
    for workbook in workbooks:
        (source,) = workbook["upstreamDatasources"]
        assert workbook["luid"] in downstream[source["luid"]]
        (table,) = workbook["upstreamTables"]
        assert table["luid"] == table_of[source["luid"]]
        assert workbook["upstreamDatabases"] == [{"luid": table["database"]["luid"]}]
    assert sum(len(v) for v in downstream.values()) == len(workbooks) == 40
    databases = meta.data("{ databases { name connectionType tables { luid } } }")["databases"]
    assert sum(len(d["tables"]) for d in databases) == 20
    tables = meta.data(
        'query { databaseTablesConnection(filter: {connectionType: "postgres"}) '
        "{ totalCount nodes { database { connectionType } } } }"
    )["databaseTablesConnection"]
    assert tables["totalCount"] == 5
    assert {n["database"]["connectionType"] for n in tables["nodes"]} == {"postgres"}


def test_errors_have_tableaus_shape(meta: Meta) -> None:
    invalid = meta.post("{ workbooks { nme } }")
    assert invalid.status_code == 200
    (error,) = invalid.json()["errors"]
    assert "nme" in error["message"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    syntax = meta.post("{ workbooks { name }").json()["errors"]
    assert syntax[0]["extensions"]["code"] == "INVALID_SYNTAX"
    query = "query p($after: String, $offset: Int) { workbooksConnection(after: $after, offset: $offset) { totalCount } }"  # noqa: E501
    both = meta.post(query, after="x", offset=1).json()
    assert both["data"] is None
    assert both["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    pages = meta.data("{ publishedDatasourcesConnection(first: 1) { pageInfo { endCursor } } }")
    foreign = pages["publishedDatasourcesConnection"]["pageInfo"]["endCursor"]
    wrong_type = meta.post(query, after=foreign).json()["errors"][0]
    assert "same type" in wrong_type["message"]
    assert wrong_type["extensions"]["code"] == "INVALID_ARGUMENT"
    bad_body = meta.http.post(GRAPHQL, content=b"not json")
    assert bad_body.status_code == 400
    assert bad_body.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    wrong_verb = meta.http.get(GRAPHQL)
    assert wrong_verb.status_code == 405
    assert wrong_verb.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_auth_failures_are_401_in_the_same_shape() -> None:
    with Emulator(seed_items=4, expired_code="401000") as emu:
        meta = Meta(emu)
        assert meta.data("{ workbooks { name } }")["workbooks"]
        missing = httpx.post(f"{emu.url}{GRAPHQL}", json={"query": "{ workbooks { name } }"})
        assert missing.status_code == 401
        assert missing.json()["errors"][0]["extensions"]["code"] == "401000"
        emu.expire_sessions()
        expired = meta.post("{ workbooks { name } }")
        assert expired.status_code == 401
        assert expired.json() == {
            "errors": [
                {
                    "message": "Invalid authentication credentials were provided.",
                    "extensions": {"code": "401000"},  # the expired_code knob
                }
            ]
        }
        assert emu.stats()["status_counts"]["401"] == 2
        meta.http.close()


def test_a_kill_session_fault_meets_a_metadata_query() -> None:
    with Emulator(seed_items=4) as emu:
        meta = Meta(emu)
        emu.set_faults([{"kind": "kill_session", "path": "^metadata/graphql$", "times": 1}])
        killed = meta.post("{ workbooks { name } }")
        assert killed.status_code == 401
        assert killed.json()["errors"][0]["extensions"]["code"] == "401002"
        assert emu.stats()["sessions_killed"] == 1
        meta.http.close()


def test_rate_exceeded_is_a_fault_rule() -> None:
    with Emulator(seed_items=4) as emu:
        meta = Meta(emu)
        emu.set_faults(
            [{"kind": "status", "status": 429, "path": "^metadata/graphql$", "times": 2,
              "retry_after": "7"}]
        )  # fmt: skip
        answers = [meta.post("{ workbooks { name } }") for _ in range(3)]
        assert [a.status_code for a in answers] == [429, 429, 200]
        assert answers[0].headers["Retry-After"] == "7"
        assert answers[0].json()["errors"][0]["extensions"]["code"] == "RATE_EXCEEDED"
        stats = emu.stats()
        assert stats["faults_fired"] == 2
        assert stats["error_codes"]["RATE_EXCEEDED"] == 2
        # REST calls are not matched by the rule's path
        emu.set_faults([{"kind": "status", "status": 429, "path": "^metadata/graphql$"}])
        assert meta.http.get(f"/api/{V}/sites/{meta.site}/workbooks").status_code == 200
        meta.http.close()


def test_the_node_limit_cuts_the_answer_and_warns() -> None:
    with Emulator(seed_items=40, metadata_node_limit=25) as emu:
        meta = Meta(emu)
        body = meta.post("{ workbooks { name sheets { name } } }").json()
        workbooks = body["data"]["workbooks"]
        objects = len(workbooks) + sum(len(w["sheets"]) for w in workbooks)
        assert objects == 25
        warning = body["errors"][-1]
        assert warning["extensions"] == {
            "severity": "WARNING",
            "code": "NODE_LIMIT_EXCEEDED",
            "properties": {"nodeLimit": 25},
        }
        # a page that fits is whole and warns of nothing
        page = meta.post("{ workbooksConnection(first: 8) { totalCount nodes { name } } }").json()
        assert "errors" not in page
        assert page["data"]["workbooksConnection"]["totalCount"] == 40
        assert len(page["data"]["workbooksConnection"]["nodes"]) == 8
        meta.http.close()


def test_tsc_meets_an_expired_session_as_a_non_xml_error() -> None:
    """What DataHub's re-authentication path catches: TSC raises NonXMLResponseError for the
    Metadata API's JSON 401."""
    from tableauserverclient.server.endpoint.exceptions import NonXMLResponseError

    with Emulator(seed_items=4) as emu:
        server = TSC.Server(emu.url, use_server_version=True)
        server.auth.sign_in(TSC.TableauAuth("admin", "admin"))
        assert server.metadata.query("{ workbooks { name } }")["data"]["workbooks"]
        emu.expire_sessions()
        with pytest.raises(NonXMLResponseError) as refused:
            server.metadata.query("{ workbooks { name } }")
        assert b'"code":"401002"' in refused.value.args[0]
