"""`tabsession token`: a live session token for tools that send their own requests.

It comes from the shared store (the same session every other command uses), signing in only
when there is none or it is about to end, so calling it before every curl costs nothing.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

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

__all__ = ["command"]


def command(
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Also the site id, user id, API version and expiry, as JSON."),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Make sure the server still accepts it (one GET sessions/current; a dead "
            "session is renewed for everyone sharing it).",
        ),
    ] = True,
    profile: ProfileOption = None,
    server: ServerOption = None,
    site: SiteOption = None,
    api_version: ApiVersionOption = None,
    store: StoreOption = None,
) -> None:
    """Print a live token (the same one on every call while it lives).

    [bold]Examples[/]

      $ curl -H "X-Tableau-Auth: $(tabsession token)" \\
          "$TABLEAU_SERVER/api/3.23/sites/$(tabsession token --json | jq -r .site_id)/workbooks"
      $ tabsession token --json

    By default one cheap call checks that the server still accepts the session (it may have
    been ended by an administrator, a restart or another sign-in with the same PAT); a dead one
    is renewed, once for everyone sharing the store. --no-check skips that call.

    The token is a secret: it is printed because you asked for it, and only to stdout. With
    --json, "expires_at" is when the client expects the session to end (its policy: 240 idle
    minutes on Server, 120 minutes from sign-in on Cloud); the server may end it sooner.
    """
    with reporting():
        connection = connect(profile, server, site, api_version, store)
        with open_client(connection) as tab:
            if check:  # the stored session may have been ended server-side: a 401 renews it
                tab.get("/sessions/current")
            token = tab.token()
            info = tab.session
        if not json_output:
            typer.echo(token)
            return
        assert info is not None  # token() always leaves a session
        policy = tab.policy
        now = datetime.now(timezone.utc)
        age = max(0.0, (now - info.signed_in_at).total_seconds())
        remaining = policy.remaining(age, 0.0)
        data: dict[str, Any] = {
            "token": token,
            "server": info.server,
            "site_id": info.site_id,
            "site_content_url": info.site_content_url,
            "user_id": info.user_id,
            "api_version": info.api_version,
            "signed_in_at": info.signed_in_at.isoformat(),
            "expires_at": (
                None if math.isinf(remaining) else (now + timedelta(seconds=remaining)).isoformat()
            ),
            "policy": policy.describe(),
            "lifetime_seconds": None if math.isinf(policy.lifetime) else policy.lifetime,
            # what the client learned from sessions the server ended (session engine v2)
            "learned_lifetime": getattr(info, "learned_lifetime", "") or None,
        }
        typer.echo(json.dumps(data, indent=2))
