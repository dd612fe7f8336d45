"""Every XML answer type the emulator gives is valid against the project's schema
(tests/schema/tabsession-rest.xsd, written from the facts of Tableau's ts-api 3.29 XSD), and
every JSON answer carries the same data as its XML twin (Tableau's JSON convention,
`tabsession._xml`).

One emulator, one walk through the API: each step names the answer type it produces, and the
final test checks that every type of the catalogue below was seen and valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tabsession._xml import xml_to_dict
from tabsession.clock import ManualClock
from tabsession.emulator import Account, PatSpec
from tabsession.emulator.server import Emulator

xmlschema = pytest.importorskip("xmlschema")

SCHEMA = Path(__file__).resolve().parents[1] / "schema" / "tabsession-rest.xsd"
VERSION = "3.23"
BOUNDARY = "tabsessionboundary"


def multipart(parts: list[tuple[str, str | None, bytes, str]]) -> tuple[bytes, str]:
    """(name, filename, data, content type) parts → a multipart/mixed body and its type."""
    out = bytearray()
    for name, filename, data, kind in parts:
        disposition = f'name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n".encode()
        out += f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out), f"multipart/mixed; boundary={BOUNDARY}"


class Walk:
    """Requests to one emulator; every XML answer is validated and recorded by answer type."""

    def __init__(self, emu: Emulator, schema: Any) -> None:
        self.emu = emu
        self.schema = schema
        self.http = httpx.Client(base_url=f"{emu.url}/api/{VERSION}", timeout=30)
        self.seen: dict[str, list[str]] = {}
        self.token = ""
        self.site_id = ""

    def call(
        self,
        answer_type: str,
        method: str,
        path: str,
        *,
        status: int,
        body: bytes | None = None,
        content_type: str = "application/xml",
        token: str | None = None,
        twin: bool | None = None,
    ) -> dict[str, Any]:
        """One request in XML; checks status and schema; for reads (or `twin=True`) the same
        request in JSON must carry the same data. Returns the answer as a dict."""
        headers = {"Content-Type": content_type}
        auth = self.token if token is None else token
        if auth:
            headers["X-Tableau-Auth"] = auth
        answer = self.http.request(method, path, content=body, headers=headers)
        assert answer.status_code == status, (answer_type, answer.text[:500])
        errors = [str(e.reason or e.message) for e in self.schema.iter_errors(answer.text)]
        self.seen.setdefault(answer_type, []).extend(errors)
        assert errors == [], (answer_type, answer.text[:2000])
        data = xml_to_dict(answer.content)
        if twin if twin is not None else method == "GET":
            same = self.http.request(
                method, path, content=body, headers={**headers, "Accept": "application/json"}
            )
            assert same.status_code == status
            assert same.json() == data, answer_type
        return data

    def site(self, path: str) -> str:
        return f"/sites/{self.site_id}/{path}"


@pytest.fixture(scope="module")
def walk() -> Iterator[Walk]:
    clock = ManualClock(1_767_225_600.0)  # 2026-01-01: the JSON twin sees the same moment
    emu = Emulator(
        admin=Account("admin", "admin-pw"),
        pats=(PatSpec("schema-pat", "schema-secret"),),
        sites=("finance",),
        seed_items=40,
        clock=clock,
        job_duration=60,
    )
    with emu:
        walk = Walk(emu, xmlschema.XMLSchema(str(SCHEMA)))
        yield walk
        walk.http.close()


def _first_id(data: dict[str, Any], plural: str, singular: str) -> str:
    return str(data[plural][singular][0]["id"])


def test_sign_in_server_info_session_and_sites(walk: Walk) -> None:
    walk.call("serverInfo", "GET", "/serverinfo", status=200, token="")
    signin = (
        b'<tsRequest><credentials name="admin" password="admin-pw"><site contentUrl=""/>'
        b"</credentials></tsRequest>"
    )
    creds = walk.call("credentials (password)", "POST", "/auth/signin", status=200, body=signin)
    pat = (
        b'<tsRequest><credentials personalAccessTokenName="schema-pat" '
        b'personalAccessTokenSecret="schema-secret"><site contentUrl=""/></credentials></tsRequest>'
    )
    walk.call("credentials (PAT)", "POST", "/auth/signin", status=200, body=pat, token="")
    walk.token = creds["credentials"]["token"]
    walk.site_id = creds["credentials"]["site"]["id"]
    walk.call("session", "GET", "/sessions/current", status=200)
    walk.call("sites", "GET", "/sites", status=200)
    walk.call("site", "GET", f"/sites/{walk.site_id}", status=200)
    walk.call("site (usage)", "GET", f"/sites/{walk.site_id}?includeUsage=true", status=200)
    by_name = walk.call("site (key=name)", "GET", "/sites/Default?key=name", status=200)
    assert by_name["site"]["id"] == walk.site_id
    walk.call("error 403 (other site)", "GET", "/sites/finance?key=contentUrl", status=403)
    walk.call("error 404000", "GET", "/sites/nowhere?key=name", status=404)
    walk.call("error 401", "GET", "/sessions/current", status=401, token="nope")
    other = walk.call("credentials (PAT, again)", "POST", "/auth/signin", status=200, body=pat)
    walk.call(
        "credentials (switchSite)",
        "POST",
        "/auth/switchSite",
        status=200,
        body=b'<tsRequest><site contentUrl="finance"/></tsRequest>',
        token=other["credentials"]["token"],
    )


def test_listings_and_items_of_every_kind(walk: Walk) -> None:
    for plural, singular in (
        ("projects", "project"),
        ("users", "user"),
        ("groups", "group"),
        ("workbooks", "workbook"),
        ("views", "view"),
        ("datasources", "datasource"),
    ):
        page = walk.call(plural, "GET", walk.site(f"{plural}?pageSize=5"), status=200)
        item_id = _first_id(page, plural, singular)
        walk.call(singular, "GET", walk.site(f"{plural}/{item_id}"), status=200)
        walk.call(f"{plural} (_all_)", "GET", walk.site(f"{plural}?fields=_all_"), status=200)
    walk.call("views (usage)", "GET", walk.site("views?includeUsageStatistics=true"), status=200)
    views = walk.call("views", "GET", walk.site("views"), status=200)
    view_id = _first_id(views, "views", "view")
    walk.call(
        "view (usage)", "GET", walk.site(f"views/{view_id}?includeUsageStatistics=true"), status=200
    )
    workbooks = walk.call("workbooks", "GET", walk.site("workbooks"), status=200)
    workbook_id = _first_id(workbooks, "workbooks", "workbook")
    walk.call("workbook views", "GET", walk.site(f"workbooks/{workbook_id}/views"), status=200)
    groups = walk.call("groups", "GET", walk.site("groups"), status=200)
    group_id = _first_id(groups, "groups", "group")
    walk.call("group users", "GET", walk.site(f"groups/{group_id}/users"), status=200)
    walk.call("flows", "GET", walk.site("flows"), status=200)
    walk.call("schedules", "GET", "/schedules", status=200)
    walk.call("tasks", "GET", walk.site("tasks/extractRefreshes"), status=200)
    walk.call("error 404 item", "GET", walk.site("workbooks/nope"), status=404)
    walk.call("error 400 page", "GET", walk.site("workbooks?pageSize=0"), status=400)
    walk.call("error 405", "PATCH", walk.site("workbooks"), status=405)


def test_writes(walk: Walk) -> None:
    body = b'<tsRequest><project name="Schema" description="d"/></tsRequest>'
    project = walk.call("project (created)", "POST", walk.site("projects"), status=201, body=body)
    pid = project["project"]["id"]
    child = f'<tsRequest><project name="Child" parentProjectId="{pid}"/></tsRequest>'.encode()
    walk.call("project (child)", "POST", walk.site("projects"), status=201, body=child)
    walk.call("error 409", "POST", walk.site("projects"), status=409, body=body)
    walk.call(
        "project (updated)",
        "PUT",
        walk.site(f"projects/{pid}"),
        status=200,
        body=b'<tsRequest><project description="e"/></tsRequest>',
    )
    group = walk.call(
        "group (created)",
        "POST",
        walk.site("groups"),
        status=201,
        body=b'<tsRequest><group name="Schema group"/></tsRequest>',
    )
    user = walk.call(
        "user (created)",
        "POST",
        walk.site("users"),
        status=201,
        body=b'<tsRequest><user name="schema-user" siteRole="Viewer"/></tsRequest>',
    )
    walk.call(
        "user (updated)",
        "PUT",
        walk.site(f"users/{user['user']['id']}"),
        status=200,
        body=b'<tsRequest><user fullName="Schema User" siteRole="Explorer"/></tsRequest>',
    )
    walk.call(
        "group (updated)",
        "PUT",
        walk.site(f"groups/{group['group']['id']}"),
        status=200,
        body=b'<tsRequest><group name="Schema group 2" minimumSiteRole="Viewer"/></tsRequest>',
    )
    member = f'<tsRequest><user id="{user["user"]["id"]}"/></tsRequest>'.encode()
    walk.call(
        "user (group member)",
        "POST",
        walk.site(f"groups/{group['group']['id']}/users"),
        status=200,
        body=member,
    )


def test_jobs(walk: Walk) -> None:
    jobs = walk.call("backgroundJobs", "GET", walk.site("jobs?pageSize=10"), status=200)
    for background in jobs["backgroundJobs"]["backgroundJob"][:6]:  # every seeded state
        walk.call(
            f"job ({background['status']})",
            "GET",
            walk.site(f"jobs/{background['id']}"),
            status=200,
        )
    workbooks = walk.call("workbooks", "GET", walk.site("workbooks"), status=200)
    workbook_id = _first_id(workbooks, "workbooks", "workbook")
    started = walk.call(
        "job (refresh)", "POST", walk.site(f"workbooks/{workbook_id}/refresh"), status=202,
        body=b"<tsRequest/>",
    )  # fmt: skip
    job_path = walk.site(f"jobs/{started['job']['id']}")
    walk.emu.advance(30)
    assert walk.call("job (in progress)", "GET", job_path, status=200)["job"]["progress"] == "50"
    walk.emu.advance(31)
    assert walk.call("job (done)", "GET", job_path, status=200)["job"]["finishCode"] == "0"
    datasources = walk.call("datasources", "GET", walk.site("datasources"), status=200)
    datasource_id = _first_id(datasources, "datasources", "datasource")
    other = walk.call(
        "job (datasource refresh)", "POST", walk.site(f"datasources/{datasource_id}/refresh"),
        status=202, body=b"<tsRequest/>",
    )  # fmt: skip
    cancelled = walk.call(
        "job (cancelled)", "PUT", walk.site(f"jobs/{other['job']['id']}"), status=200
    )
    assert cancelled["job"]["finishCode"] == "2"


def test_uploads_and_publishing(walk: Walk) -> None:
    projects = walk.call("projects", "GET", walk.site("projects"), status=200)
    pid = _first_id(projects, "projects", "project")
    upload = walk.call("fileUpload (opened)", "POST", walk.site("fileUploads"), status=201)
    upload_id = upload["fileUpload"]["uploadSessionId"]
    chunk, kind = multipart(
        [("request_payload", None, b"", "text/xml"),
         ("tableau_file", "file", b"PK" + b"x" * 1000, "application/octet-stream")]
    )  # fmt: skip
    appended = walk.call(
        "fileUpload (appended)", "PUT", walk.site(f"fileUploads/{upload_id}"), status=200,
        body=chunk, content_type=kind,
    )  # fmt: skip
    assert appended["fileUpload"]["fileSize"] == "1002"
    payload = f'<tsRequest><workbook name="Chunked"><project id="{pid}"/></workbook></tsRequest>'
    body, kind = multipart([("request_payload", None, payload.encode(), "text/xml")])
    walk.call(
        "workbook (published, chunked)", "POST",
        walk.site(f"workbooks?uploadSessionId={upload_id}&workbookType=twbx"),
        status=201, body=body, content_type=kind,
    )  # fmt: skip
    payload = f'<tsRequest><workbook name="Single"><project id="{pid}"/></workbook></tsRequest>'
    body, kind = multipart(
        [("request_payload", None, payload.encode(), "text/xml"),
         ("tableau_workbook", "Single.twbx", b"PK-single", "application/octet-stream")]
    )  # fmt: skip
    walk.call("workbook (published)", "POST", walk.site("workbooks"), status=201, body=body,
              content_type=kind)  # fmt: skip
    walk.call("error 409 publish", "POST", walk.site("workbooks"), status=409, body=body,
              content_type=kind)  # fmt: skip
    walk.call(
        "job (publish asJob)", "POST", walk.site("workbooks?overwrite=true&asJob=true"),
        status=202, body=body, content_type=kind,
    )  # fmt: skip
    payload = f'<tsRequest><datasource name="Sales"><project id="{pid}"/></datasource></tsRequest>'
    body, kind = multipart(
        [("request_payload", None, payload.encode(), "text/xml"),
         ("tableau_datasource", "Sales.hyper", b"hyper-bytes", "application/octet-stream")]
    )  # fmt: skip
    walk.call("datasource (published)", "POST", walk.site("datasources"), status=201, body=body,
              content_type=kind)  # fmt: skip
    bad, kind = multipart(
        [("request_payload", None, payload.encode(), "text/xml"),
         ("tableau_datasource", "Sales.exe", b"MZ", "application/octet-stream")]
    )  # fmt: skip
    walk.call("error 400011", "POST", walk.site("datasources"), status=400, body=bad,
              content_type=kind)  # fmt: skip


def test_every_answer_type_was_valid(walk: Walk) -> None:
    """Runs last in the module: the walk above covered every type, each one valid."""
    assert len(walk.seen) >= 60, sorted(walk.seen)
    invalid = {kind: errors for kind, errors in walk.seen.items() if errors}
    assert invalid == {}


_WRAP = '<tsResponse xmlns="http://tableau.com/api">{}</tsResponse>'
_P = 'id="11111111-2222-3333-4444-555555555555" name="P"'


@pytest.mark.parametrize(
    "fragment",
    [
        # the emulator's answers before the fixes of issue 9
        f'<workbook><location {_P} type="Project"/><project {_P}/></workbook>',
        '<project><contentsCounts dataSourceCount="1"/></project>',
        '<project parentProjectId=""/>',
        '<view><location type="Project"/><usage totalViewCount="1"/></view>',
        '<job id="11111111-2222-3333-4444-555555555555"><extractRefreshJob>'
        f"<workbook {_P}/></extractRefreshJob></job>",
        '<datasource><askData enablement="SiteDefault"/></datasource>',
    ],
)
def test_schema_refuses_off_schema_shapes(fragment: str) -> None:
    schema = xmlschema.XMLSchema(str(SCHEMA))
    assert not schema.is_valid(_WRAP.format(fragment))
