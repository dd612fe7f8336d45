"""Shared test settings. The emulator fixtures (`tableau_emulator`, `tableau_emulator_factory`)
come from tabsession's own pytest plugin; Redis helpers live in tests/_redis.py."""

from __future__ import annotations

import logging
import os

import pytest

# Credentials used across the suite. Tests that check for leaks search logs, reprs and error
# messages for these exact strings.
PAT_NAME = "ci-pat"
PAT_SECRET = "pat-secret-7Hq2xZ"
ADMIN_PASSWORD = "admin-pw-Lm93vR"
APP_SECRET = "app-secret-Wq8841Kd"
SECRETS = (PAT_SECRET, ADMIN_PASSWORD, APP_SECRET)

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def tabsession_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture tabsession's and httpx's log records at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="tabsession")
    caplog.set_level(logging.DEBUG, logger="httpx")
    return caplog
