"""Shared test settings. The emulator fixtures (`tableau_emulator`, `tableau_emulator_factory`)
come from tabsession's own pytest plugin; Redis helpers live in tests/_redis.py."""

from __future__ import annotations

import logging
import os

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles (property tests and fuzzers). `ci`, the default: fixed seeds
# (derandomize), a modest budget, no example database, so `make test` is reproducible and
# bounded. `fuzz` (`make fuzz`, HYPOTHESIS_PROFILE=fuzz): random seeds and 20x the examples,
# failures saved to .hypothesis/ so that a rerun replays them first. Tests scale their own
# budgets from the profile's max_examples (tests/fuzz/_budget.py).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
