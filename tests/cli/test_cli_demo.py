"""`tabsession demo`, what `make demo` runs: TSC fails where tabsession does not."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tabsession.cli.app import app

pytestmark = pytest.mark.tsc


def test_demo_shows_tsc_failing_and_tabsession_finishing() -> None:
    result = CliRunner().invoke(app, ["demo"], catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "failed at minute 120: FailedSignInError 401002" in out
    assert "tabsession: finished: 4 sign-ins (3 ahead of expiry), 0 replays" in out
    assert "tabsession: 0 of 60 calls failed, 1 sign-in" in out
    assert "BadRequest 400007" in out
    assert "SiteMismatch" in out
    assert "SignInFailed" in out
    assert "demo-secret" not in out  # the PAT secret never reaches the output


def test_demo_quiet_prints_only_the_table() -> None:
    result = CliRunner().invoke(app, ["demo", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "side by side" in result.output
    assert "Errors, explained" not in result.output
