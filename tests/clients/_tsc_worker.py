"""A separate process for the TSC tests.

`python -m tests.clients._tsc_worker MODE URL [DIR] [CALLS]`:

- `kept`: `keep_signed_in` with a FileStore in DIR, then CALLS listings; prints a JSON line
  `{"errors": n, "signins_seen": ...}`.
- `plain`: a plain TSC sign-in with the suite's PAT (which ends every other session of it).
"""

from __future__ import annotations

import json
import sys

import tableauserverclient as TSC

from tabsession.stores import FileStore
from tabsession.tsc import client_for, keep_signed_in
from tests.conftest import PAT_NAME, PAT_SECRET


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    auth = TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id="")
    server = TSC.Server(url, use_server_version=False)
    server.version = "3.23"
    if mode == "plain":
        server.auth.sign_in(auth)
        print(json.dumps({"errors": 0}))
        return 0
    directory, calls = argv[2], int(argv[3])
    keep_signed_in(server, auth, store=FileStore(directory))
    errors = 0
    for _ in range(calls):
        try:
            server.projects.get()
        except Exception:
            errors += 1
    client = client_for(server)
    assert client is not None
    print(json.dumps({"errors": errors, "sign_ins": client.stats.sign_ins}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
