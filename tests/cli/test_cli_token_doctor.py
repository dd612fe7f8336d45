"""`tabsession token` and `tabsession doctor` against the emulator."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession.emulator import PatSpec
from tabsession.emulator.server import Emulator
from tests.cli.conftest import Cli


def test_token_is_live_and_the_same_while_it_lives(cli: Cli, pat_env: Emulator) -> None:
    first = cli("token")
    second = cli("token")
    assert first.exit_code == 0, first.stderr
    token = first.stdout.strip()
    assert second.stdout.strip() == token
    assert token in set(pat_env.state.auth._sessions)  # a live session on the server
    assert pat_env.stats()["signins"] == 1
    pat_env.expire_sessions()
    # the stored session is dead server-side: token's check meets a 401 and renews it
    renewed = cli("token").stdout.strip()
    assert renewed != token
    assert renewed in set(pat_env.state.auth._sessions)
    assert cli("token", "--no-check").stdout.strip() == renewed
    assert cli("api", "projects").exit_code == 0
    assert pat_env.stats()["signins"] == 2


def test_token_json(cli: Cli, pat_env: Emulator) -> None:
    data = json.loads(cli("token", "--json").stdout)
    assert data["site_id"] == pat_env.site_id("marketing")
    assert data["site_content_url"] == "marketing"
    assert data["user_id"]
    assert data["expires_at"] > data["signed_in_at"]
    assert data["lifetime_seconds"] == 240 * 60


def _checks(cli: Cli, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    result = cli("doctor", "--json", *args)
    return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)}


def _failed(checks: dict[str, dict[str, str]]) -> list[str]:
    return [name for name, check in checks.items() if check["status"] == "fail"]


def test_doctor_passes_on_a_healthy_emulator(cli: Cli, pat_env: Emulator) -> None:
    code, checks = _checks(cli)
    assert code == 0
    assert _failed(checks) == []
    for name in ("url", "reachability", "version", "site", "sign-in", "session", "clock", "store"):
        assert checks[name]["status"] == "pass", checks[name]
    assert checks["pat-expiry"]["status"] == "pass"  # a PAT sign-in says how long the PAT lives
    text = cli("doctor")
    assert "pass  sign-in" in text.stdout


def test_doctor_reuses_the_shared_session(cli: Cli, pat_env: Emulator) -> None:
    assert cli("api", "projects").exit_code == 0
    _, checks = _checks(cli)
    assert "reused the shared session" in checks["sign-in"]["detail"]
    assert pat_env.stats()["signins"] == 1  # a doctor never ends another job's PAT session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("args", "failing"),
    [
        (("--site", "nosuchsite"), "sign-in"),
        (("--site", "0b9d7f0b-52c2-57e5-83fd-780aef162c5e"), "site"),
        (("--site", "Marketing Team"), "site"),
        (("--site", "https://host/#/site/marketing/home"), "site"),
        (("--api-version", "9.9"), "version"),
    ],
)
def test_doctor_names_the_failing_check(
    cli: Cli, pat_env: Emulator, args: tuple[str, ...], failing: str
) -> None:
    code, checks = _checks(cli, *args)
    assert code == 1
    assert _failed(checks) == [failing]
    assert checks[failing]["fix"]


def test_doctor_wrong_credentials(cli: Cli, pat_env: Emulator, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TABLEAU_PAT_SECRET", "not-the-secret")
    code, checks = _checks(cli)
    assert code == 1
    assert _failed(checks) == ["sign-in"]
    assert PAT_NAME in checks["sign-in"]["detail"]


def test_doctor_unreachable_server(cli: Cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
    monkeypatch.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
    code, checks = _checks(cli, "--server", f"http://127.0.0.1:{_free_port()}")
    assert code == 1
    assert _failed(checks) == ["reachability"]
    assert checks["sign-in"]["status"] == "skip"


def test_doctor_without_configuration(cli: Cli) -> None:
    code, checks = _checks(cli)
    assert code == 2
    assert _failed(checks) == ["configuration"]


def test_doctor_measures_the_session_lifetime(cli: Cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Cloud: sessions end a fixed time after sign-in, here 1.5 real seconds
    with Emulator(
        mode="cloud",
        session_lifetime=1.5,
        sites=("marketing",),
        pats=(PatSpec(PAT_NAME, PAT_SECRET),),
    ) as emu:
        monkeypatch.setenv("TABLEAU_SERVER", emu.url)
        monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
        monkeypatch.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
        result = cli(
            "doctor", "--json", "--site", "marketing", "--measure-lifetime",
            "--probe-interval", "250ms", "--probe-limit", "30s",
        )  # fmt: skip
        checks = {c["name"]: c for c in json.loads(result.stdout)}
        assert checks["lifetime"]["status"] == "pass", checks["lifetime"]
        assert "the session ended between" in checks["lifetime"]["detail"]
        assert emu.stats()["status_counts"].get("401", 0) == 1  # one refused probe, no renewal
        assert emu.stats()["signins"] == 1
        assert cli("api", "projects", "--site", "marketing").exit_code == 0  # renewed
        assert emu.stats()["signins"] == 2


def test_doctor_rejects_a_bad_duration(cli: Cli) -> None:
    assert cli("doctor", "--probe-interval", "soon").exit_code == 2


def test_doctor_fails_an_untrusted_certificate(cli: Cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:  # accept the handshakes the doctor tries, then stop
        for _ in range(3):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
    monkeypatch.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
    try:
        code, checks = _checks(cli, "--server", f"https://127.0.0.1:{port}")
    finally:
        listener.close()
        thread.join(10)
    assert code == 1
    assert checks["reachability"]["status"] == "pass"
    assert checks["tls"]["status"] == "fail"
    assert "not trusted" in checks["tls"]["detail"]
