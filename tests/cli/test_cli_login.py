"""`tabsession login`, `logout`, `profiles`, and where settings come from."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession.cli import login as login_module
from tabsession.emulator.server import Emulator
from tests.cli.conftest import Cli


def _login(cli: Cli, emu: Emulator, *extra: str, profile: str = "dev", secret: str = PAT_SECRET):
    return cli(
        "login", "--profile", profile, "--server", emu.url, "--site", "marketing",
        "--pat-name", PAT_NAME, "--secret-stdin", *extra,
        input=secret + "\n",
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_with_secret_on_stdin_saves_a_profile_and_its_secret_apart(
    cli: Cli, emu: Emulator, home: Path
) -> None:
    result = _login(cli, emu)
    assert result.exit_code == 0, result.stderr
    assert "Signed in" in result.stderr
    profiles = home / "config" / "tabsession" / "profiles.toml"
    secrets = home / "config" / "tabsession" / "secrets.json"
    assert PAT_SECRET not in profiles.read_text()
    assert PAT_SECRET in secrets.read_text()
    assert _mode(secrets) == 0o600
    assert _mode(profiles) == 0o600
    assert _mode(secrets.parent) == 0o700
    # the next commands use the profile (it became the default) and login's session
    assert cli("api", "projects").exit_code == 0
    assert cli("token").exit_code == 0
    assert emu.stats()["signins"] == 1


def test_login_refuses_wrong_credentials_and_saves_nothing(
    cli: Cli, emu: Emulator, home: Path
) -> None:
    result = _login(cli, emu, secret="wrong-secret")
    assert result.exit_code == 4
    assert "SignInFailed" in result.stderr
    assert "wrong-secret" not in result.output
    assert not (home / "config" / "tabsession" / "profiles.toml").exists()


def test_login_never_prompts_without_a_terminal(cli: Cli, emu: Emulator) -> None:
    result = cli("login", "--profile", "x", input="")
    assert result.exit_code == 2
    assert "pass --server (no terminal to ask on)" in result.stderr
    result = cli("login", "--server", emu.url, "--site", "marketing", "--pat-name", PAT_NAME)
    assert result.exit_code == 2
    assert "--secret-stdin" in result.stderr


def test_login_interactive_asks_for_what_is_missing_and_hides_the_secret(
    cli: Cli, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_module, "_interactive", lambda: True)
    answers = f"{emu.url}\nmarketing\n{PAT_NAME}\n{PAT_SECRET}\n"
    result = cli("login", input=answers)  # Cli checks that the secret is not echoed
    assert result.exit_code == 0, result.stderr
    assert "PAT secret" in result.stderr
    listed = json.loads(cli("profiles", "--json").stdout)
    assert listed == [
        {
            "name": "default",
            "default": True,
            "server": emu.url,
            "site": "marketing",
            "auth": "pat",
            "identity": PAT_NAME,
            "secret_store": "file",
        }
    ]


def test_profile_choice_flag_then_env_then_default(
    cli: Cli, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _login(cli, emu, profile="first").exit_code == 0
    second = cli(
        "login", "-p", "second", "--server", emu.url, "--site", "", "--username", "admin",
        "--secret-stdin", input="admin-pw-Lm93vR\n",
    )  # fmt: skip
    assert second.exit_code == 0, second.stderr

    def site_of(*args: str) -> str:
        result = cli("token", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return str(json.loads(result.stdout)["site_content_url"])

    assert site_of() == "marketing"  # the default: the first profile
    monkeypatch.setenv("TABSESSION_PROFILE", "second")
    assert site_of() == ""
    assert site_of("--profile", "first") == "marketing"
    monkeypatch.setenv("TABLEAU_SITE", "marketing")  # env beats the profile
    assert site_of() == "marketing"
    assert site_of("--site", "") == ""  # a flag beats the env
    assert cli("token", "--profile", "nope").exit_code == 2


def test_logout_signs_out_and_forgets_the_secret(cli: Cli, emu: Emulator, home: Path) -> None:
    assert _login(cli, emu).exit_code == 0
    assert emu.stats()["active_sessions"] == 1
    result = cli("logout")
    assert result.exit_code == 0, result.stderr
    assert "signed out, secret deleted" in result.stderr
    assert emu.stats()["active_sessions"] == 0
    assert PAT_SECRET not in (home / "config" / "tabsession" / "secrets.json").read_text()
    assert cli("api", "projects").exit_code == 4  # no secret any more: log in again
    assert cli("logout", "--forget").exit_code == 0
    assert cli("profiles", "--json").stdout.strip() == "[]"


def test_secret_in_the_os_keyring(cli: Cli, emu: Emulator, home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.saved: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.saved.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.saved[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            from keyring.errors import PasswordDeleteError

            if self.saved.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        monkeypatch.setenv("TABSESSION_SECRETS", "keyring")
        assert _login(cli, emu).exit_code == 0
        assert list(backend.saved.values()) == [PAT_SECRET]
        assert not (home / "config" / "tabsession" / "secrets.json").exists()
        monkeypatch.delenv("TABSESSION_SECRETS")  # reading follows the profile's secret_store
        assert cli("api", "projects").exit_code == 0
        assert cli("logout").exit_code == 0
        assert backend.saved == {}
    finally:
        keyring.set_keyring(previous)


def test_help_of_every_command_starts_with_examples(cli: Cli) -> None:
    for name in ("login", "logout", "profiles", "api", "token", "doctor", "explain"):
        result = cli(name, "--help")
        assert result.exit_code == 0
        text = result.stdout
        assert "Examples" in text
        assert text.index("Examples") < text.index("Options")


def test_a_refusing_keyring_falls_back_to_the_file(
    cli: Cli, emu: Emulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend
    from keyring.errors import KeyringLocked

    class LockedKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise KeyringLocked("locked")

        def delete_password(self, service: str, username: str) -> None:
            raise KeyringLocked("locked")

    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        monkeypatch.delenv("TABSESSION_SECRETS")  # automatic choice: the keyring, then the file
        result = _login(cli, emu)
        assert result.exit_code == 0, result.stderr
        assert "secrets.json" in result.stderr
        assert json.loads(cli("profiles", "--json").stdout)[0]["secret_store"] == "file"
        assert cli("api", "projects").exit_code == 0
        assert cli("logout").exit_code == 0  # a locked keyring does not stop a logout
    finally:
        keyring.set_keyring(previous)
