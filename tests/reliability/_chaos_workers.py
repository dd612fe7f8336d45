"""Workers for the chaos run (spawned processes import this module).

Every worker makes idempotent calls (GET) and non-idempotent ones (POST projects, each with a
unique name) until told to stop, and reports what happened: GETs that succeeded, GET failures
by error type, the names of POSTs reported OK, and POSTs that failed (with their error type).
Anything that is not a `TableauError` is reported as "untyped:<name>".
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from typing import Any

import tabsession
from tests.conftest import PAT_NAME, PAT_SECRET

PAUSE = 0.004
POST_EVERY = 10
"""One call in ten is a POST."""


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gets = 0
        self.get_failures: Counter[str] = Counter()
        self.posted: list[str] = []
        self.post_failures: list[tuple[str, str]] = []
        self.samples: list[str] = []
        self.passed_through: Counter[str] = Counter()
        """Tools' failures that are the injected faults themselves (5xx, 429, drops), which a
        tool meets talking to Tableau directly too: counted, not lost."""

    def tool_answer(self, what: str, code: str) -> None:
        """A tool (TSC, curl, tabcmd) got an error: lost if it is a session error (401),
        passed through if it is an injected fault."""
        if code.startswith("401"):
            self.get_failures[what] += 1
        else:
            self.passed_through[what] += 1

    def failed(self, exc: BaseException) -> None:
        if len(self.samples) < 5:
            self.samples.append(f"{type(exc).__name__}: {str(exc)[:300]}")

    def report(self) -> dict[str, Any]:
        return {
            "gets": self.gets,
            "get_failures": dict(self.get_failures),
            "posted": list(self.posted),
            "post_failures": list(self.post_failures),
            "samples": list(self.samples),
            "passed_through": dict(self.passed_through),
        }


def _kind(exc: BaseException) -> str:
    return (
        type(exc).__name__
        if isinstance(exc, tabsession.TableauError)
        else (f"untyped:{type(exc).__name__}")
    )


def _name(tag: str) -> str:
    return f"chaos-{tag}-{uuid.uuid4().hex[:12]}"


def thread_loop(tab: tabsession.Client, tally: Tally, stop: Any, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        if n % POST_EVERY == 0:
            name = _name(tag)
            try:
                tab.post("projects", json={"project": {"name": name}})
                with tally.lock:
                    tally.posted.append(name)
            except BaseException as exc:
                with tally.lock:
                    tally.post_failures.append((name, _kind(exc)))
        else:
            try:
                tab.get("workbooks", params={"pageSize": 3})
                with tally.lock:
                    tally.gets += 1
            except BaseException as exc:
                with tally.lock:
                    tally.get_failures[_kind(exc)] += 1
                    tally.failed(exc)
        time.sleep(PAUSE)


async def task_loop(tab: tabsession.AsyncClient, tally: Tally, stop: Any, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        if n % POST_EVERY == 0:
            name = _name(tag)
            try:
                await tab.post("projects", json={"project": {"name": name}})
                tally.posted.append(name)
            except BaseException as exc:
                tally.post_failures.append((name, _kind(exc)))
        else:
            try:
                await tab.get("workbooks", params={"pageSize": 3})
                tally.gets += 1
            except BaseException as exc:
                tally.get_failures[_kind(exc)] += 1
        await asyncio.sleep(PAUSE)


def build_store(spec: dict[str, Any]) -> Any:
    if spec["kind"] == "file":
        return tabsession.FileStore(spec["directory"])
    from tabsession.stores import RedisStore

    return RedisStore(spec["url"])


def pat(group: str) -> tabsession.PersonalAccessToken:
    """Each group of workers has its own PAT: groups that do not share a store would otherwise
    end each other's sessions (real contention, which no client can avoid)."""
    return tabsession.PersonalAccessToken(f"{PAT_NAME}-{group}", PAT_SECRET)


def process_worker(
    url: str, spec: dict[str, Any], threads: int, options: dict[str, Any], stop: Any, out: Any
) -> None:
    """A process: `threads` threads on one client with a shared store; reports on `out`."""
    tally = Tally()
    auth = pat(spec["kind"])
    with tabsession.Client(url, auth, store=build_store(spec), **options) as tab:
        workers = [
            threading.Thread(target=thread_loop, args=(tab, tally, stop, f"{spec['kind']}{i}"))
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    out.put(tally.report())


def tsc_loop(url: str, tally: Tally, stop: Any, options: dict[str, Any]) -> None:
    """TSC with `keep_signed_in`: pages of workbooks, unmodified TSC calls."""
    import tableauserverclient as TSC

    from tabsession.tsc import keep_signed_in

    auth = TSC.PersonalAccessTokenAuth(f"{PAT_NAME}-tsc", PAT_SECRET, site_id="")
    server = TSC.Server(url, use_server_version=True)
    keep_signed_in(server, auth, **options)
    server.auth.sign_in(auth)
    while not stop.is_set():
        try:
            server.workbooks.get(TSC.RequestOptions(pagesize=3))
            with tally.lock:
                tally.gets += 1
        except Exception as exc:  # TSC reports failures its own way: each is audited
            with tally.lock:
                tally.tool_answer(f"tsc:{type(exc).__name__}", str(getattr(exc, "code", "")))
                tally.failed(exc)
        time.sleep(PAUSE * 2)


def curl_loop(proxy_url: str, tally: Tally, stop: Any) -> None:
    """curl through the proxy: a local sign-in once, then GETs with the local token."""
    import json
    import subprocess

    def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["curl", "--silent", "--show-error", *args], capture_output=True, timeout=60
        )

    body = json.dumps(
        {
            "credentials": {
                "personalAccessTokenName": f"{PAT_NAME}-proxy",
                "personalAccessTokenSecret": PAT_SECRET,
                "site": {"contentUrl": ""},
            }
        }
    )
    signed_in = curl(
        "-X", "POST", f"{proxy_url}/api/3.23/auth/signin", "-H", "Content-Type: application/json",
        "-H", "Accept: application/json", "--data-binary", body,
    )  # fmt: skip
    credentials = json.loads(signed_in.stdout)["credentials"]
    token, site = credentials["token"], credentials["site"]["id"]
    while not stop.is_set():
        done = curl(
            f"{proxy_url}/api/3.23/sites/{site}/workbooks?pageSize=3",
            "-H", f"X-Tableau-Auth: {token}", "-H", "Accept: application/json",
            "--write-out", "\n%{http_code}",
        )  # fmt: skip
        status = done.stdout.rsplit(b"\n", 1)[-1]
        with tally.lock:
            if status == b"200":
                tally.gets += 1
            else:
                code = status.decode(errors="replace")
                tally.tool_answer(f"curl:{code}", code)
        time.sleep(PAUSE * 4)


def tabcmd_loop(tabcmd: str, proxy_url: str, home: str, tally: Tally, stop: Any) -> None:
    """tabcmd through the proxy: one login, then listings until told to stop."""
    import os
    import subprocess

    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": f"{home}/.config"}

    def run(*args: str) -> int:
        done = subprocess.run(
            [tabcmd, *args], env=env, cwd=home, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            output = done.stdout + done.stderr
            with tally.lock:
                tally.failed(RuntimeError(output[-600:]))
                tally.tool_answer(f"tabcmd:{args[0]}", "401" if "401" in output else "fault")
        return done.returncode

    login = ["login", "-s", proxy_url, "--token-name", f"{PAT_NAME}-proxy"]
    while not stop.is_set() and run(*login, "--token-value", PAT_SECRET) != 0:
        time.sleep(0.5)  # an injected fault met the sign-in: tabcmd gives up, a user tries again
    while not stop.is_set():
        if run("listsites") == 0:
            with tally.lock:
                tally.gets += 1
