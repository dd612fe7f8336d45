"""Long operations over real HTTP against the emulator: publishing in one request and in
chunks, across expiries and kills (401002 from a killed session, 401000 from a fault), upload
sessions that vanish, ambiguous append failures, streamed downloads, job waits across expiries
and under 429s, in both clients. Counts come from the emulator (stats, fault-rule counters) and
the bytes are compared by sha256; nothing is timed."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tabsession
from tabsession.clock import ManualClock
from tabsession.emulator.config import EmulatorConfig
from tabsession.emulator.server import Emulator
from tabsession.errors import JobFailed, NotFound, RateLimited
from tabsession.testing import instant_waits

from ._support import counter, emulator, fired, matched, pat

KB = 1024
EXPIRED_CODES = ["401002"] + (
    ["401000"] if "expired_code" in {f.name for f in dataclasses.fields(EmulatorConfig)} else []
)
"""The codes an expired session gets: the emulator's `expired_code` knob, where it has one."""

KILLS_ARE_DELIBERATE: dict[str, Any] = {"breaker": None}
"""These tests end sessions milliseconds after their sign-in, on purpose: the PAT-contention
breaker (rule R10) would rightly call that contention, so it is off here."""
UPLOAD = r"fileUploads/[^/]+$"
"""An append (`PUT fileUploads/{id}`) or nothing else."""


def sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulator() as emu:
        yield emu


def default_project(tab: tabsession.Client) -> str:
    answer = tab.get("projects", params={"filter": "name:eq:Default"})
    return str(answer["projects"]["project"][0]["id"])


def named(tab: tabsession.Client, name: str) -> list[dict[str, Any]]:
    answer = tab.get("workbooks", params={"filter": f"name:eq:{name}"})
    return list((answer.get("workbooks") or {}).get("workbook") or [])


def test_small_file_is_one_request_and_downloads_the_same_bytes(
    emu: Emulator, tmp_path: Path
) -> None:
    source = make_file(tmp_path, "Sales.twbx", 200 * KB)
    progress: list[tuple[int, int | None]] = []
    emu.set_faults([counter(r"workbooks$", "POST"), counter(r"fileUploads")])
    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        workbook = tab.publish_workbook(
            source,
            project_id=default_project(tab),
            on_progress=lambda d, t: progress.append((d, t)),
        )
        assert workbook["name"] == "Sales"
        dest = tmp_path / "copy.twbx"
        got: list[int] = []
        assert tab.download_workbook(workbook["id"], dest, on_progress=lambda d, t: got.append(d))
    assert sha(dest) == sha(source)
    assert matched(emu) == [1, 0]  # one POST workbooks, no upload session
    assert progress[-1] == (200 * KB, 200 * KB)
    assert got[-1] == 200 * KB
    assert sorted(os.listdir(tmp_path)) == ["Sales.twbx", "copy.twbx"]  # no temporary left


@pytest.mark.parametrize(
    "refusal",
    [
        {"kind": "kill_session"},  # the session really ends: 401002
        {"kind": "status", "status": 401, "body": "xml"},  # 401000, answered in front of it
    ],
    ids=["killed-401002", "refused-401000"],
)
def test_chunked_publish_survives_kills_and_expiries(
    emu: Emulator, tmp_path: Path, refusal: dict[str, Any]
) -> None:
    """16 blocks; every 5th append is refused with a 401 and the whole world's sessions are
    expired twice from the progress callback: no failure, one upload session, every block
    appended exactly once, the same bytes back."""
    source = make_file(tmp_path, "Big.twbx", 1024 * KB)
    emu.set_faults(
        [
            {**refusal, "path": UPLOAD, "method": "PUT", "every": 5},
            counter("fileUploads$", "POST"),
            counter(UPLOAD, "PUT"),
        ]
    )

    def progress(done: int, total: int | None) -> None:
        if done in (6 * 64 * KB, 13 * 64 * KB):  # not just before a kill: 2 more deaths
            emu.expire_sessions()

    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        project = default_project(tab)
        before = emu.stats()["signins"]
        workbook = tab.publish_workbook(
            source,
            project_id=project,
            chunk_size=64 * KB,
            chunked_above=512 * KB,
            on_progress=progress,
        )
        signins = emu.stats()["signins"] - before
        assert len(named(tab, "Big")) == 1
        tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
    kills = emu.state.faults.describe()["rules"][0]["fired"]
    assert kills >= 3
    opened, appends = matched(emu)[1:]
    assert opened == 1  # the same upload session all along
    assert appends == 16 + kills + 2  # each refused append replayed once, nothing else resent
    assert signins == kills + 2  # one sign-in per death (kills and the two expiries)
    assert sha(tmp_path / "back.twbx") == sha(source)


def test_upload_lost_with_its_session_restarts_once(tmp_path: Path) -> None:
    """On a server whose upload sessions end with their auth session, an expiry mid-upload
    costs one restart from the first block; a second loss is reported, not looped."""
    source = make_file(tmp_path, "Lost.twbx", 512 * KB)
    with emulator(upload_outlives_session=False) as emu:
        emu.set_faults([counter("fileUploads$", "POST"), counter(UPLOAD, "PUT")])
        expiries = {"left": 1}

        def progress(done: int, total: int | None) -> None:
            if done == 192 * KB and expiries["left"] > 0:
                expiries["left"] -= 1
                emu.expire_sessions()

        with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            project = default_project(tab)
            workbook = tab.publish_workbook(
                source,
                project_id=project,
                chunk_size=64 * KB,
                chunked_above=64 * KB,
                on_progress=progress,
            )
            tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
            assert sha(tmp_path / "back.twbx") == sha(source)
            # 3 blocks, then the expiry: the 4th append's replay finds no upload (404); the
            # second upload sends all 8 blocks
            assert matched(emu) == [2, 3 + 2 + 8]

            expiries["left"] = 2
            with pytest.raises(NotFound):
                tab.publish_workbook(
                    source,
                    project_id=project,
                    name="Lost again",
                    chunk_size=64 * KB,
                    chunked_above=64 * KB,
                    on_progress=progress,
                )
            assert named(tab, "Lost again") == []


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 503, "retry_after": "0"},
        {"kind": "drop"},
    ],
    ids=["500", "503", "drop"],
)
def test_ambiguous_append_failure_restarts_and_never_resends_the_block(
    emu: Emulator, tmp_path: Path, fault: dict[str, Any]
) -> None:
    source = make_file(tmp_path, "Flaky.twbx", 512 * KB)
    emu.set_faults(
        [
            {**fault, "path": UPLOAD, "method": "PUT", "after": 4, "times": 1},
            counter("fileUploads$", "POST"),
            counter(UPLOAD, "PUT"),
        ]
    )
    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        workbook = tab.publish_workbook(
            source, project_id=default_project(tab), chunk_size=64 * KB, chunked_above=64 * KB
        )
        tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
    # 4 appends, the 5th fails and is never resent to that upload: a new one sends all 8
    assert fired(emu)[0] == 1
    assert matched(emu)[1:] == [2, 5 + 8]
    assert sha(tmp_path / "back.twbx") == sha(source)
    assert len(emu.state.uploads) == 1  # the abandoned upload (Tableau ends it after a day)


@pytest.mark.parametrize(
    "refusal",
    [
        {"kind": "kill_session"},  # the session really ends: 401002
        {"kind": "status", "status": 401, "body": "xml"},  # 401000, answered in front of it
    ],
    ids=["killed-401002", "refused-401000"],
)
def test_download_across_a_401_and_a_dropped_connection(
    emu: Emulator, tmp_path: Path, refusal: dict[str, Any]
) -> None:
    source = make_file(tmp_path, "Down.twbx", 700 * KB)
    content = r"workbooks/[^/]+/content$"
    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        workbook = tab.publish_workbook(source, project_id=default_project(tab))
        emu.set_faults(
            [
                {**refusal, "path": content, "times": 1},
                {"kind": "drop", "path": content, "after": 1, "times": 1},
                counter(content),
            ]
        )
        before = emu.stats()["signins"]
        tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
        assert emu.stats()["signins"] - before == 1
    assert matched(emu)[2] == 3  # refused, dropped, served
    assert sha(tmp_path / "back.twbx") == sha(source)
    assert sorted(os.listdir(tmp_path)) == ["Down.twbx", "back.twbx"]


def test_failed_download_leaves_dest_untouched(emu: Emulator, tmp_path: Path) -> None:
    dest = tmp_path / "keep.twbx"
    dest.write_bytes(b"old")
    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab, pytest.raises(NotFound):
        tab.download_workbook("no-such-workbook", dest)
    assert dest.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.twbx"]


def refresh(tab: tabsession.Client) -> str:
    workbook = tab.get("workbooks", params={"pageSize": 1})["workbooks"]["workbook"][0]
    return str(tab.post(f"workbooks/{workbook['id']}/refresh", json={})["job"]["id"])


@pytest.mark.parametrize("expired_code", EXPIRED_CODES)
def test_wait_for_job_outlives_two_sessions(expired_code: str) -> None:
    """A 40 s refresh; each poll moves the emulated clock 15 s and a 15 s session lifetime ends
    the session between polls: the wait returns Success, with one sign-in per expiry."""
    knobs: dict[str, Any] = {} if expired_code == "401002" else {"expired_code": expired_code}
    with emulator(job_duration=40.0, session_lifetime=15.0, **knobs) as emu, instant_waits():
        with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            job_id = refresh(tab)
            seen: list[str] = []

            def progress(job: dict[str, Any]) -> None:
                seen.append(str(job["progress"]))
                emu.advance(15)

            job = tab.wait_for_job(job_id, on_progress=progress)
            stats = emu.stats()  # before close() signs the last (expired) session out
        assert str(job["finishCode"]) == "0"
        assert len(seen) >= 3
        assert stats["sessions_expired"] >= 2
        refusals = stats["error_codes"].get(expired_code, 0)
        assert refusals >= 2
        assert stats["signins"] == 1 + refusals  # one sign-in per expiry met


def test_wait_for_job_raises_job_failed_with_the_notes(emu: Emulator) -> None:
    emu.set_faults([{"kind": "job_failure", "path": r"refresh$"}])
    with instant_waits(), tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        job_id = refresh(tab)
        with pytest.raises(JobFailed) as caught:
            tab.wait_for_job(job_id, on_progress=lambda job: emu.advance(60))
    assert caught.value.job_id == job_id
    assert "failed" in caught.value.notes.lower()


def test_wait_for_job_waits_out_a_429_with_retry_after(emu: Emulator) -> None:
    """More 429s than the sender retries: the wait honours Retry-After (7 s) and goes on."""
    waits: list[float] = []

    def on_event(name: str, fields: Any) -> None:
        if name == "job_wait":
            waits.append(float(fields["seconds"]))

    with (
        instant_waits(),
        tabsession.Client(emu.url, pat(), on_event=on_event, **KILLS_ARE_DELIBERATE) as tab,
    ):
        job_id = refresh(tab)
        emu.set_faults(
            [
                {"kind": "status", "status": 429, "retry_after": "7", "path": r"jobs/", "times": 6},
                counter(r"jobs/"),
            ]
        )
        job = tab.wait_for_job(job_id, on_progress=lambda job: emu.advance(60))
    assert str(job["finishCode"]) == "0"
    # the sender's 5 attempts, the wait, the next poll's 6th 429 and its retry, a last poll
    assert matched(emu)[1] == 8
    assert waits[0] == 7.0


def test_bad_arguments_are_configuration_errors_before_anything_is_sent(tmp_path: Path) -> None:
    from tabsession.errors import ConfigurationError

    with emulator() as emu, tabsession.Client(emu.url, pat()) as tab:
        with pytest.raises(ConfigurationError):
            tab.publish_workbook("book.pdf", project_id="p")
        with pytest.raises(ConfigurationError):
            tab.publish_workbook("book.twbx", project_id="p", mode="Append")
        with pytest.raises(ConfigurationError, match="cannot read"):
            tab.publish_workbook(tmp_path / "missing.twbx", project_id="p")
        with pytest.raises(ConfigurationError, match="cannot write"):
            tab.download("workbooks/x/content", tmp_path / "no" / "such" / "dir.twbx")
        assert emu.stats()["requests"] == 0


def test_async_client_publishes_downloads_and_waits(tmp_path: Path) -> None:
    source = make_file(tmp_path, "Async.twbx", 600 * KB)

    async def main(emu: Emulator) -> tuple[int, int]:
        async with tabsession.AsyncClient(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            projects = await tab.get("projects", params={"filter": "name:eq:Default"})
            project = projects["projects"]["project"][0]["id"]
            expired = {"done": False}

            def progress(done: int, total: int | None) -> None:
                if done >= 256 * KB and not expired["done"]:
                    expired["done"] = True
                    emu.expire_sessions()

            workbook = await tab.publish_workbook(
                source,
                project_id=project,
                chunk_size=64 * KB,
                chunked_above=64 * KB,
                on_progress=progress,
            )
            emu.expire_sessions()
            await tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
            job = await tab.publish_workbook(source, project_id=project, name="As job", as_job=True)
            done = await tab.wait_for_job(job["id"], on_progress=lambda j: emu.advance(30))
            return int(done["finishCode"]), len(await tab.get("workbooks"))

    with emulator() as emu, instant_waits():
        emu.set_faults([counter("fileUploads$", "POST")])
        code, _ = asyncio.run(main(emu))
        assert code == 0
        assert matched(emu) == [1]
        assert emu.stats()["sessions_expired"] == 2
    assert sha(tmp_path / "back.twbx") == sha(source)


def test_rate_limited_wait_without_hint_uses_the_interval(emu: Emulator) -> None:
    with instant_waits(), tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        job_id = refresh(tab)
        emu.set_faults([{"kind": "status", "status": 429, "path": r"jobs/", "times": 5}])
        job = tab.wait_for_job(job_id, on_progress=lambda job: emu.advance(60))
    assert str(job["finishCode"]) == "0"
    assert issubclass(RateLimited, tabsession.TableauError)


@pytest.mark.parametrize("expired_code", EXPIRED_CODES)
def test_an_80_mb_workbook_outlives_several_15_s_sessions(
    tmp_path: Path, expired_code: str
) -> None:
    """Above Tableau's 64 MB one-request limit, with the default chunk size (10 blocks of 8 MiB)
    on a server whose sessions end 15 s after sign-in: each block moves the emulated clock 8 s
    (a slow link), so the upload spans several session lifetimes, plus one forced expiry.
    Exactly one workbook of that name, one upload session, the same bytes back."""
    size = 80 * 1024 * KB
    source = tmp_path / "Huge.twbx"
    with source.open("wb") as file:
        for _ in range(size // (1024 * KB)):
            file.write(os.urandom(1024 * KB))
    forced: list[int] = []
    knobs: dict[str, Any] = {} if expired_code == "401002" else {"expired_code": expired_code}
    with emulator(session_lifetime=15.0, lifetime_kind="absolute", **knobs) as emu:
        emu.set_faults([counter("fileUploads$", "POST"), counter(UPLOAD, "PUT")])

        def progress(done: int, total: int | None) -> None:
            if done:
                emu.advance(8)
            if done >= size // 2 and not forced:
                forced.append(emu.expire_sessions())

        with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            workbook = tab.publish_workbook(
                source, project_id=default_project(tab), on_progress=progress
            )
            stats = emu.stats()
            assert len(named(tab, "Huge")) == 1
            tab.download_workbook(workbook["id"], tmp_path / "back.twbx")
        refusals = stats["error_codes"].get(expired_code, 0)
        assert forced == [1]
        assert stats["sessions_expired"] >= 3  # two lifetimes ran out, one forced
        assert refusals >= 3
        assert stats["signins"] == 1 + refusals  # one sign-in per session that ended
        opened, appends = matched(emu)
        assert opened == 1
        assert appends == 10 + refusals  # every refused append replayed once, none twice
    assert sha(tmp_path / "back.twbx") == sha(source)


def test_a_datasource_into_a_directory_and_a_single_publish_replayed_after_a_401(
    emu: Emulator, tmp_path: Path
) -> None:
    """The one-request publish is replayed whole after a killed session (Tableau refused it
    before acting): one data source, once. A download into a directory takes the served name."""
    source = make_file(tmp_path, "Orders.tdsx", 300 * KB)
    with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        project = default_project(tab)
        emu.set_faults(
            [
                {"kind": "kill_session", "path": r"datasources$", "method": "POST", "times": 1},
                counter(r"datasources$", "POST"),
            ]
        )
        datasource = tab.publish_datasource(source, project_id=project, name="Orders 2026")
        assert matched(emu)[1] == 2
        listed = tab.get("datasources", params={"filter": "name:eq:Orders 2026"})
        assert len(listed["datasources"]["datasource"]) == 1
        folder = tmp_path / "out"
        folder.mkdir()
        saved = tab.download_datasource(datasource["id"], folder)
    assert saved == str(folder / "Orders 2026.tdsx")
    assert sha(saved) == sha(source)
    assert os.listdir(folder) == ["Orders 2026.tdsx"]


def test_a_cancelled_job_raises_job_cancelled_and_a_timeout_job_timeout(emu: Emulator) -> None:
    from tabsession.errors import JobCancelled, JobTimeout

    with instant_waits(), tabsession.Client(emu.url, pat()) as tab:
        job_id = refresh(tab)
        polls: list[str] = []

        def cancel_at_second_poll(job: dict[str, Any]) -> None:
            polls.append(str(job["progress"]))
            if len(polls) == 2:
                tab.put(f"jobs/{job_id}")

        with pytest.raises(JobCancelled) as caught:
            tab.wait_for_job(job_id, on_progress=cancel_at_second_poll)
        assert caught.value.job["id"] == job_id
        assert len(polls) == 3

    clock = ManualClock()
    with tabsession.Client(emu.url, pat(), clock=clock, sleep=clock.advance) as tab:
        job_id = refresh(tab)
        with pytest.raises(JobTimeout):
            tab.wait_for_job(job_id, timeout=10)
        assert clock.monotonic() == pytest.approx(10)  # waits of 1, 1.5, 2.25, 3.375, then 1.875


class _CutBody(httpx.SyncByteStream):
    """The first `limit` bytes of a real body, then a dropped connection or a silent end."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int, how: str) -> None:
        self.inner, self.limit, self.how = inner, limit, how

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            yield chunk
            sent += len(chunk)
            if sent >= self.limit:
                if self.how == "drop":
                    raise httpx.ReadError("connection reset mid-body")
                return  # ends short of its Content-Length

    def close(self) -> None:
        self.inner.close()


class _CutFirstDownload(httpx.BaseTransport):
    """Real HTTP to the emulator; the first download's body is cut after 256 KiB."""

    def __init__(self, how: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.how = how
        self.cuts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/content") and self.cuts == 0:
            self.cuts += 1
            assert isinstance(response.stream, httpx.SyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_CutBody(response.stream, 256 * KB, self.how),
                extensions=response.extensions,
            )
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("how", ["drop", "short"])
def test_a_body_cut_mid_stream_means_a_fresh_download(
    emu: Emulator, tmp_path: Path, how: str
) -> None:
    source = make_file(tmp_path, "Cut.twbx", 1024 * KB)
    transport = _CutFirstDownload(how)
    seen: list[int] = []
    with (
        httpx.Client(transport=transport) as http,
        instant_waits(),
        tabsession.Client(emu.url, pat(), http_client=http) as tab,
    ):
        workbook = tab.publish_workbook(source, project_id=default_project(tab))
        dest = tab.download_workbook(
            workbook["id"], tmp_path / "back.twbx", on_progress=lambda d, t: seen.append(d)
        )
        retries = tab.stats.retries
    assert transport.cuts == 1
    assert retries == 1  # the sender's retry of an idempotent GET
    assert seen.count(0) == 2  # the fresh download started from zero
    assert sha(dest) == sha(source)
    assert sorted(os.listdir(tmp_path)) == ["Cut.twbx", "back.twbx"]


def test_a_404_on_the_commit_for_another_reason_is_not_an_upload_restart(
    emu: Emulator, tmp_path: Path
) -> None:
    source = make_file(tmp_path, "Orphan.twbx", 256 * KB)
    emu.set_faults([counter("fileUploads$", "POST"), counter(UPLOAD, "PUT")])
    with tabsession.Client(emu.url, pat()) as tab, pytest.raises(NotFound) as caught:
        tab.publish_workbook(
            source, project_id="no-such-project", chunk_size=64 * KB, chunked_above=64 * KB
        )
    assert caught.value.code == "404005"
    assert matched(emu) == [1, 4]  # one upload, its 4 blocks, no restart


def test_a_404_on_the_commit_with_the_upload_alive_is_raised(emu: Emulator, tmp_path: Path) -> None:
    """A commit's 404 with an unknown code: an empty append shows the upload still exists,
    so the 404 is about something else and is raised, without a restart."""
    source = make_file(tmp_path, "Odd.twbx", 256 * KB)
    emu.set_faults(
        [
            {"kind": "status", "status": 404, "path": r"workbooks$", "method": "POST"},
            counter("fileUploads$", "POST"),
            counter(UPLOAD, "PUT"),
        ]
    )
    with tabsession.Client(emu.url, pat()) as tab, pytest.raises(NotFound):
        tab.publish_workbook(
            source, project_id=default_project(tab), chunk_size=64 * KB, chunked_above=64 * KB
        )
    assert matched(emu) == [1, 1, 4 + 1]  # one commit, one upload, its blocks and the probe


class _AsyncCutBody(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            yield chunk
            sent += len(chunk)
            if sent >= self.limit:
                raise httpx.ReadError("connection reset mid-body")

    async def aclose(self) -> None:
        await self.inner.aclose()


class _AsyncCutFirstDownload(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cuts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/content") and self.cuts == 0:
            self.cuts += 1
            assert isinstance(response.stream, httpx.AsyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_AsyncCutBody(response.stream, 256 * KB),
                extensions=response.extensions,
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_async_download_cut_mid_stream_and_into_a_directory(emu: Emulator, tmp_path: Path) -> None:
    source = make_file(tmp_path, "Cut async.twbx", 2048 * KB)
    transport = _AsyncCutFirstDownload()

    async def main() -> str:
        async with (
            httpx.AsyncClient(transport=transport) as http,
            tabsession.AsyncClient(emu.url, pat(), http_client=http) as tab,
        ):
            projects = await tab.get("projects", params={"filter": "name:eq:Default"})
            workbook = await tab.publish_workbook(
                source, project_id=projects["projects"]["project"][0]["id"]
            )
            folder = tmp_path / "out"
            folder.mkdir()
            return await tab.download_workbook(workbook["id"], folder)

    with instant_waits():
        saved = asyncio.run(main())
    assert transport.cuts == 1
    assert saved == str(tmp_path / "out" / "Cut async.twbx")
    assert sha(saved) == sha(source)
    assert os.listdir(tmp_path / "out") == ["Cut async.twbx"]
