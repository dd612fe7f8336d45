"""The real `tabsession` process: no TTY, separate processes sharing one session, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession.emulator.server import Emulator
from tests.cli.conftest import Result, assert_no_secret

TIMEOUT = 60


def run(*args: str, input: str | None = None) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "tabsession.cli", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,  # never a terminal
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=TIMEOUT,
        check=False,
    )
    assert_no_secret(done.stdout, done.stderr)
    return Result(done.returncode, done.stdout, done.stderr)


def test_processes_share_one_session_from_login_on(home: Path, emu: Emulator) -> None:
    login = run(
        "login", "--server", emu.url, "--site", "marketing", "--pat-name", PAT_NAME,
        "--secret-stdin", input=PAT_SECRET + "\n",
    )  # fmt: skip
    assert login.exit_code == 0, login.stderr
    listing = run("api", "workbooks", "--paginate", "--format", "jsonl")
    assert listing.exit_code == 0, listing.stderr
    assert len(listing.stdout.splitlines()) == 23
    first, second = run("token"), run("token")
    assert first.stdout == second.stdout
    assert first.stdout.strip() in set(emu.state.auth._sessions)
    doctor = run("doctor", "--json")
    assert doctor.exit_code == 0, doctor.stdout
    assert all(check["status"] != "fail" for check in json.loads(doctor.stdout))
    assert emu.stats()["signins"] == 1
    listed = run("profiles", "--json")
    assert [p["name"] for p in json.loads(listed.stdout)] == ["default"]
    logout = run("logout")
    assert logout.exit_code == 0, logout.stderr
    assert emu.stats()["active_sessions"] == 0


def test_no_terminal_means_no_prompt(home: Path) -> None:
    result = run("login")
    assert result.exit_code == 2
    assert "no terminal to ask on" in result.stderr


def test_exit_codes(home: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLEAU_SERVER", emu.url)
    monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
    monkeypatch.setenv("TABLEAU_PAT_SECRET", "wrong-secret")
    assert run("api", "projects").exit_code == 4
    assert run("api", "projects", "--format", "yaml").exit_code == 2
    assert run("explain", "-", input="no code here").exit_code == 1
    assert run("explain", "--code", "401002").exit_code == 0


def test_a_missing_extra_is_one_line(home: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.modules['starlette'] = None; "
        "sys.argv = ['tabsession', 'demo']; from tabsession.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: `tabsession demo` needs uvicorn: pip install 'tabsession[emulator]'"
    ]


def test_usage_errors_are_one_line(home: Path) -> None:
    result = run("api", "workbooks", "--page-size", "0")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid value for '--page-size': Input should be greater than or equal to 1 "
        "(see tabsession api --help)"
    ]
    unknown = run("nosuch")
    assert unknown.exit_code == 2
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_parallel_commands_share_one_sign_in(
    home: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLEAU_SERVER", emu.url)
    monkeypatch.setenv("TABLEAU_SITE", "marketing")
    monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
    monkeypatch.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tabsession.cli",
                "api",
                "workbooks",
                "--paginate",
                "--page-size",
                "5",
                "--format",
                "jsonl",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=TIMEOUT) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert len(stdout.splitlines()) == 23
        assert_no_secret(stdout, stderr)
    # one PAT, four processes at once: one sign-in, and no one ended another's session
    assert emu.stats()["signins"] == 1
    assert emu.stats()["status_counts"].get("401", 0) == 0
