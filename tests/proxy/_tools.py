"""Finding the real client tools the proxy is tested with (tabcmd, curl). A tool that is not
installed skips its tests with a loud reason, naming how to install it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["curl", "tabcmd"]

REPO = Path(__file__).resolve().parents[2]


def tabcmd() -> str:
    """The tabcmd executable: $TABSESSION_TABCMD, else `tabcmd` on PATH, else the repository's
    own `.venv-tabcmd` (`make tabcmd`: tabcmd pins an older tableauserverclient, so it gets a
    venv of its own instead of the project's)."""
    candidates = [
        os.environ.get("TABSESSION_TABCMD"),
        shutil.which("tabcmd"),
        str(REPO / ".venv-tabcmd" / "bin" / "tabcmd"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(
        "TABCMD TESTS NOT RUN: tabcmd is not installed (run `make tabcmd`, or set "
        "TABSESSION_TABCMD to its path)"
    )


def curl() -> str:
    found = shutil.which("curl")
    if found is None:
        pytest.skip("CURL TESTS NOT RUN: no curl on PATH (apt-get install curl)")
    return found
