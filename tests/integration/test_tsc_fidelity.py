"""The official client, tableauserverclient (TSC), unmodified, against the emulator over HTTP.

Nothing here is mocked: if TSC cannot parse an answer, these tests fail the way a user's script
would.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tabsession.auth.jwt import encode_hs256
from tabsession.emulator import Account, ConnectedApp, PatSpec
from tabsession.emulator.server import Emulator

TSC = pytest.importorskip("tableauserverclient")
from tableauserverclient.server.endpoint.exceptions import InternalServerError  # noqa: E402

pytestmark = pytest.mark.tsc

N = 120
PAT = PatSpec("ci", "s3cret")
USERS = (Account("alice", "pw"),)


def signed_in(emu: Emulator, auth: Any = None, **server_options: Any) -> Any:
    server = TSC.Server(emu.url, use_server_version=True, **server_options)
    server.auth.sign_in(auth or TSC.PersonalAccessTokenAuth("ci", "s3cret", site_id=""))
    return server


@pytest.mark.tableau_emulator(seed_items=N, pats=(PAT,), users=USERS)
def test_pat_sign_in_version_and_pager_over_every_kind(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    assert server.version == "3.23"
    assert server.site_id == tableau_emulator.site_id()
    assert server.is_signed_in()
    expected = {
        "workbooks": N,
        "views": 2 * N,
        "datasources": N // 2,
        "projects": 1 + N // 20,
        "users": 2 + N // 5,
        "groups": 1 + N // 25,
        "jobs": N // 4,
    }
    for kind, count in expected.items():
        items = list(TSC.Pager(getattr(server, kind)))
        assert len(items) == count, kind
        assert len({i.id for i in items}) == count, kind
        small = list(TSC.Pager(getattr(server, kind), TSC.RequestOptions(pagesize=7)))
        assert [i.id for i in small] == [i.id for i in items], kind
    workbook = next(iter(TSC.Pager(server.workbooks)))
    assert workbook.name == "Workbook 00001"
    assert workbook.created_at is not None
    assert workbook.project_name == "Default"
    assert workbook.tags == {"seeded", "batch0"}
    server.auth.sign_out()
    assert not server.is_signed_in()
    stats = tableau_emulator.stats()
    assert stats["signouts"] == 1
    assert stats["internal_errors"] == 0
    assert set(stats["status_counts"]) <= {"200", "204"}


@pytest.mark.tableau_emulator(seed_items=30, users=USERS, sites=("mkt",))
def test_password_sign_in_on_a_named_site(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator, TSC.TableauAuth("alice", "pw", site_id="mkt"))
    assert server.site_id == tableau_emulator.site_id("mkt")
    users, pagination = server.users.get()
    assert pagination.total_available == len(users) == 2 + 30 // 5
    me = server.users.get_by_id(server.user_id)
    assert (me.name, me.site_role) == ("alice", "Creator")
    with pytest.raises(TSC.FailedSignInError) as caught:
        signed_in(tableau_emulator, TSC.TableauAuth("alice", "wrong", site_id="mkt"))
    assert caught.value.code == "401001"


@pytest.mark.tableau_emulator(seed_items=60, pats=(PAT,))
def test_queryset_filter_sort_and_len(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    viewers = server.users.filter(site_role="Viewer")
    assert len(viewers) == len(list(viewers)) > 0
    assert all(u.site_role == "Viewer" for u in viewers)
    names = [w.name for w in server.workbooks.order_by("-name")]
    assert names == sorted(names, reverse=True)
    assert len(names) == 60
    options = TSC.RequestOptions()
    options.filter.add(
        TSC.Filter(
            TSC.RequestOptions.Field.Name,
            TSC.RequestOptions.Operator.In,
            ["Workbook 00002", "Workbook 00003"],
        )
    )
    found, pagination = server.workbooks.get(options)
    assert sorted(w.name for w in found) == ["Workbook 00002", "Workbook 00003"]
    assert pagination.total_available == 2
    slim = server.workbooks.fields("name")
    assert all(w.id for w in slim)


@pytest.mark.tableau_emulator(seed_items=10, pats=(PAT,))
def test_crud_through_tsc(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    project = server.projects.create(
        TSC.ProjectItem("Finance", description="money", content_permissions="LockedToProject")
    )
    assert project.id
    assert project.content_permissions == "LockedToProject"
    child = server.projects.create(TSC.ProjectItem("Payroll", parent_id=project.id))
    assert child.parent_id == project.id
    project.name = "Money"
    assert server.projects.update(project).name == "Money"
    assert server.projects.get_by_id(project.id).name == "Money"
    with pytest.raises(TSC.ServerResponseError) as conflict:
        server.projects.create(TSC.ProjectItem("money"))
    assert conflict.value.code == "409006"
    server.projects.delete(project.id)
    with pytest.raises(TSC.ServerResponseError) as missing:
        server.projects.get_by_id(project.id)
    assert missing.value.code == "404005"

    group = server.groups.create(TSC.GroupItem("Analysts"))
    user = server.users.add(TSC.UserItem("bob", TSC.UserItem.Roles.Viewer))
    assert user.site_role == "Viewer"
    server.groups.add_user(group, user.id)
    server.groups.populate_users(group)
    assert [u.name for u in group.users] == ["bob"]
    user.site_role = TSC.UserItem.Roles.Explorer
    user.fullname = "Bob B"
    assert server.users.update(user).site_role == "Explorer"
    server.groups.remove_user(group, user.id)
    group.name = "Quants"
    assert server.groups.update(group).name == "Quants"
    server.groups.delete(group.id)
    server.users.remove(user.id)
    with pytest.raises(TSC.ServerResponseError) as gone:
        server.users.get_by_id(user.id)
    assert gone.value.code == "404002"
    assert tableau_emulator.stats()["internal_errors"] == 0


@pytest.mark.tableau_emulator(seed_items=8, pats=(PAT,))
def test_views_workbook_views_and_jobs(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    workbook = server.workbooks.get_by_id(next(iter(TSC.Pager(server.workbooks))).id)
    server.workbooks.populate_views(workbook)
    assert [v.name for v in workbook.views] == ["Overview", "Details"]
    views, _ = server.views.get(usage=True)
    assert all(v.total_views is not None for v in views)
    assert all(v.workbook_id for v in views)
    job_item = next(iter(TSC.Pager(server.jobs)))
    job = server.jobs.get_by_id(job_item.id)
    assert job.id == job_item.id
    assert job.finish_code in (0, 1, 2, -1)


@pytest.mark.tableau_emulator(sites=("mkt",), users=USERS)
def test_switch_site(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator, TSC.TableauAuth("admin", "admin", site_id=""))
    old_token = server.auth_token
    server.auth.switch_site(TSC.SiteItem("mkt", "mkt"))
    assert server.site_id == tableau_emulator.site_id("mkt")
    assert server.auth_token != old_token
    assert len(list(TSC.Pager(server.projects))) == 1
    server.auth.switch_site(TSC.SiteItem("mkt", "mkt"))  # 403070: TSC ignores it on purpose


@pytest.mark.tableau_emulator(pats=(PAT,))
def test_forced_expiry_surfaces_as_401002(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    assert list(TSC.Pager(server.projects))
    tableau_emulator.expire_sessions()
    with pytest.raises(TSC.FailedSignInError) as caught:
        server.projects.get()
    assert caught.value.code == "401002"


@pytest.mark.tableau_emulator(pats=(PAT,), session_lifetime=60)
def test_idle_expiry_with_the_clock_advanced(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    tableau_emulator.advance(59)
    server.projects.get()
    tableau_emulator.advance(61)
    with pytest.raises(TSC.FailedSignInError) as caught:
        server.workbooks.get()
    assert caught.value.code == "401002"


@pytest.mark.tableau_emulator(pats=(PAT,))
def test_second_pat_sign_in_kills_the_first(tableau_emulator: Emulator) -> None:
    first = signed_in(tableau_emulator)
    second = signed_in(tableau_emulator)
    with pytest.raises(TSC.FailedSignInError) as caught:
        first.users.get()
    assert caught.value.code == "401002"
    assert second.users.get()[1].total_available > 0


@pytest.mark.tableau_emulator(connected_apps=(ConnectedApp("cid", "kid", "value"),))
def test_jwt_sign_in(tableau_emulator: Emulator) -> None:
    claims = {
        "iss": "cid",
        "sub": "admin",
        "aud": "tableau",
        "jti": "tsc-1",
        "exp": int(time.time()) + 300,
        "scp": ["tableau:content:read"],
    }
    server = signed_in(
        tableau_emulator, TSC.JWTAuth(encode_hs256(claims, "value", kid="kid"), site_id="")
    )
    assert server.user_id
    assert tableau_emulator.stats()["signins_by_kind"] == {"jwt": 1}


@pytest.mark.tableau_emulator(mode="cloud", sites=("acme",), pats=(PAT,))
def test_cloud_mode(tableau_emulator: Emulator) -> None:
    server = signed_in(
        tableau_emulator, TSC.PersonalAccessTokenAuth("ci", "s3cret", site_id="acme")
    )
    assert server.version == "3.28"
    assert len(list(TSC.Pager(server.workbooks))) == 10


@pytest.mark.tableau_emulator(pats=(PAT,))
def test_injected_errors_reach_tsc(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    tableau_emulator.set_faults([{"kind": "status", "status": 429, "retry_after": "1", "times": 1}])
    with pytest.raises(TSC.ServerResponseError) as throttled:
        server.projects.get()
    assert throttled.value.code == "429000"
    tableau_emulator.set_faults([{"kind": "status", "status": 503, "times": 1}])
    with pytest.raises(InternalServerError):
        server.projects.get()
    assert server.projects.get()[1].total_available == 1


@pytest.mark.tableau_emulator(signin_redirect_host="localhost", pats=(PAT,))
def test_sign_in_redirect_is_followed_by_tsc(tableau_emulator: Emulator) -> None:
    server = signed_in(tableau_emulator)
    assert server.is_signed_in()
    assert tableau_emulator.stats()["status_counts"]["301"] == 1


# -- long operations: publish (single and chunked), download, refresh jobs ----------------------


def _default_project(server: Any) -> Any:
    return next(p for p in TSC.Pager(server.projects) if p.name == "Default")


@pytest.mark.tableau_emulator(pats=(PAT,))
def test_publish_download_overwrite_and_delete_a_workbook(
    tableau_emulator: Emulator, tmp_path: Any
) -> None:
    server = signed_in(tableau_emulator)
    project = _default_project(server)
    source = tmp_path / "Sales.twbx"
    source.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    item = TSC.WorkbookItem(project.id, name="Sales")
    published = server.workbooks.publish(item, str(source), TSC.Server.PublishMode.CreateNew)
    assert (published.name, published.project_id) == ("Sales", project.id)
    assert [v.name for v in published.views] == ["Sheet 1"]
    again = server.workbooks.publish(item, str(source), TSC.Server.PublishMode.Overwrite)
    assert again.id == published.id
    with pytest.raises(TSC.ServerResponseError) as conflict:
        server.workbooks.publish(item, str(source), TSC.Server.PublishMode.CreateNew)
    assert conflict.value.code == "409004"
    downloaded = server.workbooks.download(published.id, filepath=str(tmp_path / "out"))
    assert Path(downloaded).read_bytes() == source.read_bytes()
    assert downloaded.endswith(".twbx")  # TSC takes the extension from Content-Disposition
    server.workbooks.delete(published.id)
    with pytest.raises(TSC.ServerResponseError) as gone:
        server.workbooks.get_by_id(published.id)
    assert gone.value.code == "404006"


@pytest.mark.tableau_emulator(pats=(PAT,))
def test_chunked_publish_of_a_workbook_and_a_datasource(
    tableau_emulator: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TSC chunks files above its single-request limit: lowered here to 1 MB (1 MB chunks), so
    a 2.5 MB file goes in three appends."""
    from tableauserverclient.server.endpoint import workbooks_endpoint

    monkeypatch.setattr(workbooks_endpoint, "FILESIZE_LIMIT", 1024 * 1024)
    monkeypatch.setenv("TSC_FILESIZE_LIMIT_MB", "1")
    monkeypatch.setenv("TSC_CHUNK_SIZE_MB", "1")
    tableau_emulator.set_faults([
        {"kind": "latency", "path": "fileUploads$", "method": "POST", "probability": 0.0},
        {"kind": "latency", "path": "fileUploads/", "method": "PUT", "probability": 0.0},
    ])  # fmt: skip
    server = signed_in(tableau_emulator)
    project = _default_project(server)
    payload = bytes(range(256)) * (10 * 1024)  # 2.5 MiB
    workbook_file = tmp_path / "Big.twbx"
    workbook_file.write_bytes(payload)
    workbook = server.workbooks.publish(
        TSC.WorkbookItem(project.id, name="Big"), str(workbook_file), "CreateNew"
    )
    datasource_file = tmp_path / "Big.hyper"
    datasource_file.write_bytes(payload[::-1])
    datasource = server.datasources.publish(
        TSC.DatasourceItem(project.id, name="Big data"), str(datasource_file), "CreateNew"
    )
    rules = tableau_emulator.state.faults.describe()["rules"]
    assert [r["matched"] for r in rules] == [2, 6]  # two uploads, three appends each
    got = server.workbooks.download(workbook.id, filepath=str(tmp_path / "wb"))
    assert Path(got).read_bytes() == payload
    got = server.datasources.download(datasource.id, filepath=str(tmp_path / "ds"))
    assert Path(got).read_bytes() == payload[::-1]


@pytest.mark.tableau_emulator(pats=(PAT,), time_scale=600.0, job_duration=60.0)
def test_refresh_jobs_wait_fail_and_cancel(tableau_emulator: Emulator) -> None:
    """60 emulated seconds per job, at 600x: TSC's wait_for_job sees it finish within its
    first back-off."""
    server = signed_in(tableau_emulator)
    workbook = next(iter(TSC.Pager(server.workbooks)))
    job = server.workbooks.refresh(workbook)
    assert (job.type, job.finish_code) == ("RefreshExtract", -1)
    done = server.jobs.wait_for_job(job, timeout=30)
    assert (done.finish_code, done.progress) == (0, "100")
    datasource = next(iter(TSC.Pager(server.datasources)))
    done = server.jobs.wait_for_job(server.datasources.refresh(datasource), timeout=30)
    assert done.finish_code == 0
    tableau_emulator.set_faults([{"kind": "job_failure", "path": "refresh$", "times": 1}])
    with pytest.raises(TSC.JobFailedException):
        server.jobs.wait_for_job(server.workbooks.refresh(workbook), timeout=30)
    tableau_emulator.clear_faults()
    slow = server.workbooks.refresh(workbook)
    server.jobs.cancel(slow.id)
    with pytest.raises(TSC.JobCancelledException):
        server.jobs.wait_for_job(slow.id, timeout=30)


@pytest.mark.tableau_emulator(pats=(PAT,), time_scale=600.0, job_duration=60.0)
def test_publish_as_job(tableau_emulator: Emulator, tmp_path: Any) -> None:
    server = signed_in(tableau_emulator)
    source = tmp_path / "Async.twbx"
    source.write_bytes(b"PK-async")
    item = TSC.WorkbookItem(_default_project(server).id, name="Async")
    job = server.workbooks.publish(item, str(source), "CreateNew", as_job=True)
    assert job.type == "PublishWorkbook"
    assert server.jobs.wait_for_job(job, timeout=30).finish_code == 0
    published = next(w for w in TSC.Pager(server.workbooks) if w.name == "Async")
    got = server.workbooks.download(published.id, filepath=str(tmp_path / "back"))
    assert Path(got).read_bytes() == b"PK-async"


@pytest.mark.tableau_emulator(pats=(PAT,), seed_items=20, sites=("mkt",))
def test_view_exports_flows_schedules_tasks_and_sites(
    tableau_emulator: Emulator, tmp_path: Any
) -> None:
    server = signed_in(tableau_emulator)
    view = next(iter(TSC.Pager(server.views)))
    server.views.populate_image(view)
    assert view.image[:8] == b"\x89PNG\r\n\x1a\n"
    server.views.populate_csv(view)
    assert b"".join(view.csv).startswith(b"Region,Sales")
    server.views.populate_pdf(view)
    assert view.pdf.startswith(b"%PDF-")
    flows = list(TSC.Pager(server.flows))
    assert len(flows) == 2
    assert all(f.project_name == "Default" for f in flows)
    schedules, _ = server.schedules.get()
    assert {s.schedule_type for s in schedules} >= {"Extract", "Subscription"}
    tasks, _ = server.tasks.get()
    assert tasks
    assert all(t.target.type == "workbook" for t in tasks)
    site = server.sites.get_by_name("Default")
    assert (site.id, site.state) == (server.site_id, "Active")
    on_mkt = signed_in(tableau_emulator, TSC.PersonalAccessTokenAuth("ci", "s3cret", site_id="mkt"))
    assert on_mkt.sites.get_by_name("mkt").id == on_mkt.site_id
