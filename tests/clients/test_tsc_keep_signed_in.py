"""`tabsession.tsc.keep_signed_in`: real tableauserverclient against the emulator over HTTP.

Counts come from the emulator's stats (sign-ins, statuses), never from timings. Sessions end
by `expire_sessions()`, by `kill_session` fault rules, by another process's PAT sign-in, or by
a clock shared between the emulator and the client.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
import requests

import tabsession
from tabsession.clock import ManualClock
from tabsession.emulator import ConnectedApp
from tabsession.emulator.server import Emulator
from tabsession.stores import FileStore, MemoryStore
from tests.conftest import ADMIN_PASSWORD, APP_SECRET, PAT_NAME, PAT_SECRET, SECRETS
from tests.integration._support import counter, emulator, matched

TSC = pytest.importorskip("tableauserverclient")
from tabsession.tsc import _internals, client_for, keep_signed_in  # noqa: E402

pytestmark = pytest.mark.tsc

REPO = Path(__file__).resolve().parents[2]
TSC_RELEASE = _internals._release(_internals.tsc_version())
REFUSED = getattr(TSC, "FailedSignInError", TSC.NotSignedInError)
"""What TSC raises for a 401 (before 0.35: NotSignedInError with the body)."""


def pat_auth(site: str = "") -> Any:
    return TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=site)


def new_server(emu: Emulator) -> Any:
    server = TSC.Server(emu.url)
    server.version = "3.23"
    return server


def signins(emu: Emulator) -> int:
    return int(emu.stats()["signins"])


def worker(mode: str, url: str, *args: str) -> dict[str, Any]:
    """Run tests/clients/_tsc_worker.py in its own process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.clients._tsc_worker", mode, url, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


# -- the symptom, and the cure ---------------------------------------------------------------


def test_symptom_plain_tsc_pager_fails_after_a_forced_expiry() -> None:
    with emulator(seed_items=40) as emu:
        server = new_server(emu)
        server.auth.sign_in(pat_auth())
        pages = iter(TSC.Pager(server.workbooks, TSC.RequestOptions(pagesize=10)))
        for _ in range(10):
            next(pages)
        emu.expire_sessions()
        with pytest.raises(REFUSED, match="401002"):
            list(pages)


def test_pager_survives_forced_expiries_with_one_sign_in_each() -> None:
    with emulator(seed_items=60) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        assert signins(emu) == 1
        names = []
        for number, workbook in enumerate(
            TSC.Pager(server.workbooks, TSC.RequestOptions(pagesize=10))
        ):
            if number in (15, 42):
                emu.expire_sessions()
            names.append(workbook.name)
        assert len(names) == len(set(names)) == 60
        stats = emu.stats()
        assert stats["signins"] == 3  # the first, then one per expiry
        assert stats["status_counts"]["401"] == 2  # one refused page per expiry, replayed
        assert stats["internal_errors"] == 0


def test_default_settings_short_sessions_forced_expiry_and_outside_sign_in() -> None:
    """Sessions of 30 s (absolute) on a clock shared with the client; a 160 s script; one forced
    expiry; one PAT sign-in from another process. Default policy: what is learned is enough."""
    clock = ManualClock()
    lifetime, step, items = 30.0, 0.8, 200
    with emulator(
        seed_items=items, clock=clock, session_lifetime=lifetime, lifetime_kind="absolute"
    ) as emu:
        server = keep_signed_in(new_server(emu), pat_auth(), clock=clock)
        seen = 0
        for number, _ in enumerate(TSC.Pager(server.workbooks, TSC.RequestOptions(pagesize=5))):
            seen += 1
            clock.advance(step)
            if number == 50:
                emu.expire_sessions()
            if number == 120:
                assert worker("plain", emu.url) == {"errors": 0}
        assert seen == items
        lifetimes = int(items * step // lifetime) + 1
        ours = signins(emu) - 1  # the other process signed in once
        assert ours <= lifetimes + 2, emu.stats()  # + the forced expiry + the outside sign-in
        assert emu.stats()["internal_errors"] == 0


def test_proactive_refresh_per_policy_meets_no_401() -> None:
    """With the policy matching the server (60 idle minutes), a script with pauses longer than
    that never meets a 401: the session is replaced before TSC's next call."""
    clock = ManualClock()
    hour = 3600.0
    with emulator(clock=clock, session_lifetime=hour, lifetime_kind="idle") as emu:
        policy = tabsession.SessionPolicy.server(idle=hour)
        server = keep_signed_in(new_server(emu), pat_auth(), policy=policy, clock=clock)
        first = server.auth_token
        for _ in range(3):
            for _ in range(6):  # busy: a call every 10 minutes keeps the session alive
                server.projects.get()
                clock.advance(600)
            clock.advance(2 * hour)  # a pause longer than the idle limit
        server.projects.get()
        stats = emu.stats()
        assert "401" not in stats["status_counts"], stats["status_counts"]
        assert stats["signins"] == 4  # the first, then one before the call after each pause
        assert server.auth_token != first  # TSC's own state follows the refreshes
        client = client_for(server)
        assert client is not None
        assert client.stats.refreshes == 3


# -- threads, processes, stores --------------------------------------------------------------


def test_eight_threads_on_one_server_across_one_expiry_sign_in_once() -> None:
    with emulator(seed_items=30) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        barrier = threading.Barrier(9, timeout=60)
        errors: list[BaseException] = []
        sessions: set[int] = set()
        lock = threading.Lock()

        def work() -> None:
            try:
                server.projects.get()
                with lock:
                    sessions.add(id(server.session) if TSC_RELEASE >= (0, 41) else 0)
                barrier.wait()
                barrier.wait()  # the main thread expired every session meanwhile
                for _ in range(3):
                    server.workbooks.get(TSC.RequestOptions(pagesize=5))
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        barrier.wait()
        emu.expire_sessions()
        before = signins(emu)
        barrier.wait()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert signins(emu) - before == 1
        if TSC_RELEASE >= (0, 41):
            assert len(sessions) == 8  # TSC gave each thread its own requests.Session


def test_second_process_with_a_shared_file_store_makes_no_sign_in(tmp_path: Path) -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth(), store=FileStore(tmp_path))
        server.projects.get()
        assert signins(emu) == 1
        answer = worker("kept", emu.url, str(tmp_path), "20")
        assert answer == {"errors": 0, "sign_ins": 0}
        assert signins(emu) == 1
        server.projects.get()  # the first process's session was never ended
        assert signins(emu) == 1
        assert "401" not in emu.stats()["status_counts"]


def test_two_processes_share_one_renewal_through_the_file_store(tmp_path: Path) -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth(), store=FileStore(tmp_path))
        emu.expire_sessions()
        assert worker("kept", emu.url, str(tmp_path), "5") == {"errors": 0, "sign_ins": 1}
        server.projects.get()  # renewed by the other process: adopted, no sign-in here
        assert signins(emu) == 2
        client = client_for(server)
        assert client is not None
        assert client.stats.sign_ins == 1


def test_adopts_a_live_session_from_a_store_shared_with_a_client() -> None:
    store = MemoryStore()
    with emulator() as emu:
        credential = tabsession.PersonalAccessToken(PAT_NAME, PAT_SECRET)
        with tabsession.Client(emu.url, credential, store=store) as tab:
            tab.get("projects")
            assert signins(emu) == 1
            server = keep_signed_in(new_server(emu), pat_auth(), store=store)
            assert len(list(TSC.Pager(server.projects))) >= 1
            assert signins(emu) == 1
            assert server.auth_token == tab.token()
            assert server.site_id == emu.site_id()
            assert server.user_id == tab.session.user_id if tab.session else False
            tab.get("users")  # the client keeps working on the same session
            assert signins(emu) == 1


def test_a_tabsession_credential_and_a_site() -> None:
    with emulator(sites=("mkt",)) as emu:
        server = keep_signed_in(
            new_server(emu), tabsession.Password("admin", ADMIN_PASSWORD), site="mkt"
        )
        assert server.site_id == emu.site_id("mkt")
        assert len(list(TSC.Pager(server.projects))) == 1
        with pytest.raises(tabsession.ConfigurationError):
            keep_signed_in(new_server(emu), pat_auth("mkt"), site="other")


# -- TSC's own session calls -----------------------------------------------------------------


def test_sign_out_then_sign_in_and_the_with_statement() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        server.auth.sign_out()
        assert not server.is_signed_in()
        assert emu.stats()["signouts"] == 1  # private store: the session really ends
        with pytest.raises(TSC.NotSignedInError):
            server.projects.get()
        with server.auth.sign_in(pat_auth()):
            assert server.is_signed_in()
            server.projects.get()
            emu.expire_sessions()
            server.projects.get()
        assert not server.is_signed_in()
        stats = emu.stats()
        assert stats["signins"] == 3  # the first, after the sign-out, after the expiry
        assert stats["signouts"] == 2


def test_sign_in_on_a_kept_server_uses_the_live_session() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        token = server.auth_token
        server.auth.sign_in(pat_auth())  # a typical script signs in itself: no second session
        assert server.auth_token == token
        server.projects.get()
        assert signins(emu) == 1


def test_signing_in_with_another_credential_or_site_follows_it() -> None:
    with emulator(sites=("mkt",)) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        server.auth.sign_out()
        server.auth.sign_in(TSC.TableauAuth("admin", ADMIN_PASSWORD, site_id="mkt"))
        assert server.site_id == emu.site_id("mkt")
        emu.expire_sessions()
        assert len(list(TSC.Pager(server.projects))) == 1  # renewed with the password, on mkt
        assert emu.stats()["signins_by_kind"] == {"password": 2, "pat": 1}


def test_a_refused_sign_in_with_other_credentials_keeps_the_held_session() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        with pytest.raises(tabsession.SignInFailed):
            server.auth.sign_in(TSC.TableauAuth("admin", "wrong-password"))
        server.projects.get()  # still on the PAT session
        stats = emu.stats()
        assert (stats["signins"], stats["signin_failures"]) == (1, 1)


def test_sign_out_with_a_shared_store_leaves_the_session_to_the_others(tmp_path: Path) -> None:
    with emulator() as emu:
        first = keep_signed_in(new_server(emu), pat_auth(), store=FileStore(tmp_path))
        second = keep_signed_in(new_server(emu), pat_auth(), store=FileStore(tmp_path))
        with first.auth.sign_in(pat_auth()):
            first.projects.get()
        assert not first.is_signed_in()
        second.projects.get()
        stats = emu.stats()
        assert (stats["signins"], stats["signouts"]) == (1, 0)
        assert "401" not in stats["status_counts"]


def test_switch_site_then_expiry() -> None:
    with emulator(sites=("mkt",)) as emu:
        server = keep_signed_in(
            new_server(emu), TSC.TableauAuth("admin", ADMIN_PASSWORD, site_id="")
        )
        server.auth.switch_site(TSC.SiteItem("mkt", "mkt"))
        assert server.site_id == emu.site_id("mkt")
        emu.expire_sessions()
        assert len(list(TSC.Pager(server.projects))) == 1  # renewed on the new site
        assert server.site_id == emu.site_id("mkt")
        server.auth.switch_site(TSC.SiteItem("mkt", "mkt"))  # already there: TSC's 403070 case
        assert server.site_id == emu.site_id("mkt")


def test_use_server_version_is_honoured() -> None:
    with emulator() as emu:
        server = keep_signed_in(TSC.Server(emu.url, use_server_version=True), pat_auth())
        assert server.version == "3.23"
        assert signins(emu) == 1


def test_keep_signed_in_twice_replaces_the_hook() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        keep_signed_in(server, pat_auth())
        adapter = server.session.get_adapter(emu.url)
        assert adapter.inner.__class__.__name__ == "HTTPAdapter"  # not stacked
        emu.expire_sessions()
        server.projects.get()
        assert emu.stats()["status_counts"]["401"] == 1


def test_a_kept_server_can_be_garbage_collected() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        server.projects.get()
        client = client_for(server)
        gone = weakref.ref(server)
        getattr(server, "close", server.session.close)()  # TSC's own connections (0.41+: close)
        del server
        gc.collect()
        assert gone() is None
        assert client is not None
        with pytest.raises(tabsession.ConfigurationError):  # closed with its server
            client.get("projects")


# -- errors and secrets ----------------------------------------------------------------------


def test_wrong_credentials_fail_once_with_a_clear_error() -> None:
    with emulator() as emu:
        wrong = TSC.PersonalAccessTokenAuth(PAT_NAME, "not-the-secret", site_id="")
        with pytest.raises(tabsession.SignInFailed) as caught:
            keep_signed_in(new_server(emu), wrong)
        assert caught.value.code == "401001"
        assert PAT_NAME in str(caught.value)  # names the PAT, never its secret
        assert "not-the-secret" not in str(caught.value)
        assert emu.stats()["signin_failures"] == 1


def test_a_revoked_pat_mid_script_is_one_attempt_not_a_loop() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        emu.state.auth.revoke_pat(PAT_NAME)
        emu.expire_sessions()
        with pytest.raises(tabsession.SignInFailed):
            server.projects.get()
        stats = emu.stats()
        assert stats["signin_failures"] == 1
        assert stats["error_codes"]["401001"] == 1  # one sign-in attempt, never retried
        assert stats["status_counts"]["401"] == 2  # with the call that met the expiry


def test_replays_are_bounded_when_every_new_session_is_refused_too() -> None:
    """Each replay meets a NEWER session's refusal (a distinct expiry): replayed again, 3 times
    at most, then TSC reports the 401 itself. Never a loop."""
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth(), breaker=None)
        emu.set_faults([{"kind": "kill_session", "path": "projects"}])
        with pytest.raises(REFUSED, match="401002"):
            server.projects.get()
        stats = emu.stats()
        assert stats["status_counts"]["401"] == 4  # the call and its 3 replays
        assert stats["signins"] == 4


def test_the_pat_breaker_stops_renewals_that_keep_being_refused() -> None:
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        emu.set_faults([{"kind": "kill_session", "path": "projects"}])
        with pytest.raises(tabsession.SessionContention):
            server.projects.get()
        assert emu.stats()["signins"] <= 3


def test_a_custom_session_factory_keeps_its_settings() -> None:
    made: list[Any] = []

    def factory() -> Any:
        session = requests.Session()
        session.headers["X-Team"] = "data-eng"
        made.append(session)
        return session

    with emulator() as emu:
        server = TSC.Server(emu.url, session_factory=factory)
        server.version = "3.23"
        keep_signed_in(server, pat_auth())
        emu.set_faults([counter("projects")])
        emu.expire_sessions()
        server.projects.get()
        assert made  # TSC's sessions still come from the user's factory
        assert all(session.headers["X-Team"] == "data-eng" for session in made)
        assert signins(emu) == 2
        assert matched(emu) == [2]  # the refused call and its replay


def test_unsupported_tsc_release_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator() as emu:
        server = new_server(emu)
        monkeypatch.setattr(_internals, "tsc_version", lambda: "0.29")
        with pytest.raises(tabsession.ConfigurationError, match=r">= 0\.30"):
            keep_signed_in(server, pat_auth())
        monkeypatch.setattr(_internals, "tsc_version", lambda: "1.2.0")
        with pytest.raises(tabsession.ConfigurationError, match=r"tableauserverclient 1\.2\.0"):
            keep_signed_in(server, pat_auth())
        assert signins(emu) == 0


def test_an_unknown_auth_object_is_refused_before_any_request() -> None:
    with emulator() as emu, pytest.raises(tabsession.ConfigurationError, match="TableauAuth"):
        keep_signed_in(new_server(emu), object())
    assert emu.stats()["requests"] == 0


def test_connected_app_jwt_renews_where_a_single_tsc_jwt_cannot() -> None:
    app = ConnectedApp("cid", "kid", APP_SECRET)
    with emulator(connected_apps=(app,)) as emu:
        minted = tabsession.ConnectedAppJWT("cid", "kid", APP_SECRET, "admin")
        once = keep_signed_in(new_server(emu), TSC.JWTAuth(minted.mint(), site_id=""))
        renewing = keep_signed_in(new_server(emu), minted)
        emu.expire_sessions()
        renewing.projects.get()
        with pytest.raises(tabsession.SignInFailed):  # Tableau accepts each JWT once
            once.projects.get()
        assert emu.stats()["signins_by_kind"] == {"jwt": 3}


def test_no_secret_in_reprs_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with emulator() as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        emu.expire_sessions()
        server.projects.get()
        token = server.auth_token
        adapter = server.session.get_adapter(emu.url)
        client = client_for(server)
        shown = [repr(adapter), repr(adapter.keeper), repr(client), str(client.session)]
        try:
            keep_signed_in(new_server(emu), TSC.TableauAuth("admin", "wrong-pw-3x"))
        except tabsession.SignInFailed as exc:
            shown.append(str(exc))
            shown.append(repr(exc))
        text = "\n".join([*shown, caplog.text])
        for secret in (*SECRETS, token, "wrong-pw-3x"):
            assert secret not in text


# -- long operations (the emulator endpoints come from the emulator issue) -------------------


def test_metadata_query_across_an_expiry() -> None:
    query = "{ workbooks { name } }"
    with emulator(seed_items=12) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        first = server.metadata.query(query)
        emu.expire_sessions()
        second = server.metadata.query(query)  # its 401 is JSON: TSC alone would fail here
        assert second == first
        assert len(second["data"]["workbooks"]) == 12
        assert signins(emu) == 2


def test_chunked_publish_of_80_mb_with_a_session_ending_during_the_upload(
    tmp_path: Path,
) -> None:
    workbook = tmp_path / "big.twbx"
    chunk = b"tabsession-" * 1024 * 1024  # 11 MiB of a pattern
    with workbook.open("wb") as out:
        for _ in range(8):
            out.write(chunk[: 10 * 1024 * 1024])
    assert workbook.stat().st_size == 80 * 1024 * 1024
    with emulator(seed_items=2) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        project = next(iter(TSC.Pager(server.projects)))
        emu.set_faults([{"kind": "kill_session", "path": "fileUploads/", "method": "PUT",
                         "after": 1, "times": 1}])  # fmt: skip
        item = server.workbooks.publish(
            TSC.WorkbookItem(project.id, name="Big"), workbook, TSC.Server.PublishMode.CreateNew
        )
        assert item.id
        assert item.name == "Big"
        assert signins(emu) == 2
        target = server.workbooks.download(item.id, filepath=str(tmp_path / "back"))
        assert Path(target).stat().st_size == workbook.stat().st_size


def test_download_across_an_expiry(tmp_path: Path) -> None:
    source = tmp_path / "small.twbx"
    source.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 400)
    with emulator(seed_items=2) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        project = next(iter(TSC.Pager(server.projects)))
        item = server.workbooks.publish(
            TSC.WorkbookItem(project.id, name="Small"), source, TSC.Server.PublishMode.CreateNew
        )
        emu.set_faults([{"kind": "kill_session", "path": "/content", "times": 1}])
        target = server.workbooks.download(item.id, filepath=str(tmp_path / "copy"))
        assert Path(target).read_bytes() == source.read_bytes()
        assert signins(emu) == 2


def test_wait_for_job_on_a_refresh_that_outlives_two_sessions() -> None:
    with emulator(seed_items=4, job_duration=2.0) as emu:
        server = keep_signed_in(new_server(emu), pat_auth())
        workbook = next(iter(TSC.Pager(server.workbooks)))
        job = server.workbooks.refresh(workbook.id)
        emu.set_faults(
            [{"kind": "kill_session", "path": r"jobs/", "method": "GET", "every": 2, "times": 2}]
        )
        done = server.jobs.wait_for_job(job, timeout=60)
        assert done.finish_code == 0
        assert signins(emu) == 3  # the first, then one per session that ended


def test_the_readme_tsc_section_runs() -> None:
    """The ```python blocks of the README's TSC section, as a user would paste them."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("## tableauserverclient (TSC)")
    section = readme[start : readme.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md (TSC section)", "exec"), {})
