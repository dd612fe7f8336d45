"""`tabsession emulator`: the real command in a subprocess, plus typer's runner for --help and
bad input."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tabsession.cli import main
from tabsession.cli.app import app

EXE = Path(sys.executable).with_name("tabsession")
URL = re.compile(r"running at (http://127\.0\.0\.1:(\d+))")
runner = CliRunner()


class Running:
    def __init__(self, process: subprocess.Popen[str], url: str, banner: str) -> None:
        self.process, self.url, self.banner = process, url, banner


def start(*args: str) -> Running:
    """Start the command and read its banner until the control-plane line."""
    process = subprocess.Popen(
        [str(EXE), "emulator", "--port", "0", "--exit-after", "20s", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.strip().startswith("stop"):
            break
    banner = "".join(lines)
    found = URL.search(banner)
    if found is None:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"no URL in the banner:\n{banner}\n{err}")
    return Running(process, found.group(1), banner)


def test_banner_and_real_requests() -> None:
    running = start(
        "--pat",
        "ci:s3cret",
        "--site",
        "mkt",
        "--seed-items",
        "30",
        "--user",
        "alice:pw",
        "--connected-app",
        "cid:kid:val",
    )
    try:
        banner = running.banner
        for expected in (
            "server",
            "3.23",
            "4h idle",
            "mkt",
            "admin / admin",
            "alice / pw",
            "name=ci",
            "secret=s3cret",
            "client_id=cid",
            "curl -s -X POST",
            "/_emulator/stats",
        ):
            assert expected in banner, expected
        with httpx.Client(base_url=running.url, timeout=10) as http:
            assert http.get("/api/2.4/serverinfo").status_code == 200
            body = {
                "credentials": {
                    "personalAccessTokenName": "ci",
                    "personalAccessTokenSecret": "s3cret",
                    "site": {"contentUrl": "mkt"},
                }
            }
            creds = http.post(
                "/api/3.23/auth/signin", json=body, headers={"Accept": "application/json"}
            ).json()["credentials"]
            assert creds["estimatedTimeToExpiration"]
            listing = http.get(
                f"/api/3.23/sites/{creds['site']['id']}/workbooks",
                headers={"X-Tableau-Auth": creds["token"], "Accept": "application/json"},
            )
            assert listing.json()["pagination"]["totalAvailable"] == "30"
            assert creds["site"]["id"] in banner
            stats = http.get("/_emulator/stats").json()
            assert (stats["signins"], stats["requests"]) == (1, 3)
    finally:
        running.process.terminate()
        _, err = running.process.communicate(timeout=15)
    assert running.process.returncode == 0  # SIGTERM is a clean stop
    assert "Traceback" not in err


def test_cloud_mode_and_lifetime_options() -> None:
    running = start(
        "--mode",
        "cloud",
        "--site",
        "acme",
        "--session-lifetime",
        "90s",
        "--lifetime-kind",
        "idle",
        "--lifetime-limit",
        "2h",
        "--max-api-version",
        "3.25",
        "--time-scale",
        "60",
        "--latency",
        "1",
        "--seed",
        "3",
        "--job-duration",
        "2m",
        "--upload-dies-with-session",
        "--max-stored-mb",
        "8",
        "--export-concurrency",
        "5",
        "--export-latency",
        "10",
    )
    try:
        assert "cloud" in running.banner
        assert "90s idle, at most 2h" in running.banner
        with httpx.Client(base_url=running.url, timeout=10) as http:
            config = http.get("/_emulator/config").json()
            assert (config["mode"], config["api_version"], config["session_lifetime_seconds"]) == (
                "cloud",
                "3.25",
                90,
            )
            assert (
                config["lifetime_kind"],
                config["lifetime_limit_seconds"],
                config["time_scale"],
            ) == ("idle", 7200, 60)
            assert [s["contentUrl"] for s in config["sites"]] == ["acme"]
            long_operations = (
                config["job_duration_seconds"],
                config["upload_outlives_session"],
                config["max_stored_bytes"],
                config["export_concurrency"],
                config["export_latency_ms"],
            )
            assert long_operations == (120, False, 8 * 1024 * 1024, 5, 10)
            assert http.get("/api/3.25/serverinfo").status_code == 200
            assert http.get("/api/3.26/serverinfo").status_code == 404
    finally:
        running.process.send_signal(signal.SIGINT)
        _, err = running.process.communicate(timeout=15)
    assert running.process.returncode in (0, 130)
    assert "Traceback" not in err


def test_exit_after_stops_by_itself() -> None:
    process = subprocess.run(
        [str(EXE), "emulator", "--port", "0", "--exit-after", "0.5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert process.returncode == 0
    assert URL.search(process.stdout)
    assert "Traceback" not in process.stderr


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = subprocess.run(
            [str(EXE), "emulator", "--port", str(port), "--exit-after", "5s"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert process.returncode == 1
    assert f"127.0.0.1:{port}" in process.stderr
    assert "Traceback" not in process.stderr


def test_help_documents_every_option_and_default() -> None:
    result = runner.invoke(app, ["emulator", "--help"], env={"COLUMNS": "260", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for option in (
        "--host", "--port", "--mode", "--session-lifetime", "--lifetime-kind", "--lifetime-limit",
        "--admin", "--user", "--pat", "--connected-app", "--site", "--seed-items", "--seed",
        "--latency", "--time-scale", "--max-api-version", "--site-mismatch-status",
        "--signin-redirect-host", "--exit-after", "--log-level", "--job-duration",
        "--upload-outlives-session", "--max-stored-mb", "--export-concurrency", "--export-latency",
        "--signin-redirect-host", "--expired-code", "--metadata-node-limit", "--exit-after",
        "--log-level",
    ):  # fmt: skip
        assert option in result.output, option
    for default in ("127.0.0.1", "8000", "admin:admin", "240m on server", "warning", "30s"):
        assert default in result.output, default
    assert result.output.index("Examples") < result.output.index("--host")


@pytest.mark.parametrize(
    "args",
    [
        ["--pat", "nocolon"],
        ["--pat", "name:"],
        ["--pat", "s3cret"],
        ["--host", "http://x/"],
        ["--signin-redirect-host", "a b"],
        ["--user", "alice"],
        ["--admin", "root"],
        ["--connected-app", "a:b"],
        ["--session-lifetime", "abc"],
        ["--session-lifetime", "0"],
        ["--lifetime-limit", "-1m"],
        ["--lifetime-kind", "forever"],
        ["--mode", "foo"],
        ["--port", "99999"],
        ["--port", "http"],
        ["--seed-items", "-1"],
        ["--seed-items", "many"],
        ["--seed", "x"],
        ["--latency", "-5"],
        ["--latency", "inf"],
        ["--time-scale", "0"],
        ["--max-api-version", "three"],
        ["--site-mismatch-status", "700"],
        ["--site", "bad/url"],
        ["--user", "admin:x"],
        ["--pat", "p:s@ghost"],
        ["--exit-after", "soon"],
        ["--log-level", "loud"],
        ["--job-duration", "later"],
        ["--max-stored-mb", "-1"],
        ["--export-concurrency", "0"],
        ["--export-latency", "-1"],
        ["--expired-code", "expired"],
        ["--metadata-node-limit", "0"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # through the real entry point, which prints option errors on one line
    with pytest.raises(SystemExit) as stopped:
        main(["emulator", *args])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2, out + err
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == 1, out + err
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in out + err
    assert "s3cret" not in err  # a malformed credential is not echoed
