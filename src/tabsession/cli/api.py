"""`tabsession api PATH`: an authenticated REST call, in the spirit of `gh api`.

The session comes from the shared store (one sign-in for any number of commands), is renewed
on a 401 and the call replayed, exactly as the client does. Data goes to stdout; progress (a
bar with the total, once page 1 is in) to stderr, and only when stderr is a terminal.

Filtering is JMESPath (`--query`), chosen over jq because the `jmespath` package is pure
Python (it installs wherever tabsession does: no C extension, no wheel to miss), follows a
written specification with a compliance suite, and is the language the aws and az command
lines use for the same flag, so many admins know it already.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from tabsession import Client
from tabsession._responses import parse_payload
from tabsession.cli import fields as field_parser
from tabsession.cli.config import ConfigError
from tabsession.cli.connect import (
    ApiVersionOption,
    ProfileOption,
    ServerOption,
    SiteOption,
    StoreOption,
    connect,
    open_client,
)
from tabsession.cli.exit_codes import ERROR, reporting
from tabsession.cli.output import FORMATS, write_stream, write_value

__all__ = ["command"]

_VERSIONED = re.compile(r"^/?api/\d+\.\d+(?=/)")
_SECRET_HEADERS = ("set-cookie", "x-tableau-auth")


def _compile_query(expression: str | None) -> Any:
    if expression is None:
        return None
    try:
        import jmespath
        from jmespath.exceptions import JMESPathError
    except ImportError:
        raise ConfigError("--query needs JMESPath: pip install 'tabsession[cli]'") from None
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise ConfigError(f"--query {expression!r}: {exc}") from None


def _normalize_path(path: str) -> str:
    """`/api/3.23/sites/...` → `/sites/...` (the client adds the negotiated version)."""
    return _VERSIONED.sub("", path) if _VERSIONED.match(path) else path


def _fill(text: str, tab: Client) -> str:
    if "{site-id}" not in text and "{user-id}" not in text:
        return text
    info = tab.sign_in()
    return text.replace("{site-id}", info.site_id).replace("{user-id}", info.user_id)


def _fill_all(value: Any, tab: Client) -> Any:
    if isinstance(value, str):
        return _fill(value, tab)
    if isinstance(value, dict):
        return {k: _fill_all(v, tab) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_all(v, tab) for v in value]
    return value


def _headers(raw: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for text in raw:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"-H {text!r}: a header is 'Name: value'")
        canonical = "-".join(part.capitalize() for part in name.strip().split("-"))
        headers[canonical] = value.strip()
    return headers


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ConfigError(f"--input {name}: {exc.strerror or exc}") from None


def _progressed(items: Iterator[Any], tab: Client, path: str, params: dict[str, Any]) -> Any:
    """Items with a progress bar on stderr (a terminal only): page 1 is read first for its
    totalAvailable, so the bar knows its end."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tabsession.pagination import read_page

    first = tab.get(path, params={**params, "pageNumber": 1})
    _, info = read_page(first)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(path, total=info.total if info else None)
        for item in items:
            progress.advance(task)
            yield item


def _stderr_is_terminal() -> bool:
    """Progress is drawn only for a person watching (never into a log or a pipe)."""
    return sys.stderr.isatty()


def _include(response: Any) -> None:
    """`-i`: the status line and headers, before the body (cookies hidden: they hold a session)."""
    version = response.http_version or "HTTP/1.1"
    typer.echo(f"{version} {response.status_code} {response.reason_phrase}")
    for name, value in response.headers.items():
        shown = "(hidden)" if name.lower() in _SECRET_HEADERS else value
        typer.echo(f"{name}: {shown}")
    typer.echo("")


def command(
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="'workbooks' (site-scoped), '/sites/{site-id}/users' (after /api/{v}), or "
            "'/api/3.23/serverinfo'.",
        ),
    ],
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            "-X",
            metavar="METHOD",
            help="Default: GET, or POST with fields/--input (GET with --paginate).",
        ),
    ] = None,
    raw_field: Annotated[
        list[str] | None,
        typer.Option("--raw-field", "-f", metavar="KEY=VALUE", help="A string field."),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-F",
            metavar="KEY=VALUE",
            help="A typed field: true/false/null/numbers, @file (@- stdin).",
        ),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option("--input", metavar="FILE", help="The request body from a file ('-': stdin)."),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", metavar="'NAME: VALUE'", help="An extra request header."),
    ] = None,
    include: Annotated[
        bool, typer.Option("--include", "-i", help="Print the status line and headers too.")
    ] = False,
    paginate: Annotated[
        bool, typer.Option("--paginate", help="Every item of every page (streamed).")
    ] = False,
    slurp: Annotated[
        bool,
        typer.Option("--slurp", help="With --paginate: --query sees one array of all items."),
    ] = False,
    page_size: Annotated[
        int, typer.Option(min=1, max=1000, metavar="N", help="Items per page with --paginate.")
    ] = 100,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            "-q",
            metavar="JMESPATH",
            help="Filter the answer (per item with --paginate).",
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="|".join(FORMATS),
            help="xml prints the server's own XML answer.",
        ),
    ] = "json",
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Send an authenticated request to the Tableau REST API and print the answer.

    [bold]Examples[/]

      $ tabsession api workbooks --paginate --format jsonl
      $ tabsession api workbooks --paginate -q '{name: name, project: project.name}' \\
          --format table
      $ tabsession api users -X GET -f 'filter=siteRole:eq:Creator' --format csv
      $ tabsession api users --paginate -f 'sort=name:asc' --format jsonl
      $ tabsession api /sites/{site-id}/users/{user-id}
      $ tabsession api projects -f 'project[name]=Quarterly' -F 'project[description]=@notes.txt'
      $ tabsession api -X DELETE projects/PROJECT-LUID
      $ tabsession api /serverinfo --format xml -i
      $ tabsession api graphql -f query='{ workbooks { name projectName } }' \\
          -q 'data.workbooks' --format table
      $ tabsession api graphql --paginate --format jsonl -f query='query($first: Int,
          $after: String) { workbooksConnection(first: $first, after: $after) {
          nodes { name } pageInfo { hasNextPage endCursor } totalCount } }'

    A relative PATH is site-scoped (/api/{v}/sites/{site-id}/PATH); a PATH starting with / is
    relative to /api/{v}. {site-id} and {user-id} are the session's. For GET and DELETE the
    fields are query parameters; for other methods they form the JSON body (with --input, they
    are query parameters). PATH graphql posts to the Metadata API: -f query=..., the other
    fields are its variables; with --paginate it walks the query's connection over its cursors
    ($first and $after). Exit codes: see the README's table (0 ok, 1 error, 2 usage,
    3 bad request, 4 authentication, 5 forbidden, 6 not found, 7 throttled, 8 server, 9
    unreachable).
    """
    with reporting():
        if output_format not in FORMATS:
            raise ConfigError(f"--format must be one of {', '.join(FORMATS)}")
        if slurp and not paginate:
            raise ConfigError("--slurp goes with --paginate")
        if paginate and include:
            raise ConfigError("--include shows one response: it does not go with --paginate")
        if output_format == "xml" and (query or paginate):
            raise ConfigError(
                "--format xml prints the server's answer as is: no --query/--paginate"
            )
        compiled = _compile_query(query)
        try:
            data = field_parser.build(raw_field or [], field or [])
        except field_parser.FieldError as exc:
            raise ConfigError(str(exc)) from None
        body = _read_input(input_file) if input_file is not None else None
        sends_body = (data or body is not None) and not paginate
        verb = (method or ("POST" if sends_body else "GET")).upper()
        if paginate and verb != "GET":
            raise ConfigError("--paginate pages through GET answers only")
        headers = _headers(header or [])
        if output_format == "xml":
            headers.setdefault("Accept", "application/xml")
        graphql = path.strip("/") == "graphql"
        if graphql and (output_format == "xml" or input_file is not None):
            raise ConfigError(
                "graphql takes -f query=... (and variables as fields): no --format xml or --input"
            )
        cursor = _cursor_connection(data) if graphql and paginate else None
        connection = connect(profile, server, site, api_version, store)
        with open_client(connection) as tab:
            if cursor is not None:
                variables = _fill_all(data, tab)
                query_text = variables.pop("query")
                nodes = tab.graphql_paginate(
                    query_text, connection=cursor, variables=variables, page_size=page_size
                )
                if _stderr_is_terminal():
                    nodes = _counted(nodes, cursor)
                _write_items(nodes, compiled, slurp, output_format)
                return
            if graphql:
                _graphql(tab, _fill_all(data, tab), headers, compiled, output_format)
                return
            target = _fill(_normalize_path(path), tab)
            data = _fill_all(data, tab)
            as_query = verb in ("GET", "DELETE", "HEAD") or body is not None
            try:
                params = field_parser.as_query(data) if as_query else {}
            except field_parser.FieldError as exc:
                raise ConfigError(str(exc)) from None
            if paginate:
                _print_pages(tab, target, params, page_size, compiled, slurp, output_format)
                return
            json_body = None if as_query else data
            if body is not None and "Content-Type" not in headers:
                xml = body.lstrip()[:1] == b"<"
                headers["Content-Type"] = "application/xml" if xml else "application/json"
            response = tab.request(
                verb, target, params=params, json=json_body, content=body, headers=headers
            )
            if include:
                _include(response)
            if output_format == "xml" or not response.content.strip():
                sys.stdout.write(response.text)
                if response.text and not response.text.endswith("\n"):
                    sys.stdout.write("\n")
                return
            try:
                value = parse_payload(response.content, response.headers.get("content-type", ""))
            except ValueError:  # not JSON or XML after all: print it as it came
                sys.stdout.write(response.text + "\n")
                return
            if isinstance(value, bytes):
                sys.stdout.buffer.write(value)
                return
            if compiled is not None:
                value = compiled.search(value)
            write_value(value, output_format)


def _graphql(
    tab: Client, data: dict[str, Any], headers: dict[str, str], compiled: Any, fmt: str
) -> None:
    """`api graphql`: POST /api/metadata/graphql with {query, operationName, variables}; the
    fields other than query and operationName are the variables (as in `gh api graphql`)."""
    if not isinstance(data.get("query"), str):
        raise ConfigError("api graphql needs -f query='{ workbooks { name } }'")
    body: dict[str, Any] = {"query": data.pop("query")}
    if "operationName" in data:
        body["operationName"] = data.pop("operationName")
    if data:
        body["variables"] = data
    response = tab.request("POST", f"{tab.server}/api/metadata/graphql", json=body, headers=headers)
    value = parse_payload(response.content, response.headers.get("content-type", ""))
    errors = value.get("errors") if isinstance(value, dict) else None
    if errors:
        write_value(value, "json")
        first = errors[0].get("message", "") if isinstance(errors[0], dict) else errors[0]
        typer.echo(f"error: the Metadata API answered with errors: {first}", err=True)
        raise typer.Exit(ERROR)
    if compiled is not None:
        value = compiled.search(value)
    write_value(value, fmt)


def _print_pages(
    tab: Client,
    path: str,
    params: dict[str, Any],
    page_size: int,
    compiled: Any,
    slurp: bool,
    output_format: str,
) -> None:
    items: Iterator[Any] = tab.paginate(path, page_size=page_size, params=params)
    if _stderr_is_terminal():
        items = _progressed(items, tab, path, {**params, "pageSize": page_size})
    _write_items(items, compiled, slurp, output_format)


_CONNECTION = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*Connection)\b")


def _cursor_connection(data: dict[str, Any]) -> str:
    """`api graphql --paginate`: the connection the cursors walk, from `-f connection=NAME`
    (a dotted path for a nested one) or else the one `...Connection` field the query names.
    The query must take `$first` and `$after` and select `pageInfo { hasNextPage endCursor }`
    and `nodes`: anything else is a usage error before a request is sent."""
    query = data.get("query")
    if not isinstance(query, str):
        raise ConfigError("api graphql needs -f query='{ workbooks { name } }'")
    named = data.pop("connection", None)
    found = sorted(set(_CONNECTION.findall(query)))
    if named is None and len(found) != 1:
        raise ConfigError(
            "--paginate over graphql walks one connection: "
            + ("the query names none" if not found else f"the query names {', '.join(found)}")
            + "; add -f connection=NAME (e.g. workbooksConnection)"
        )
    missing = [part for part in ("$first", "$after", "pageInfo", "endCursor", "nodes")
               if part not in query]  # fmt: skip
    if missing:
        raise ConfigError(
            "--paginate over graphql needs a query taking $first and $after, selecting nodes and "
            f"pageInfo {{ hasNextPage endCursor }}: it lacks {', '.join(missing)}"
        )
    return str(named) if named is not None else found[0]


def _counted(items: Iterator[Any], label: str) -> Iterator[Any]:
    """Items with a running count on stderr (a terminal only): a cursor has no total up front."""
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(label, total=None)
        for item in items:
            progress.advance(task)
            yield item


def _write_items(items: Iterator[Any], compiled: Any, slurp: bool, output_format: str) -> None:
    """Every item to stdout: one value (`--slurp`, the filter applied to the whole array) or a
    stream (the filter applied to each item, items it maps to null left out)."""
    if slurp:
        everything: Any = list(items)
        if compiled is not None:
            everything = compiled.search(everything)
        write_value(everything, output_format)
        return
    if compiled is not None:
        items = (found for item in items if (found := compiled.search(item)) is not None)
    write_stream(items, output_format)
