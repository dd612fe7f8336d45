"""`tabsession demo`, what `make demo` runs: TSC fails where tabsession does not, and it reads
well at 80 columns and when piped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tabsession.cli.app import app
from tabsession.cli.demo import plural

pytestmark = pytest.mark.tsc

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def at_80() -> str:
    return _run(columns=80)


def _run(*args: str, columns: int) -> str:
    result = CliRunner().invoke(
        app, ["demo", *args], catch_exceptions=False, env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_shows_tsc_failing_and_tabsession_finishing() -> None:
    out = _run(columns=200)
    assert "failed at minute 120: FailedSignInError 401002" in out
    assert "tabsession: finished: 4 sign-ins, 3 ahead of expiry, 0 replays" in out
    assert "tabsession: 0 of 60 calls failed, 1 sign-in:" in out
    assert "401002 = the token is no longer a live session" in out
    assert "401000 = no usable token was sent" in out
    assert "4 worker processes in parallel" in out
    assert "BadRequest 400007" in out
    assert "SiteMismatch" in out
    assert "SignInFailed" in out
    assert "demo-secret" not in out  # the PAT secret never reaches the output


def test_demo_reads_well_at_80_columns_piped(at_80: str) -> None:
    out = at_80
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "scenario" in line)
    assert "tableauserverclient" in header  # never cut
    assert "tabsession" in header.replace("tableauserverclient", "")
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9-]+", out))
    for word in ("FailedSignInError", "SiteMismatch", "sign-ins", "processes"):
        assert word in words  # never split across lines


def _normalized(text: str) -> list[str]:
    # the tableauserverclient counts vary from run to run (they depend on how four processes
    # interleave), so numbers and the padding they cause are compared loosely
    return [re.sub(r" +", " ", re.sub(r"\d+", "N", line)).strip() for line in text.splitlines()]


def test_readme_shows_what_the_demo_prints(at_80: str) -> None:
    out = at_80[at_80.index("tabsession demo: the same jobs") :]
    readme = README.read_text()
    block = readme.split("`make demo` prints")[1].split("```")[1].split("\n", 1)[1]
    assert _normalized(block.strip()) == _normalized(out.strip())
    assert "✓ 0 of 60 calls failed" in block
    assert "(1 sign-in)" in block


def test_plural() -> None:
    assert plural(1, "sign-in") == "1 sign-in"
    assert plural(4, "sign-in") == "4 sign-ins"
    assert plural(0, "replay") == "0 replays"
