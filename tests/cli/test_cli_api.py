"""`tabsession api`: paths, fields, formats, pagination and the shared session."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tabsession.emulator.server import Emulator
from tests.cli.conftest import Cli


def test_paginate_jsonl_prints_one_line_per_seeded_workbook(cli: Cli, pat_env: Emulator) -> None:
    result = cli("api", "workbooks", "--paginate", "--page-size", "5", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 23
    assert len({json.loads(line)["id"] for line in lines}) == 23


def test_ten_consecutive_commands_cost_one_sign_in(cli: Cli, pat_env: Emulator) -> None:
    for _ in range(5):
        assert cli("api", "projects").exit_code == 0
        assert cli("token").exit_code == 0
    assert pat_env.stats()["signins"] == 1


def test_placeholders_and_rooted_paths(cli: Cli, pat_env: Emulator) -> None:
    site_id = pat_env.site_id("marketing")
    result = cli("api", "/sites/{site-id}/users/{user-id}", "-q", "user.name")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == "admin"
    result = cli("api", "/api/3.23/sites/{site-id}/projects", "-q", "length(projects.project)")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) > 0
    assert site_id  # the placeholder named the session's site


def test_fields_make_a_post_body_and_query_parameters(cli: Cli, pat_env: Emulator) -> None:
    created = cli(
        "api", "projects", "-f", "project[name]=Quarterly", "-F", "project[description]=Q3"
    )
    assert created.exit_code == 0, created.stderr
    project = json.loads(created.stdout)["project"]
    assert project["name"] == "Quarterly"
    found = cli(
        "api",
        "projects",
        "-X",
        "GET",
        "-f",
        "filter=name:eq:Quarterly",
        "-q",
        "projects.project[].id",
    )
    assert json.loads(found.stdout) == [project["id"]]
    deleted = cli("api", "-X", "DELETE", f"projects/{project['id']}")
    assert deleted.exit_code == 0, deleted.stderr
    again = cli("api", "projects", "-f", "filter=name:eq:Quarterly", "--paginate")  # GET
    assert json.loads(again.stdout) == []


def test_query_per_item_and_slurped(cli: Cli, pat_env: Emulator) -> None:
    per_item = cli("api", "workbooks", "--paginate", "-q", "name", "--format", "jsonl")
    names = [json.loads(line) for line in per_item.stdout.splitlines()]
    assert len(names) == 23
    slurped = cli("api", "workbooks", "--paginate", "--slurp", "-q", "length(@)")
    assert json.loads(slurped.stdout) == 23


def test_table_and_csv_formats(cli: Cli, pat_env: Emulator) -> None:
    result = cli(
        "api", "workbooks", "--paginate", "-q", "{name: name, project: project.name}",
        "--format", "csv",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 23
    assert set(rows[0]) == {"name", "project"}
    table = cli("api", "workbooks", "--format", "table", "-X", "GET", "-f", "pageSize=3")
    lines = table.stdout.splitlines()
    assert "project.name" in lines[0]  # nested objects become dotted columns, never cut
    assert len(lines) == 4


def test_xml_format_and_include_print_the_server_answer(cli: Cli, pat_env: Emulator) -> None:
    result = cli("api", "/serverinfo", "--format", "xml", "-i")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 200")
    assert "<tsResponse" in result.stdout
    assert "restApiVersion" in result.stdout


def test_input_file_is_the_body(cli: Cli, pat_env: Emulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = tmp_path / "project.xml"
    body.write_text('<tsRequest><project name="From XML"/></tsRequest>')
    result = cli("api", "projects", "--input", str(body), "-q", "project.name")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == "From XML"


def test_errors_follow_the_exit_code_table(cli: Cli, pat_env: Emulator) -> None:
    bad = cli("api", "workbooks", "-X", "GET", "-f", "pageSize=ten")
    assert bad.exit_code == 3
    assert "BadRequest" in bad.stderr
    assert "400007" in bad.stderr
    assert "not the authentication" in bad.stderr
    missing = cli("api", "projects/00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 6
    usage = cli("api", "workbooks", "--slurp")
    assert usage.exit_code == 2
    other_site = cli("api", f"/sites/{pat_env.site_id('')}/workbooks")
    assert other_site.exit_code == 5
    assert "SiteMismatch" in other_site.stderr


def test_wrong_credentials_exit_4(cli: Cli, pat_env: Emulator, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TABLEAU_PAT_SECRET", "not-the-secret")
    result = cli("api", "projects")
    assert result.exit_code == 4
    assert "SignInFailed" in result.stderr
    assert "not-the-secret" not in result.output


def test_no_credentials_exit_4_and_no_server_exit_2(cli: Cli) -> None:
    assert cli("api", "projects", "--server", "http://127.0.0.1:9").exit_code == 4
    assert cli("api", "projects").exit_code == 2


def test_unreachable_server_exit_9(cli: Cli, pat_env: Emulator) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("api", "projects", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 9
    assert "tabsession doctor" in result.stderr


def test_expired_session_is_renewed_between_commands(cli: Cli, pat_env: Emulator) -> None:
    assert cli("api", "projects").exit_code == 0
    pat_env.expire_sessions()
    assert cli("api", "projects").exit_code == 0
    assert pat_env.stats()["signins"] == 2


def test_progress_on_a_terminal_keeps_stdout_clean(
    cli: Cli, pat_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tabsession.cli import api

    monkeypatch.setattr(api, "_stderr_is_terminal", lambda: True)
    pat_env.set_faults([{"kind": "latency", "path": "workbooks", "probability": 0.0}])  # counts
    result = cli("api", "workbooks", "--paginate", "--page-size", "10", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 23  # the bar never reaches stdout
    # page 1 is read once more for the bar's total: 3 pages + 1
    assert [rule["matched"] for rule in pat_env.state.faults.describe()["rules"]] == [4]


def test_include_hides_cookies(cli: Cli, pat_env: Emulator) -> None:
    result = cli("api", "projects", "-i", "-q", "pagination")
    head = result.stdout.split("\n\n")[0]
    assert head.startswith("HTTP/1.1 200 OK")
    assert "content-type: application/json" in head.lower()


def test_graphql_reaches_the_metadata_api(cli: Cli, pat_env: Emulator) -> None:
    import importlib.util

    if importlib.util.find_spec("tabsession.emulator.state.graphql") is None:
        pytest.skip("this emulator has no Metadata API yet (emu-scale branch adds it)")
    result = cli("api", "graphql", "-f", "query={ workbooks { name } }", "-q", "data.workbooks")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 23
    bad = cli("api", "graphql", "-f", "query={ nosuchfield }")
    assert bad.exit_code == 1
    assert "Metadata API answered with errors" in bad.stderr


def test_graphql_needs_a_query(cli: Cli, pat_env: Emulator) -> None:
    assert cli("api", "graphql", "--paginate", "-f", "query={ a }").exit_code == 2
    assert cli("api", "graphql", "-f", "operationName=x").exit_code == 2


PAGED_QUERY = (
    "query($first: Int, $after: String) { workbooksConnection(first: $first, after: $after) "
    "{ nodes { name } pageInfo { hasNextPage endCursor } totalCount } }"
)


def test_graphql_paginate_walks_the_cursors(cli: Cli, pat_env: Emulator) -> None:
    pat_env.set_faults([{"kind": "latency", "path": "graphql", "probability": 0.0}])  # counts
    result = cli(
        "api", "graphql", "--paginate", "--page-size", "10", "--format", "jsonl",
        "-f", f"query={PAGED_QUERY}",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 23  # every seeded workbook, once
    assert len({line["name"] for line in lines}) == 23
    assert [rule["matched"] for rule in pat_env.state.faults.describe()["rules"]] == [3]
    names = cli(
        "api", "graphql", "--paginate", "--slurp", "-q", "length(@)",
        "-f", f"query={PAGED_QUERY}", "-f", "connection=workbooksConnection",
    )  # fmt: skip
    assert names.exit_code == 0, names.stderr
    assert json.loads(names.stdout) == 23


def test_graphql_paginate_refuses_a_query_without_cursors(cli: Cli, pat_env: Emulator) -> None:
    no_cursor = cli("api", "graphql", "--paginate", "-f", "query={ workbooksConnection { nodes "
                    "{ name } } }")  # fmt: skip
    assert no_cursor.exit_code == 2
    said = " ".join(no_cursor.stderr.split())  # wrapped to the terminal's width
    assert said.startswith("error: ConfigError: --paginate over graphql needs a query taking")
    assert said.endswith("it lacks $first, $after, pageInfo, endCursor")
    two = cli("api", "graphql", "--paginate", "-f", "query={ a: workbooksConnection { nodes "
              "{ name } } b: projectsConnection { nodes { name } } }")  # fmt: skip
    assert two.exit_code == 2
    assert "connection=NAME" in two.stderr


def test_headers_are_sent(cli: Cli, pat_env: Emulator) -> None:
    result = cli("api", "/serverinfo", "-H", "accept: application/xml", "-i", "-q", "serverInfo")
    head, _, body = result.stdout.partition("\n\n")
    assert "content-type: application/xml" in head.lower()  # the server answered in XML
    assert "restApiVersion" in json.loads(body)  # and it was read into the same JSON shape
    bad = cli("api", "/serverinfo", "-H", "no colon")
    assert bad.exit_code == 2


def test_piped_tables_have_no_trailing_blanks(cli: Cli, pat_env: Emulator) -> None:
    result = cli(
        "api", "workbooks", "--paginate", "-q", "{n: name, d: description}", "--format", "table"
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 24
    assert all(line == line.rstrip() for line in lines)


def test_a_path_httpx_cannot_make_a_url_of_is_a_usage_error(cli: Cli, pat_env: Emulator) -> None:
    """Found by tests/fuzz/test_fuzz_cli.py: a control character in PATH was an httpx
    InvalidURL traceback; it is a ConfigurationError (exit 2) from the client."""
    result = cli("api", "workbooks\x1f")
    assert result.exit_code == 2
    assert "not a valid request URL" in result.stderr
    assert "Traceback" not in result.output
