"""`tabsession explain`: offline classification of error bodies as people paste them."""

from __future__ import annotations

import json

import pytest

from tabsession.cli.explanations import explain, read_error
from tests.cli.conftest import Cli

# Tableau Support's KB 001498381, exactly as printed there: no "<" before tsResponse, "ww.w3"
SUPPORT_ARTICLE = """<?xml version='1.0' encoding='UTF-8'?>
tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://ww.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd">
<error code="401000">
<summary>Unauthorized Access</summary>
<detail>No authentication credentials were provided</detail>
</error>
</tsResponse>
"""


def test_support_article_body_says_sign_in_again(cli: Cli) -> None:
    result = cli("explain", "-", input=SUPPORT_ARTICLE)
    assert result.exit_code == 0, result.stderr
    assert "HTTP 401 401000" in result.stdout
    assert "Sign in again" in result.stdout
    assert "before the session limit" in result.stdout


def test_file_argument_and_json_output(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = tmp_path / "error.json"
    body.write_text(
        '{"error": {"summary": "Unauthorized Access", '
        '"detail": "Invalid authentication credentials were provided.", "code": "401002"}}'
    )
    result = cli("explain", str(body), "--json")
    data = json.loads(result.stdout)
    assert data["status"] == 401
    assert data["code"] == "401002"
    assert data["kind"] == "session"
    assert "same personal access token" in data["cause"]


def test_code_only(cli: Cli) -> None:
    result = cli("explain", "--code", "401002")
    assert "not a live session" in result.stdout
    assert "Sign in again" in result.stdout


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ('<error code="400000"><summary>Bad Request</summary></error>', "bad-request",
         "not the authentication"),
        ("HTTP 429 Too Many Requests", "throttled", "Retry-After"),
        ("<html><head><title>503 Service Unavailable</title></head></html>", "server",
         "Retry later"),
        ('{"error": {"code": "403999", "summary": "Forbidden"}}', "site", "site id"),
        ("HTTP 403 403000", "permission", "another site"),
        ("Error 401001: Signin Error", "sign-in", "contentUrl"),
    ],
)  # fmt: skip
def test_classes_and_their_fixes(text: str, kind: str, words: str) -> None:
    found = read_error(text)
    answer = explain(found.status, found.code)
    assert answer.kind == kind
    assert words in answer.cause + answer.fix


def test_status_wins_over_code_text(cli: Cli) -> None:
    result = cli("explain", "--status", "400", "--code", "401002", "--json")
    assert json.loads(result.stdout)["kind"] == "bad-request"


def test_unknown_input_exits_1(cli: Cli) -> None:
    result = cli("explain", "-", input="nothing to see here")
    assert result.exit_code == 1
    assert "Paste the whole response body" in result.stdout


def test_unreadable_input_is_read_capped_and_lossy(cli: Cli) -> None:
    """Found by tests/fuzz/test_fuzz_cli.py: bytes that are not UTF-8 on stdin, an endless file
    and a code of non-ASCII digits were tracebacks (or an endless read)."""
    assert cli("explain", input=b"\xff<error code='401002'/>").exit_code == 0
    assert cli("explain", "/dev/zero").exit_code == 1  # at most 1 MiB read, then: unknown
    for code in ("²³⁴", "١٢٣"):
        assert cli("explain", "--code", code).exit_code in (0, 1)
    assert cli("explain", input='{"error": {"code": "²³⁴"}}').exit_code == 1
