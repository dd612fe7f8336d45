"""`tabsession proxy` as a user runs it: a subprocess that prints its URL and how to point
tools at it, serves, and stops cleanly on SIGINT and SIGTERM; that refuses to listen beyond
loopback without access keys and TLS; and that never prints a secret or a token."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PAT_NAME, PAT_SECRET, SECRETS

from tabsession.emulator.server import Emulator

from ._support import local_sign_in, tapped_emulator

V = "3.23"
START_TIMEOUT = 30


def _env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TABLEAU_", "TABSESSION_"))}
    env.update(TABLEAU_SERVER=emu.url, TABLEAU_PAT_NAME=PAT_NAME, TABLEAU_PAT_SECRET=PAT_SECRET)
    return env


def _command(*args: str) -> list[str]:
    main = "import sys; from tabsession.cli import main; sys.argv[0] = 'tabsession'; main()"
    return [sys.executable, "-c", main, "proxy", *args]


@contextmanager
def _proxy_process(
    emu: Emulator, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """The command in a subprocess: (process, its URL, the banner it printed)."""
    process = subprocess.Popen(
        _command("--port", "0", "--store", "memory", *args),
        env=_env(emu) if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline()]
        found = re.search(r"tabsession proxy: (http://127\.0\.0\.1:\d+)", lines[0])
        assert found, lines[0] + (process.stderr.read() if process.stderr else "")
        while not lines[-1].startswith("Stop with") and len(lines) < 50:
            lines.append(process.stdout.readline())
        yield process, found.group(1), "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_prints_its_url_serves_and_stops_cleanly(signum: int) -> None:
    with (
        tapped_emulator() as emu,
        _proxy_process(emu, "--log-level", "info") as (
            process,
            url,
            first,
        ),
    ):
        token = local_sign_in(url)
        emu.expire_sessions()
        answer = httpx.get(
            f"{url}/api/{V}/sites/{emu.site_id('')}/workbooks?fields=_all_",
            headers={"X-Tableau-Auth": token},
        )
        assert answer.status_code == 200
        assert httpx.get(f"{url}/_tabsession/health").json()["upstream_session"] is True
        stats = httpx.get(f"{url}/_tabsession/stats").json()
        assert (stats["upstream_signins"], stats["replays"]) == (2, 1)
        signed_in = _run_printed_curl(first, emu)
        assert signed_in["credentials"]["site"]["id"] == emu.site_id("")
        upstream_tokens = set(emu.state.auth._sessions)
        process.send_signal(signum)
        out, err = process.communicate(timeout=START_TIMEOUT)
        assert process.returncode == 0, err
        assert emu.stats()["signouts"] == 1  # a private session is signed out at stop
    printed = first + out + err
    for line in ("tabcmd login -s", "TSC.Server(", "curl "):
        assert line in printed
    assert "GET /api/3.23/sites/" in err  # the access log: method, path, status
    assert "fields=" not in err  # ... never the query
    for secret in (*SECRETS, token, *upstream_tokens):
        assert secret not in printed


def _run_printed_curl(banner: str, emu: Emulator) -> dict[str, Any]:
    """Run the curl sign-in the banner prints, as printed, in bash, with the secret in the
    environment variable it names."""
    lines = banner.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  curl    "))
    command = lines[start][len("  curl    ") :] + "\n" + lines[start + 1]
    done = subprocess.run(
        ["bash", "-c", command], env=_env(emu), capture_output=True, text=True, timeout=60
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["--host", "0.0.0.0"], "access keys"),
        (["--host", "0.0.0.0", "--access-key", "ci:k3y"], "TLS"),
        (["--host", "192.0.2.10", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "does not exist"),
    ],
    ids=["nothing", "keys without TLS", "missing TLS files"],
)
def test_non_loopback_is_refused_without_access_keys_and_tls(args: list[str], missing: str) -> None:
    env = {
        "TABLEAU_SERVER": "http://127.0.0.1:9",
        "TABLEAU_PAT_NAME": "n",
        "TABLEAU_PAT_SECRET": "s",
    }
    done = subprocess.run(
        _command(*args), env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert missing in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "http"], "'http' is not a port number"),
        (["--port", "70000"], "a port is from 0 to 65535"),
        (["--host", "http://0.0.0.0/"], "is not a host name"),
        (["--server", "ftp://tableau.example.com"], "is not a server URL"),
        (["--access-key", "ci-without-a-secret"], "is written NAME:SECRET"),
        (["--access-key", "ci:"], "is written NAME:SECRET"),
        (["--api-version", "latest"], "is not an API version"),
        (["--replay-limit", "-1"], "--replay-limit"),
        (["--log-level", "loud"], "--log-level"),
    ],
    ids=[
        "port word",
        "port range",
        "host URL",
        "server scheme",
        "key form",
        "key empty",
        "api version",
        "replay limit",
        "log level",
    ],
)
def test_bad_options_are_one_usage_error_before_anything_starts(args: list[str], said: str) -> None:
    from typer.testing import CliRunner

    from tabsession.cli.app import app

    env = {"TABLEAU_SERVER": "http://127.0.0.1:9", "TABLEAU_PAT_NAME": "n",
           "TABLEAU_PAT_SECRET": "s"}  # fmt: skip
    result = CliRunner().invoke(app, ["proxy", *args, "--store", "memory"], env=env)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert said in " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich's box
    assert "Traceback" not in result.output


def test_a_bad_access_key_secret_is_never_echoed() -> None:
    done = subprocess.run(
        _command("--access-key", ":s3cr3t-value", "--port", "0"),
        env={**os.environ, "TABLEAU_SERVER": "http://127.0.0.1:9", "TABLEAU_PAT_NAME": "n",
             "TABLEAU_PAT_SECRET": "s"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "NAME:SECRET" in done.stderr
    assert "s3cr3t-value" not in done.stderr + done.stdout


def test_a_login_profile_is_all_the_proxy_needs(tmp_path: Path) -> None:
    """`tabsession login --profile work ...`, then `tabsession proxy --profile work` with no
    TABLEAU_* variable: the proxy signs in with the profile's server, site and PAT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TABLEAU_", "TABSESSION_"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"), TABSESSION_SECRETS="file")  # fmt: skip
    with tapped_emulator() as emu:
        main = "import sys; from tabsession.cli import main; sys.argv[0] = 'tabsession'; main()"
        login = subprocess.run(
            [sys.executable, "-c", main, "login", "--profile", "work", "--server", emu.url,
             "--pat-name", PAT_NAME, "--secret-stdin"],
            input=PAT_SECRET + "\n", env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert login.returncode == 0, login.stderr
        with _proxy_process(emu, "--profile", "work", env=env) as (process, url, banner):
            token = local_sign_in(url)
            answer = httpx.get(
                f"{url}/api/{V}/sites/{emu.site_id('')}/projects",
                headers={"X-Tableau-Auth": token},
            )
            assert answer.status_code == 200, answer.text
            assert httpx.get(f"{url}/_tabsession/stats").json()["upstream_signins"] == 1
            assert emu.url in banner  # it names the server the profile holds
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=START_TIMEOUT)
        assert process.returncode == 0, err
    for secret in (*SECRETS, token):
        assert secret not in login.stdout + login.stderr + banner + out + err


def test_missing_credentials_is_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLEAU_")}
    done = subprocess.run(_command(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "TABLEAU_SERVER" in done.stderr


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_tls_and_access_keys_serve_https(tmp_path: Path) -> None:
    if not any(os.access(Path(p) / "openssl", os.X_OK) for p in os.environ["PATH"].split(":")):
        pytest.skip("TLS TEST NOT RUN: no openssl to make a certificate")
    from tabsession.proxy import AccessKey

    from ._support import pat_body, running_proxy

    cert, key = _self_signed(tmp_path)
    with (
        tapped_emulator() as emu,
        running_proxy(
            emu,
            tls_certfile=str(cert),
            tls_keyfile=str(key),
            access_keys=(AccessKey("ci", "local-k3y"),),
        ) as proxy,
    ):
        assert proxy.url.startswith("https://")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as http:
            answer = http.post(
                f"{proxy.url}/api/{V}/auth/signin",
                json=pat_body("ci", "local-k3y"),
                headers={"Accept": "application/json"},
            )
            assert answer.status_code == 200
            token = answer.json()["credentials"]["token"]
            listing = http.get(
                f"{proxy.url}/api/{V}/sites/{emu.site_id('')}/projects",
                headers={"X-Tableau-Auth": token},
            )
            assert listing.status_code == 200
