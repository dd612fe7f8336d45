"""Finding the real client tools the proxy is tested with (tabcmd, curl). A tool that is not
installed skips its tests with a loud reason, naming how to install it."""

from __future__ import annotations

import shutil

import pytest

from tests._tabcmd import tabcmd_executable

__all__ = ["curl", "tabcmd"]


def tabcmd() -> str:
    """The tabcmd executable (see tests/_tabcmd.py: its own venv, made on first use)."""
    return tabcmd_executable()


def curl() -> str:
    found = shutil.which("curl")
    if found is None:
        pytest.skip("CURL TESTS NOT RUN: no curl on PATH (apt-get install curl)")
    return found
