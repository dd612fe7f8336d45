"""The emulator's long operations over real HTTP: chunked and single publishes with Tableau's
checks, the memory budget, downloads, refresh jobs on the emulated clock, cancel and failure,
view exports and their concurrency limit, deletes. Counts and states, never timings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabsession.clock import ManualClock
from tabsession.emulator import Account, PatSpec
from tabsession.emulator.http.handlers import publish
from tabsession.emulator.server import Emulator

BOUNDARY = "longopsboundary"
PASSWORD = "long-ops-pw"


def multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, dict[str, str]]:
    out = bytearray()
    for name, filename, data in parts:
        disposition = f'name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}


def workbook_payload(name: str, project_id: str) -> str:
    return f'<tsRequest><workbook name="{name}"><project id="{project_id}"/></workbook></tsRequest>'


class Api:
    """A signed-in JSON client of one emulator's Default (or first) site."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(
            base_url=f"{emu.url}/api/3.23", headers={"Accept": "application/json"}, timeout=30
        )
        self.sign_in()

    def sign_in(self) -> None:
        site = "" if self.emu.config.mode == "server" else self.emu.config.site_urls[0]
        answer = self.http.post(
            "/auth/signin",
            json={
                "credentials": {"name": "admin", "password": PASSWORD, "site": {"contentUrl": site}}
            },
        )
        assert answer.status_code == 200, answer.text
        self.http.headers["X-Tableau-Auth"] = answer.json()["credentials"]["token"]
        self.site_id = answer.json()["credentials"]["site"]["id"]

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"/sites/{self.site_id}/{path}", **kwargs)

    def first(self, plural: str, singular: str) -> dict[str, Any]:
        answer = self("GET", f"{plural}?pageSize=1")
        item: dict[str, Any] = answer.json()[plural][singular][0]
        return item

    def default_project(self) -> str:
        answer = self("GET", "projects?filter=name:eq:Default")
        return str(answer.json()["projects"]["project"][0]["id"])

    def publish_workbook(
        self, name: str, data: bytes, filename: str = "book.twbx", query: str = ""
    ) -> httpx.Response:
        payload = workbook_payload(name, self.default_project())
        body, headers = multipart(
            ("request_payload", None, payload.encode()), ("tableau_workbook", filename, data)
        )
        return self("POST", f"workbooks{query}", content=body, headers=headers)

    def close(self) -> None:
        self.http.close()


def emulator(**fields: Any) -> Emulator:
    fields.setdefault("admin", Account("admin", PASSWORD, "ServerAdministrator"))
    fields.setdefault("pats", (PatSpec("p", "s"),))
    return Emulator(**fields)


@pytest.fixture
def api() -> Iterator[Api]:
    with emulator(seed_items=10, clock=ManualClock(1_767_225_600.0), job_duration=100) as emu:
        client = Api(emu)
        yield client
        client.close()


def code(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])


def test_single_publish_download_and_delete(api: Api) -> None:
    data = b"PK\x03\x04" + bytes(range(256)) * 100
    answer = api.publish_workbook("Quarterly", data)
    assert answer.status_code == 201
    workbook = answer.json()["workbook"]
    assert [v["name"] for v in workbook["views"]["view"]] == ["Sheet 1"]
    download = api("GET", f"workbooks/{workbook['id']}/content")
    assert download.content == data
    assert download.headers["content-disposition"] == 'attachment; filename="Quarterly.twbx"'
    assert api.emu.state.budget.used == len(data)
    assert api("DELETE", f"workbooks/{workbook['id']}").status_code == 204
    assert api.emu.state.budget.used == 0
    gone = api("GET", f"workbooks/{workbook['id']}/content")
    assert (gone.status_code, code(gone)) == (404, "404006")


def test_download_names_any_file_name(api: Api) -> None:
    answer = api.publish_workbook("Ventes 売上", b"PK-unicode")
    download = api("GET", f"workbooks/{answer.json()['workbook']['id']}/content")
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Ventes __.twbx\"; filename*=UTF-8''Ventes%20%E5%A3%B2%E4%B8%8A.twbx"
    )
    assert download.content == b"PK-unicode"


def test_an_abandoned_export_frees_its_slot() -> None:
    with emulator(mode="cloud", export_concurrency=1) as emu:
        api = Api(emu)
        view = api.first("views", "view")
        assert emu.state.exports.try_acquire(-emu.state.exports.GRACE) is not None  # abandoned
        assert api("GET", f"views/{view['id']}/pdf").status_code == 200
        api.close()


def test_seeded_items_download_a_deterministic_archive(api: Api) -> None:
    workbook = api.first("workbooks", "workbooks"[:-1])
    first = api("GET", f"workbooks/{workbook['id']}/content")
    again = api("GET", f"workbooks/{workbook['id']}/content")
    assert first.content == again.content
    assert first.content[:2] == b"PK"
    datasource = api.first("datasources", "datasource")
    answer = api("GET", f"datasources/{datasource['id']}/content")
    assert answer.headers["content-disposition"].endswith('.tdsx"')


def test_overwrite_conflict_and_file_type_checks(api: Api) -> None:
    assert api.publish_workbook("Same", b"PK1").status_code == 201
    conflict = api.publish_workbook("Same", b"PK2")
    assert (conflict.status_code, code(conflict)) == (409, "409004")
    replaced = api.publish_workbook("Same", b"PK3", query="?overwrite=true")
    assert replaced.status_code == 201
    wrong = api.publish_workbook("Bad", b"x", filename="book.hyper")
    assert (wrong.status_code, code(wrong)) == (400, "400011")


def test_single_request_size_limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "SINGLE_REQUEST_LIMIT", 1000)  # stands for Tableau's 64 MB
    too_big = api.publish_workbook("Big", b"x" * 1001)
    assert (too_big.status_code, code(too_big)) == (400, "400011")
    assert api.publish_workbook("Fits", b"x" * 1000).status_code == 201


def _chunked(api: Api, blocks: list[bytes]) -> tuple[str, list[httpx.Response]]:
    opened = api("POST", "fileUploads")
    assert opened.status_code == 201
    upload_id = opened.json()["fileUpload"]["uploadSessionId"]
    answers = []
    for block in blocks:
        body, headers = multipart(("request_payload", None, b""), ("tableau_file", "file", block))
        answers.append(api("PUT", f"fileUploads/{upload_id}", content=body, headers=headers))
    return upload_id, answers


def _commit(api: Api, upload_id: str, name: str, file_type: str = "twbx") -> httpx.Response:
    payload = workbook_payload(name, api.default_project())
    body, headers = multipart(("request_payload", None, payload.encode()))
    query = f"uploadSessionId={upload_id}&workbookType={file_type}"
    return api("POST", f"workbooks?{query}", content=body, headers=headers)


def test_chunked_publish_survives_the_auth_session_by_default(api: Api) -> None:
    upload_id, answers = _chunked(api, [b"PK" + b"a" * 500])
    assert api.emu.expire_sessions() >= 1
    api.sign_in()  # a new auth session carries on with the same upload
    more = multipart(("request_payload", None, b""), ("tableau_file", "file", b"b" * 500))
    appended = api("PUT", f"fileUploads/{upload_id}", content=more[0], headers=more[1])
    assert [a.json()["fileUpload"]["fileSize"] for a in [*answers, appended]] == ["502", "1002"]
    committed = _commit(api, upload_id, "Chunked")
    assert committed.status_code == 201
    download = api("GET", f"workbooks/{committed.json()['workbook']['id']}/content")
    assert download.content == b"PK" + b"a" * 500 + b"b" * 500
    again = _commit(api, upload_id, "Twice")  # the upload session ended with the publish
    assert (again.status_code, code(again)) == (404, "404025")


def test_upload_dies_with_its_auth_session_when_configured() -> None:
    with emulator(upload_outlives_session=False) as emu:
        api = Api(emu)
        upload_id, answers = _chunked(api, [b"PK"])
        assert answers[0].status_code == 200
        emu.expire_sessions()
        api.sign_in()
        lost = _commit(api, upload_id, "Lost")
        assert (lost.status_code, code(lost)) == (404, "404025")
        exe_upload = _chunked(api, [b"PK"])[0]
        refused = _commit(api, exe_upload, "NoType", file_type="exe")
        assert (refused.status_code, code(refused)) == (400, "400011")
        api.close()


def test_memory_budget_refuses_with_413_and_deletes_free_it() -> None:
    with emulator(max_stored_bytes=1500) as emu:
        api = Api(emu)
        first = api.publish_workbook("One", b"x" * 1000)
        assert first.status_code == 201
        refused = api.publish_workbook("Two", b"y" * 1000)
        assert (refused.status_code, code(refused)) == (413, "413000")
        _, appends = _chunked(api, [b"z" * 400, b"z" * 400])
        assert [a.status_code for a in appends] == [200, 413]
        api("DELETE", f"workbooks/{first.json()['workbook']['id']}")
        assert api.publish_workbook("Two", b"y" * 1000).status_code == 201
        api.close()


def test_refresh_job_follows_the_emulated_clock(api: Api) -> None:
    workbook = api.first("workbooks", "workbook")
    started = api("POST", f"workbooks/{workbook['id']}/refresh", content=b"<tsRequest/>")
    assert started.status_code == 202
    job_id = started.json()["job"]["id"]

    def state() -> tuple[str, str | None]:
        job = api("GET", f"jobs/{job_id}").json()["job"]
        return job["progress"], job.get("finishCode")

    seen = [state()]
    for _ in range(3):
        api.emu.advance(30)
        seen.append(state())
    assert seen == [("0", None), ("30", None), ("60", None), ("90", None)]
    listed = api("GET", "jobs?filter=status:eq:InProgress").json()["backgroundJobs"]
    assert job_id in [j["id"] for j in listed["backgroundJob"]]
    api.emu.advance(10)
    assert state() == ("100", "0")
    cancelled = api("PUT", f"jobs/{job_id}")  # a finished job stays as it ended
    assert cancelled.json()["job"]["finishCode"] == "0"


def test_refresh_failure_is_a_fault_rule_and_cancel_ends_a_running_job(api: Api) -> None:
    api.emu.set_faults([{"kind": "job_failure", "path": r"datasources/[^/]+/refresh$"}])
    datasource = api.first("datasources", "datasource")
    failing = api("POST", f"datasources/{datasource['id']}/refresh", content=b"")
    workbook = api.first("workbooks", "workbook")
    running = api("POST", f"workbooks/{workbook['id']}/refresh", content=b"")
    assert api("PUT", f"jobs/{running.json()['job']['id']}").json()["job"]["finishCode"] == "2"
    api.emu.advance(100)
    failed = api("GET", f"jobs/{failing.json()['job']['id']}").json()["job"]
    assert (failed["finishCode"], failed["extractRefreshJob"]["datasource"]["id"]) == (
        "1",
        datasource["id"],
    )
    assert api.emu.state.faults.describe()["rules"][0]["fired"] == 1
    unknown = api("POST", "workbooks/nope/refresh", content=b"")
    assert (unknown.status_code, code(unknown)) == (404, "404006")


def test_view_exports_are_deterministic(api: Api) -> None:
    view = api.first("views", "view")
    kinds = {"image": "image/png", "pdf": "application/pdf", "data": "text/csv"}
    for suffix, media in kinds.items():
        first = api("GET", f"views/{view['id']}/{suffix}")
        assert first.headers["content-type"].startswith(media)
        assert api("GET", f"views/{view['id']}/{suffix}").content == first.content
    crosstab = api("GET", f"views/{view['id']}/crosstab/excel")
    assert crosstab.content[:2] == b"PK"


def test_cloud_allows_twenty_exports_at_once_then_html_429() -> None:
    with emulator(mode="cloud") as emu:
        api = Api(emu)
        view = api.first("views", "view")
        slots = emu.state.exports
        held = [slots.try_acquire(60.0) for _ in range(20)]  # twenty exports in progress
        assert None not in held
        refused = api("GET", f"views/{view['id']}/image")
        assert (refused.status_code, refused.headers["content-type"]) == (
            429,
            "text/html; charset=utf-8",
        )
        slots.release(held[0])
        assert api("GET", f"views/{view['id']}/image").status_code == 200
        assert emu.stats()["status_counts"]["429"] == 1
        schedules = api.http.get("/schedules")  # Tableau Server only
        assert schedules.status_code == 404
        api.close()


def test_server_mode_has_no_export_limit(api: Api) -> None:
    view = api.first("views", "view")
    for _ in range(25):
        assert api.emu.state.exports.try_acquire(60.0) is not None
    assert api("GET", f"views/{view['id']}/data").status_code == 200


def test_listings_page_and_filter(api: Api) -> None:
    flows = api("GET", "flows?pageSize=1").json()
    assert (flows["pagination"]["totalAvailable"], len(flows["flows"]["flow"])) == ("2", 1)
    named = api("GET", "flows?filter=name:eq:Flow 0002").json()["flows"]["flow"]
    assert [f["name"] for f in named] == ["Flow 0002"]
    tasks = api("GET", "tasks/extractRefreshes").json()["tasks"]["task"]
    with_extracts = api("GET", "workbooks?filter=hasExtracts:eq:true").json()
    assert len(tasks) == int(with_extracts["pagination"]["totalAvailable"])
    schedules = api.http.get("/schedules").json()["schedules"]["schedule"]
    assert [s["type"] for s in schedules] == ["Extract", "Extract", "Subscription", "Flow"]


def test_cancel_a_seeded_running_job() -> None:
    with emulator(seed_items=40) as emu:  # ten seeded jobs, in every state
        api = Api(emu)
        _cancel_seeded(api)
        api.close()


def _cancel_seeded(api: Api) -> None:
    listed = api("GET", "jobs?filter=status:eq:InProgress").json()["backgroundJobs"]
    running = listed["backgroundJob"][0]["id"]
    finished = api("GET", "jobs?filter=status:eq:Success").json()["backgroundJobs"]
    done = finished["backgroundJob"][0]["id"]
    assert api("PUT", f"jobs/{running}").json()["job"]["finishCode"] == "2"
    assert api("GET", f"jobs/{running}").json()["job"]["finishCode"] == "2"
    assert api("PUT", f"jobs/{done}").json()["job"]["finishCode"] == "0"  # stays as it ended
    now_cancelled = api("GET", "jobs?filter=status:eq:Cancelled").json()["backgroundJobs"]
    assert running in [j["id"] for j in now_cancelled["backgroundJob"]]
    missing = api("PUT", "jobs/00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, code(missing)) == (404, "404031")


def test_a_body_beyond_the_ceiling_is_refused_before_it_is_held(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tabsession.emulator.http import body

    monkeypatch.setattr(body, "MAX_BODY_BYTES", 2048)
    declared = api.publish_workbook("Huge", b"x" * 4096)
    assert (declared.status_code, code(declared)) == (413, "413000")

    def stream() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
        yield from (b"y" * 1024 for _ in range(4))

    streamed = api("PUT", "fileUploads/1:ab-1:0", content=stream())
    assert (streamed.status_code, code(streamed)) == (413, "413000")
    assert api.emu.stats()["status_counts"]["413"] == 2


def test_a_slow_export_holds_its_slot_until_it_is_sent() -> None:
    with emulator(mode="cloud", export_concurrency=1, export_latency_ms=1000) as emu:
        api = Api(emu)
        view = api.first("views", "view")
        with api.http.stream("GET", f"/sites/{api.site_id}/views/{view['id']}/image") as slow:
            assert slow.status_code == 200  # headers are out, the bytes are not yet
            refused = api("GET", f"views/{view['id']}/data")
            assert refused.status_code == 429
            assert slow.read()[:4] == b"\x89PNG"
        assert api("GET", f"views/{view['id']}/data").status_code == 200
        api.close()


def test_an_abandoned_upload_ends_and_gives_its_bytes_back(api: Api) -> None:
    upload_id, answers = _chunked(api, [b"PK" + b"q" * 998])
    assert (answers[0].status_code, api.emu.state.budget.used) == (200, 1000)
    api.emu.advance(25 * 3600)  # untouched for more than a day of emulated time
    api.sign_in()  # the auth session has long expired too
    late = _commit(api, upload_id, "Late")
    assert (late.status_code, code(late)) == (404, "404025")
    assert api.emu.state.budget.used == 0
