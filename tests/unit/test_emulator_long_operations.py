"""Pure logic behind the emulator's long operations: job states on an injected clock, the byte
budget, upload sessions, multipart parsing (any input gives parts or Tableau's 400, never a
crash), deterministic export bytes."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabsession.clock import ManualClock
from tabsession.emulator.http.export_bytes import crosstab_xlsx, view_csv, view_pdf, view_png
from tabsession.emulator.http.handlers.publish import attachment, parse_multipart
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.files import Budget, FileStore, placeholder_file
from tabsession.emulator.state.jobs import JobBoard
from tabsession.emulator.state.uploads import IDLE_LIFETIME, UploadSessions


def test_a_job_goes_pending_in_progress_success_with_the_clock() -> None:
    clock = ManualClock(1000.0)
    board = JobBoard("site", clock, duration=100.0)
    job = board.start("RefreshExtract", "workbook", {"id": "w", "name": "W"})
    seen = []
    for step in (0, 5, 5, 40, 49, 1):
        clock.advance(step)
        seen.append((job.status(clock.time()), job.progress(clock.time())))
    assert seen == [
        ("Pending", 0),
        ("Pending", 0),
        ("InProgress", 10),
        ("InProgress", 50),
        ("InProgress", 99),
        ("Success", 100),
    ]
    assert board.find(job.id) is job


def test_failure_and_cancel() -> None:
    clock = ManualClock(0.0)
    board = JobBoard("site", clock, duration=10.0)
    failing = board.start("RefreshExtract", "datasource", {"id": "d"}, fails=True)
    running = board.start("RefreshExtract", "workbook", {"id": "w"})
    clock.advance(5)
    board.cancel(running.id)
    clock.advance(5)
    assert (failing.status(clock.time()), running.status(clock.time())) == ("Failed", "Cancelled")
    assert running.ended_at() == 5.0
    board.cancel(failing.id)  # finished: stays Failed
    assert failing.status(clock.time()) == "Failed"
    with pytest.raises(ApiError):
        board.cancel("nope")


def test_a_zero_duration_job_is_done_at_once() -> None:
    clock = ManualClock(0.0)
    job = JobBoard("s", clock, duration=0.0).start("PublishWorkbook", "workbook", {"id": "w"})
    assert (job.status(0.0), job.progress(0.0)) == ("Success", 100)


def test_budget_and_file_store() -> None:
    budget = Budget(100)
    files = FileStore(budget)
    budget.take(60)
    files.put("s", "workbooks", "a", "a.twbx", b"x" * 60)
    with pytest.raises(ApiError) as refused:
        budget.take(41)
    assert (refused.value.status, budget.used) == (413, 60)
    budget.take(30)
    files.put("s", "workbooks", "a", "a.twbx", b"y" * 30)  # replacing gives the old bytes back
    assert budget.used == 30
    assert files.prune("s", lambda kind, item_id: False) == 1
    assert budget.used == 0


def test_uploads_append_take_and_expire() -> None:
    clock = ManualClock(0.0)
    budget = Budget(1000)
    uploads = UploadSessions(budget, clock, outlive_session=False)
    upload = uploads.open("s", "token-a")
    uploads.append(upload.id, "s", "token-a", b"ab")
    uploads.append(upload.id, "s", "token-a", b"cd")
    with pytest.raises(ApiError):
        uploads.append(upload.id, "s", "token-b", b"x")  # another auth session
    with pytest.raises(ApiError):
        uploads.append(upload.id, "other-site", "token-a", b"x")
    assert uploads.take(upload.id, "s", "token-a") == b"abcd"
    assert budget.used == 4  # taken bytes stay with the caller, who stores them
    stale = uploads.open("s", "token-a")
    uploads.append(stale.id, "s", "token-a", b"zz")
    clock.advance(IDLE_LIFETIME + 1)
    with pytest.raises(ApiError):
        uploads.take(stale.id, "s", "token-a")
    assert (budget.used, len(uploads)) == (4, 0)


def test_multipart_parts_by_name() -> None:
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="request_payload"\r\n'
        b"Content-Type: text/xml\r\n\r\n<tsRequest/>\r\n"
        b'--XYZ\r\nContent-Disposition: form-data; name="tableau_file"; filename="file"\r\n'
        b"\r\n\x00\x01\r\n--\r\n--XYZ--\r\n"
    )
    parts = parse_multipart(body, 'multipart/mixed; boundary="XYZ"')
    assert parts["request_payload"].data == b"<tsRequest/>"
    assert (parts["tableau_file"].filename, parts["tableau_file"].data) == (
        "file",
        b"\x00\x01\r\n--",
    )
    with pytest.raises(ApiError):
        parse_multipart(body, "application/xml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=40))
def test_multipart_never_crashes(raw: bytes, boundary: str) -> None:
    status = 200
    try:
        parse_multipart(raw, f"multipart/mixed; boundary={boundary}")
    except ApiError as error:
        status = error.status
    assert status in (200, 400)


def test_attachment_names() -> None:
    assert attachment("a.twbx") == 'attachment; filename="a.twbx"'
    assert attachment('q"x.twbx').startswith('attachment; filename="q_x.twbx"; filename*=')


def test_export_bytes_are_deterministic_and_well_formed() -> None:
    png = view_png("v1")
    assert png == view_png("v1") != view_png("v2")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.endswith(b"IEND\xaeB`\x82")
    assert view_pdf("Overview").startswith(b"%PDF-1.4")
    assert view_pdf("Overview").endswith(b"%%EOF\n")
    assert view_csv("v1").splitlines()[0] == b"Region,Sales"
    with zipfile.ZipFile(io.BytesIO(crosstab_xlsx("v1"))) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    seeded = placeholder_file("workbooks", "Sales", "Sales")
    assert seeded == placeholder_file("workbooks", "Sales", "Sales")
    assert seeded.filename == "Sales.twbx"


def test_boundary_bytes_inside_a_file_are_data() -> None:
    data = b"abc--XYZ\r\ndef\r\n--XY"  # looks like a boundary, but no CRLF before the dashes
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="tableau_file"\r\n\r\n'
        + data
        + b"\r\n--XYZ--\r\n"
    )
    assert parse_multipart(body, "multipart/mixed; boundary=XYZ")["tableau_file"].data == data
