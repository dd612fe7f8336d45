"""The official client, tableauserverclient (TSC), unmodified, against the emulator over HTTP.

Nothing here is mocked: if TSC cannot parse an answer, these tests fail the way a user's script
would.
"""

from __future__ import annotations

import time
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
