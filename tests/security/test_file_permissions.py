"""Files tabsession writes are private: 0600 files in 0700 directories, whatever the umask.

A FileStore used through an expiry and a replay, and the CLI's login, calls and token, run
under umask 000 (the most permissive); then every path under tabsession's own directories is
checked."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession import Client
from tabsession.emulator.server import Emulator
from tabsession.stores import FileStore
from tests.cli.conftest import Cli
from tests.integration._support import emulator, password

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def modes_under(root: Path) -> dict[str, int]:
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(root: Path, *, at_least: int) -> None:
    modes = modes_under(root)
    assert len(modes) >= at_least, modes  # the scan saw what the workload wrote
    for name, mode in modes.items():
        path = root / name if name != str(root) else root
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{name}: {oct(mode)} (expected {oct(expected)})"


def test_a_file_store_writes_only_private_files(tmp_path: Path, open_umask: None) -> None:
    directory = tmp_path / "deep" / "sessions"
    with emulator(seed_items=3) as emu:
        with Client(emu.url, password(), store=FileStore(directory)) as tab:
            tab.get("projects")
            emu.expire_sessions()
            tab.get("projects")  # a replay: a second record written
        with Client(emu.url, password(), store=FileStore(directory)) as again:
            again.get("projects")  # adopted from the files
        assert emu.stats()["signins"] == 2
    assert_private(directory, at_least=4)  # dir, store.secret, a record, a lock


def test_the_cli_writes_only_private_files(
    cli: Cli, emu: Emulator, home: Path, open_umask: None
) -> None:
    login = cli(
        "login", "--profile", "dev", "--server", emu.url, "--site", "marketing",
        "--pat-name", PAT_NAME, "--secret-stdin", input=PAT_SECRET + "\n",
    )  # fmt: skip
    assert login.exit_code == 0, login.stderr
    assert cli("api", "projects").exit_code == 0
    assert cli("token").exit_code == 0
    assert_private(home / "config" / "tabsession", at_least=3)  # profiles.toml, secrets.json
    assert_private(home / "state" / "tabsession", at_least=3)  # the session store
