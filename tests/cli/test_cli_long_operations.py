"""`tabsession publish`, `download` and `wait` against the emulator: JSON on stdout, the
session shared with the other commands, expiries carried across, typed exit codes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tabsession.emulator.server import Emulator
from tests.cli.conftest import Cli


def sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.filterwarnings("ignore::tabsession.errors.ContentionWarning")  # expired on purpose
def test_publish_download_round_trip_in_chunks_across_an_expiry(
    cli: Cli, pat_env: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "Quarterly.twbx"
    source.write_bytes(os.urandom(3 * 2**20))
    published = cli("publish", str(source), "--project", "Default", "--chunk-mb", "1", "-q")
    assert published.exit_code == 0, published.stderr
    workbook = json.loads(published.stdout)
    assert workbook["name"] == "Quarterly"
    pat_env.expire_sessions()
    out = tmp_path / "out"
    out.mkdir()
    saved = cli("download", "workbook", workbook["id"], "-o", str(out), "-q")
    assert saved.exit_code == 0, saved.stderr
    assert saved.stdout.strip() == str(out / "Quarterly.twbx")
    assert sha(saved.stdout.strip()) == sha(source)
    assert pat_env.stats()["signins"] == 2  # one session for both commands, one renewal


def test_publish_as_job_then_wait(cli: Cli, pat_env: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "Orders.tdsx"
    source.write_bytes(b"x" * 4096)
    bad = cli("publish", str(source), "--project", "No such project", "-q")
    assert bad.exit_code == 2
    assert "no project named" in bad.stderr
    job = json.loads(cli("publish", str(source), "--project", "Default", "--as-job", "-q").stdout)
    pat_env.advance(60)
    done = cli("wait", job["id"], "-q")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["finishCode"] == "0"


def test_wait_reports_a_failed_job_and_download_a_missing_item(cli: Cli, pat_env: Emulator) -> None:
    pat_env.set_faults([{"kind": "job_failure", "path": "refresh$"}])
    listed = json.loads(cli("api", "workbooks", "-X", "GET", "-f", "pageSize=1").stdout)
    first = listed["workbooks"]["workbook"][0]["id"]
    refresh = cli("api", f"workbooks/{first}/refresh", "-X", "POST")
    assert refresh.exit_code == 0, refresh.stderr
    started = json.loads(refresh.stdout)
    pat_env.advance(60)
    failed = cli("wait", started["job"]["id"], "-q")
    assert failed.exit_code == 1
    assert "JobFailed" in failed.stderr
    missing = cli("download", "workbook", "no-such-id", "-q")
    assert missing.exit_code == 6
