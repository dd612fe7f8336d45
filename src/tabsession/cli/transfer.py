"""`tabsession publish` and `tabsession download`: the client's long operations from the shell,
with a progress bar on stderr and the answer (JSON) on stdout.

Both share the session of every other command (the file store by default), and carry on across
expiries exactly as `Client.publish_workbook` and `Client.download` do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from tabsession import Client
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
from tabsession.cli.exit_codes import reporting
from tabsession.cli.progress import byte_progress
from tabsession.operations.publish import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE

__all__ = ["download", "publish"]

_WORKBOOK_TYPES = frozenset({"twb", "twbx"})
_DATASOURCE_TYPES = frozenset({"tds", "tdsx", "tde", "hyper"})
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _project_id(tab: Client, project: str) -> str:
    """`project` as given when it looks like a LUID, else the id of the project of that name."""
    if len(project) == 36 and project.count("-") == 4:
        return project
    answer = tab.get("projects", params={"filter": f"name:eq:{project}"})
    found = (answer.get("projects") or {}).get("project") or []
    if len(found) != 1:
        how = "no project" if not found else f"{len(found)} projects"
        raise ConfigError(f"{how} named {project!r} on this site: pass the project's id")
    return str(found[0]["id"])


def publish(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=".twb/.twbx or .tds/.tdsx/.hyper")
    ],
    project: Annotated[
        str, typer.Option("--project", metavar="ID|NAME", help="Target project (id or name).")
    ],
    name: Annotated[
        str | None, typer.Option(help="Name on the server (default: the file's name).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an item of the same name.")
    ] = False,
    append: Annotated[
        bool, typer.Option("--append", help="Data sources: append the extract's rows.")
    ] = False,
    as_job: Annotated[
        bool, typer.Option("--as-job", help="Publish asynchronously; print the job.")
    ] = False,
    chunk_mb: Annotated[
        int,
        typer.Option(
            "--chunk-mb",
            min=1,
            max=MAX_CHUNK_SIZE // 2**20,
            help="Block size of a chunked upload, in MiB (files over 64 MB go in blocks).",
        ),
    ] = DEFAULT_CHUNK_SIZE // 2**20,
    quiet: QuietOption = False,
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Publish a workbook or data source (by its extension); print it as JSON.

    [bold]Examples[/]

      $ tabsession publish Sales.twbx --project Default
      $ tabsession publish orders.hyper --project Default --append
      $ tabsession publish Big.twbx --project 1f2e... --overwrite --as-job | jq -r .id

    Expired sessions are renewed on the way; a lost upload or an ambiguous block failure
    restarts the upload from its first block (never sending a block twice to one upload).
    """
    with reporting():
        ext = file.suffix.lower().lstrip(".")
        kind: Literal["workbook", "datasource"]
        if ext in _WORKBOOK_TYPES:
            kind = "workbook"
        elif ext in _DATASOURCE_TYPES:
            kind = "datasource"
        else:
            raise ConfigError(f"{file.name}: not a workbook or data source file")
        if overwrite and append:
            raise ConfigError("--overwrite and --append exclude each other")
        mode = "Overwrite" if overwrite else "Append" if append else "CreateNew"
        connection = connect(profile, server, site, api_version, store)
        with (
            open_client(connection) as tab,
            byte_progress(f"publish {file.name}", quiet=quiet) as bar,
        ):
            target = _project_id(tab, project)
            method = tab.publish_workbook if kind == "workbook" else tab.publish_datasource
            item = method(
                file,
                project_id=target,
                name=name,
                mode=mode,
                as_job=as_job,
                chunk_size=chunk_mb * 2**20,
                on_progress=bar,
            )
        typer.echo(json.dumps(item, indent=2))


def download(
    kind: Annotated[
        str, typer.Argument(metavar="workbook|datasource|PATH", help="What to download.")
    ],
    item_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="The item's id (not with a PATH).")
    ] = None,
    dest: Annotated[
        Path,
        typer.Option("--output", "-o", help="File or existing directory (default: here)."),
    ] = Path("."),
    quiet: QuietOption = False,
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Download a workbook's or data source's file (or any file answer); print its path.

    [bold]Examples[/]

      $ tabsession download workbook 1f2e... -o backups/
      $ tabsession download datasource 9a8b... -o orders.tdsx
      $ tabsession download views/3c4d.../pdf -o view.pdf

    Streamed to a temporary file beside the destination and renamed when complete; an expired
    session or a dropped connection means a fresh download.
    """
    with reporting():
        if kind in ("workbook", "datasource"):
            if not item_id:
                raise ConfigError(f"download {kind} needs the {kind}'s id")
            path = f"{kind}s/{item_id}/content"
        else:
            if item_id:
                raise ConfigError("give a PATH or a kind and an id, not both")
            path = kind
        connection = connect(profile, server, site, api_version, store)
        with open_client(connection) as tab, byte_progress(f"download {path}", quiet=quiet) as bar:
            saved = tab.download(path, dest, on_progress=bar)
        typer.echo(saved)
