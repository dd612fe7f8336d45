"""Many clients at once: the emulator's counters add up exactly and nothing fails."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tabsession.emulator import Account, PatSpec
from tabsession.emulator.server import Emulator
from tabsession.emulator.state.query import Query

V = "3.23"
THREADS = 32
REQUESTS_PER_THREAD = 50
USERS = tuple(Account(f"worker{i:02d}", f"pw{i}") for i in range(4))


class Tally:
    """What the clients saw, to compare with what the emulator counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.signins = 0

    def add(self, response: httpx.Response, *, signin: bool = False) -> httpx.Response:
        with self.lock:
            self.statuses[response.status_code] += 1
            if signin and response.status_code == 200:
                self.signins += 1
        return response


def worker(emu: Emulator, index: int, tally: Tally) -> None:
    """Exactly REQUESTS_PER_THREAD requests: sign-ins, listings and CRUD, interleaved."""
    account = USERS[index % len(USERS)]
    body = {
        "credentials": {
            "name": account.name,
            "password": account.password,
            "site": {"contentUrl": ""},
        }
    }
    base = f"{emu.url}/api/{V}/"
    with httpx.Client(base_url=base, headers={"Accept": "application/json"}, timeout=60) as http:

        def sign_in() -> tuple[str, str]:
            response = tally.add(http.post("auth/signin", json=body), signin=True)
            creds = response.json()["credentials"]
            return creds["token"], creds["site"]["id"]

        token, site = sign_in()
        sent, step = 1, 0
        while sent < REQUESTS_PER_THREAD:
            auth = {"X-Tableau-Auth": token}
            kind = step % 6
            step += 1
            if kind == 0:
                page = {"pageSize": 20, "pageNumber": 1 + step % 3}
                tally.add(http.get(f"sites/{site}/workbooks", params=page, headers=auth))
                sent += 1
            elif kind == 1:
                tally.add(http.get("sessions/current", headers=auth))
                sent += 1
            elif kind == 2 and sent + 4 <= REQUESTS_PER_THREAD:
                name = f"p-{index}-{step}"
                projects = f"sites/{site}/projects"
                created = tally.add(
                    http.post(projects, json={"project": {"name": name}}, headers=auth)
                )
                project = created.json()["project"]["id"]
                change = {"project": {"description": "x"}}
                tally.add(http.put(f"{projects}/{project}", json=change, headers=auth))
                found = http.get(projects, params={"filter": f"name:eq:{name}"}, headers=auth)
                assert tally.add(found).json()["pagination"]["totalAvailable"] == "1"
                tally.add(http.delete(f"{projects}/{project}", headers=auth))
                sent += 4
            elif kind == 3:
                group = {"group": {"name": "All Users"}}
                conflict = tally.add(http.post(f"sites/{site}/groups", json=group, headers=auth))
                assert conflict.status_code == 409
                sent += 1
            elif kind == 4:
                token, site = sign_in()
                sent += 1
            elif kind == 5:
                viewers = {"filter": "siteRole:eq:Viewer"}
                tally.add(http.get(f"sites/{site}/users", params=viewers, headers=auth))
                sent += 1


@pytest.mark.tableau_emulator(users=USERS, seed_items=60)
def test_threads_interleaving_signins_lists_and_crud(tableau_emulator: Emulator) -> None:
    tally = Tally()
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, tableau_emulator, i, tally) for i in range(THREADS)]
        for future in futures:
            future.result()
    stats = tableau_emulator.stats()
    total = THREADS * REQUESTS_PER_THREAD
    assert sum(tally.statuses.values()) == total
    assert stats["requests"] == total == sum(stats["status_counts"].values())
    assert stats["status_counts"] == {str(k): v for k, v in sorted(tally.statuses.items())}
    assert set(tally.statuses) <= {200, 201, 204, 409}
    assert stats["signins"] == tally.signins
    assert stats["signin_failures"] == stats["internal_errors"] == 0
    assert stats["active_sessions"] == tally.signins  # password sessions never end each other
    projects = tableau_emulator.state.sites()[0].content.list_page("projects", Query())
    assert projects.total == 1 + 60 // 20  # every created project was deleted again


@pytest.mark.tableau_emulator(pats=(PatSpec("shared", "s"),))
def test_many_sign_ins_with_one_pat_leave_one_session(tableau_emulator: Emulator) -> None:
    body = {
        "credentials": {
            "personalAccessTokenName": "shared",
            "personalAccessTokenSecret": "s",
            "site": {"contentUrl": ""},
        }
    }
    base = f"{tableau_emulator.url}/api/{V}/"

    def sign_in_twice(_: int) -> list[str]:
        with httpx.Client(base_url=base, headers={"Accept": "application/json"}) as http:
            return [
                http.post("auth/signin", json=body).json()["credentials"]["token"] for _ in "ab"
            ]

    with ThreadPoolExecutor(16) as pool:
        tokens = [t for pair in pool.map(sign_in_twice, range(16)) for t in pair]
    stats = tableau_emulator.stats()
    assert (stats["signins"], stats["sessions_superseded"], stats["active_sessions"]) == (32, 31, 1)
    with httpx.Client(base_url=base) as http:
        statuses = [
            http.get("sessions/current", headers={"X-Tableau-Auth": t}).status_code for t in tokens
        ]
    assert sorted(statuses) == [200] + [401] * 31
