"""The CLI fixtures (private HOME, emulator, in-process `cli(...)`) for the security scan."""

from tests.cli.conftest import cli, emu, home

__all__ = ["cli", "emu", "home"]
