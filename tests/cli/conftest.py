"""Fixtures for the command-line tests: a private HOME / XDG tree, an emulator that knows the
suite's PAT and password, and `cli(...)`, which runs the real command in-process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ADMIN_PASSWORD, PAT_NAME, PAT_SECRET, SECRETS
from typer.testing import CliRunner

from tabsession.cli.app import app
from tabsession.emulator import Account, PatSpec
from tabsession.emulator.server import Emulator

_CLEARED = (
    "TABLEAU_SERVER",
    "TABLEAU_SITE",
    "TABLEAU_PAT_NAME",
    "TABLEAU_PAT_SECRET",
    "TABLEAU_USERNAME",
    "TABLEAU_PASSWORD",
    "TABSESSION_PROFILE",
    "TABSESSION_STORE",
)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG directories inside tmp_path; no TABLEAU_* variable; secrets in a file."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TABSESSION_SECRETS", "file")
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(
        admin=Account("admin", ADMIN_PASSWORD, "ServerAdministrator"),
        pats=(PatSpec(PAT_NAME, PAT_SECRET),),
        sites=("marketing",),
        seed_items=23,
    ) as running:
        yield running


class Cli:
    """Runs `tabsession ARGS` in-process (typer's CliRunner, stdout and stderr apart)."""

    def __call__(
        self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        found = Result(result.exit_code, result.stdout, result.stderr)
        assert_no_secret(found.stdout, found.stderr)
        return found


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli()


@pytest.fixture
def pat_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The environment names the emulator, its marketing site and the suite's PAT."""
    monkeypatch.setenv("TABLEAU_SERVER", emu.url)
    monkeypatch.setenv("TABLEAU_SITE", "marketing")
    monkeypatch.setenv("TABLEAU_PAT_NAME", PAT_NAME)
    monkeypatch.setenv("TABLEAU_PAT_SECRET", PAT_SECRET)
    return emu
