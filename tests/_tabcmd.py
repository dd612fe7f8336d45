"""Tableau's own CLI, tabcmd, for the tests that run it (a plain module, not a conftest).

tabcmd pins an older tableauserverclient than this project uses, so it lives in a venv of its
own, `.venv-tabcmd` (`make tabcmd`, which `make test` runs first; made here on first use
otherwise). $TABSESSION_TABCMD or a `tabcmd` on PATH wins. When it cannot be installed the
tests skip with a loud reason, except under CI (CI=true), where that is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._redis import in_ci

__all__ = ["tabcmd_executable"]

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-tabcmd"


def _install() -> Path | str:
    """The venv's tabcmd, installed if missing; or the reason it could not be."""
    exe = VENV / "bin" / "tabcmd"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
        done = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "tabcmd"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0 or not exe.exists():
        return done.stderr[-300:] or "pip install tabcmd failed"
    return exe


def tabcmd_executable() -> str:
    """The tabcmd to run, or a loud skip (a failure under CI) saying why there is none."""
    for candidate in (os.environ.get("TABSESSION_TABCMD"), shutil.which("tabcmd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = _install()
    if isinstance(found, Path):
        return str(found)
    reason = f"TABCMD TESTS NOT RUN: tabcmd could not be installed into {VENV}: {found}"
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this is an error, not a skip", pytrace=False)
    pytest.skip(reason)
