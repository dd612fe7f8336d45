"""Tableau's own CLI, tabcmd (PyPI `tabcmd`, unmodified), against the emulator over HTTP.

tabcmd pins an older tableauserverclient than this project uses, so it lives in its own venv
(`.venv/tabcmd-venv`, made on first use; the tests skip when PyPI cannot be reached). Each
command runs as a real subprocess with HOME in a temporary directory (tabcmd keeps its session
file there). Results are checked in the emulator's state and counters, and in the files tabcmd
writes, never in timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tabsession.emulator import Account, PatSpec
from tabsession.emulator.http.export_bytes import view_csv, view_png
from tabsession.emulator.server import Emulator
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import parse_query
from tabsession.emulator.state.seed import stable_id

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "tabcmd-venv"
TABCMD = VENV / "bin" / "tabcmd"
PASSWORD = "tabcmd-pw-3Kd9"
PAT_NAME, PAT_SECRET = "tabcmd-pat", "tabcmd-secret-8Qw"
COMMAND_TIMEOUT = 120


def _install_tabcmd() -> None:
    if TABCMD.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
    done = subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", "tabcmd"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.skip(f"tabcmd could not be installed from PyPI: {done.stderr[-300:]}")


@pytest.fixture(scope="module")
def tabcmd_installed() -> Path:
    _install_tabcmd()
    return TABCMD


class Tabcmd:
    """Runs tabcmd commands against one emulator, with a private HOME."""

    def __init__(self, exe: Path, emu: Emulator, home: Path) -> None:
        self.exe, self.emu, self.home = exe, emu, home

    def __call__(self, *args: str) -> str:
        env = {**os.environ, "HOME": str(self.home)}
        done = subprocess.run(
            [str(self.exe), *args],
            env=env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"tabcmd {' '.join(args)} failed:\n{output[-3000:]}"
        return output


@pytest.fixture
def tabcmd(tabcmd_installed: Path, tmp_path: Path) -> Iterator[Tabcmd]:
    emu = Emulator(
        admin=Account("admin", PASSWORD, "ServerAdministrator"),
        pats=(PatSpec(PAT_NAME, PAT_SECRET),),
        seed_items=10,
    )
    with emu:
        yield Tabcmd(tabcmd_installed, emu, tmp_path)


def _items(tabcmd: Tabcmd, kind: str) -> list[dict[str, Any]]:
    """The Default site's items of a kind, read from the emulator's state."""
    site = tabcmd.emu.state.site_by_url("")
    assert site is not None
    page = site.content.list_page(kind, parse_query({"pageSize": "1000"}, KINDS[kind].fields))
    return page.items


def _names(tabcmd: Tabcmd, kind: str) -> set[str]:
    return {str(item["name"]) for item in _items(tabcmd, kind)}


def test_login_with_a_pat_and_the_everyday_commands(tabcmd: Tabcmd) -> None:
    run = tabcmd
    run("login", "-s", run.emu.url, "--token-name", PAT_NAME, "--token-value", PAT_SECRET)
    sites = run("listsites")
    assert "NAME: Default" in sites
    projects = run("list", "projects")
    assert "1 total projects" in projects
    assert "10 total workbooks" in run("list", "workbooks")
    assert "5 total datasources" in run("list", "datasources")
    assert "2 total flows" in run("list", "flows")

    run("createproject", "--name", "Quarterly")
    assert "Quarterly" in _names(run, "projects")
    run("deleteproject", "Quarterly")
    assert "Quarterly" not in _names(run, "projects")
    run("creategroup", "Analysts")
    assert "Analysts" in _names(run, "groups")
    run("deletegroup", "Analysts")
    assert "Analysts" not in _names(run, "groups")
    # tabcmd keeps no token between processes: every command signs in again with the saved PAT
    assert run.emu.stats()["signins_by_kind"] == {"pat": 10}


def test_view_image_csv_refresh_publish_delete_logout(tabcmd: Tabcmd) -> None:
    run = tabcmd
    run("login", "-s", run.emu.url, "--token-name", PAT_NAME, "--token-value", PAT_SECRET)
    view_id = stable_id("default-site", "view", "Workbook 00001", "Overview")
    run("get", "/views/Workbook00001/Overview.png", "-f", str(run.home / "overview.png"))
    assert (run.home / "overview.png").read_bytes() == view_png(view_id)
    run("export", "Workbook00001/Overview", "--csv", "-f", str(run.home / "overview.csv"))
    assert (run.home / "overview.csv").read_bytes() == view_csv("Overview", view_id)

    run("refreshextracts", "--workbook", "Workbook 00001")
    site_id = run.emu.site_id("")
    jobs = run.emu.state.jobs_for(site_id).all()
    assert [(j.type, j.target["name"]) for j in jobs] == [("RefreshExtract", "Workbook 00001")]

    upload = run.home / "Uploaded.twbx"
    upload.write_bytes(b"PK\x03\x04" + b"tabcmd" * 100)
    run("publish", str(upload), "-n", "Uploaded", "--project", "Default")
    assert "Uploaded" in _names(run, "workbooks")
    published = next(w for w in _items(run, "workbooks") if w["name"] == "Uploaded")
    stored = run.emu.state.files.get(site_id, "workbooks", published["id"])
    assert stored is not None
    assert stored.data == upload.read_bytes()
    run("delete", "Uploaded")
    assert "Uploaded" not in _names(run, "workbooks")
    assert run.emu.state.files.get(site_id, "workbooks", published["id"]) is None

    session_file = run.home / "tableau_auth.json"
    assert session_file.exists()
    signouts = run.emu.stats()["signouts"]
    assert "Signed out" in run("logout")
    # tabcmd's logout forgets the saved login; it holds no live session to sign out of
    assert not session_file.exists()
    assert run.emu.stats()["signouts"] == signouts


def test_login_with_a_password(tabcmd: Tabcmd) -> None:
    run = tabcmd
    secret = run.home / "password.txt"
    secret.write_text(PASSWORD)
    run("login", "-s", run.emu.url, "-u", "admin", "--password-file", str(secret))
    assert "1 total projects" in run("list", "projects")  # signs in again from the file
    assert run.emu.stats()["signins_by_kind"] == {"password": 2}
    run("logout")
