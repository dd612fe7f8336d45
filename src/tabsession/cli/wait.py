"""`tabsession wait JOB`: wait for a job (a refresh, an asynchronous publish) to end."""

from __future__ import annotations

import json
from typing import Annotated

import typer

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
from tabsession.cli.progress import job_progress

__all__ = ["command"]


def command(
    job_id: Annotated[str, typer.Argument(metavar="JOB", help="The job's id.")],
    timeout: Annotated[
        float | None,
        typer.Option(min=0, metavar="SECONDS", help="Give up after this long (default: never)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Wait until the job ends; print it as JSON. Exit 0 on success, 1 if it failed, was
    cancelled or the timeout ran out (the reason and Tableau's notes go to stderr).

    [bold]Examples[/]

      $ tabsession wait 5b9c...
      $ JOB=$(tabsession api -X POST workbooks/$WB/refresh --json '{}' | jq -r .job.id)
      $ tabsession wait "$JOB" --timeout 3600

    Polls 1 s apart at first, then slower, up to every 30 s; expired sessions are renewed and
    429s waited out (Retry-After, or the "retry after N minutes" Tableau writes).
    """
    with reporting():
        connection = connect(profile, server, site, api_version, store)
        with open_client(connection) as tab, job_progress(f"job {job_id}", quiet=quiet) as bar:
            job = tab.wait_for_job(job_id, timeout=timeout, on_progress=bar)
        typer.echo(json.dumps(job, indent=2))
