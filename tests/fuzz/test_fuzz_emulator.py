"""Fuzzing the emulator over real HTTP: its REST API (any method, path, query, header and
body, with a valid token, a bogus one or none) and its control plane (`/_emulator/...`, any
JSON) never answer 500 and never hang (every request has a 10 s timeout, so a hang fails).

One in-process emulator serves the whole module; the control-plane fuzzer resets it after each
example so that a fuzzed fault rule or clock jump never leaks into the next one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import ADMIN_PASSWORD
from hypothesis import given
from hypothesis import strategies as st

from tabsession.emulator.server import Emulator
from tests.integration._support import emulator

from ._budget import examples
from ._strategies import (
    bodies,
    json_values,
    methods,
    path_segments,
    query_values,
)
from ._strategies import request_header_values as header_values

VERSION = "3.23"
KINDS = ["projects", "users", "groups", "workbooks", "views", "datasources", "flows", "jobs",
         "fileUploads", "schedules", "tasks/extractRefreshes"]  # fmt: skip


class World:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=emu.url, timeout=10)
        self.site_ids = [emu.site_id(""), emu.site_id("marketing")]
        self.token = self.sign_in()
        self.ids = [
            item["id"]
            for kind in ("workbooks", "views", "projects", "datasources")
            for item in self.listing(kind)
        ]

    def sign_in(self) -> str:
        body = {"credentials": {"name": "admin", "password": ADMIN_PASSWORD,
                                "site": {"contentUrl": ""}}}  # fmt: skip
        answer = self.http.post(f"/api/{VERSION}/auth/signin", json=body,
                                headers={"Accept": "application/json"})  # fmt: skip
        answer.raise_for_status()
        token: str = answer.json()["credentials"]["token"]
        return token

    def listing(self, kind: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"/api/{VERSION}/sites/{self.site_ids[0]}/{kind}",
            headers={"X-Tableau-Auth": self.token, "Accept": "application/json"},
        )
        collection = next(v for k, v in answer.json().items() if k != "pagination")
        items = next(iter(collection.values())) if collection else []
        return items if isinstance(items, list) else [items]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with emulator(sites=("marketing",), seed_items=12) as emu:
        state = World(emu)
        try:
            yield state
        finally:
            state.http.close()


def _segment(real: list[str]) -> st.SearchStrategy[str]:
    fuzzed = path_segments.map(lambda s: quote(s, safe=":@!$&'()*+,;="))
    return st.sampled_from(real) | fuzzed if real else fuzzed


@st.composite
def api_paths(draw: st.DrawFn, world: World) -> str:
    version = draw(st.sampled_from([VERSION, "2.0", "99.9", "3.4"]) | _segment([]))
    site = draw(_segment(world.site_ids))
    item = draw(_segment(world.ids))
    kind = draw(st.sampled_from(KINDS) | _segment([]))
    tail = draw(st.sampled_from(["", "/content", "/refresh", "/views", "/connections",
                                 "/pdf", "/image", "/data", "/crosstab/excel", "/permissions"]))  # fmt: skip  # noqa: E501
    shapes = [
        "serverinfo", "auth/signin", "auth/signout", "auth/switchsite", "sessions/current",
        f"sessions/{item}", "sites", f"sites/{site}", f"sites/{site}/{kind}",
        f"sites/{site}/{kind}/{item}{tail}", f"sites/{site}/views/{item}{tail}",
        f"sites/{site}/fileUploads/{item}", f"sites/{site}/jobs/{item}",
    ]  # fmt: skip
    shape = draw(st.sampled_from(shapes))
    if draw(st.integers(0, 9)) == 0:
        return "/api/metadata/graphql"
    if draw(st.integers(0, 9)) == 0:
        return "/" + "/".join(draw(st.lists(_segment([]), min_size=1, max_size=4)))
    return f"/api/{version}/{shape}"


query_maps = st.dictionaries(
    st.sampled_from(
        [
            "pageSize",
            "pageNumber",
            "filter",
            "sort",
            "fields",
            "overwrite",
            "uploadSessionId",
            "asJob",
            "maxAge",
            "vf_Region",
            "type",
            "resolution",
            "includeExtract",
            "workbookType",
        ]
    ),
    query_values,
    max_size=4,
)


@st.composite
def api_requests(
    draw: st.DrawFn, world: World
) -> tuple[str, str, dict[str, str], dict[str, str], bytes]:
    headers = dict(draw(
        st.dictionaries(st.sampled_from(["Content-Type", "Accept", "Accept-Encoding", "Range"]),
                        header_values, max_size=3)).items())  # fmt: skip
    auth = draw(st.sampled_from(["valid", "bogus", "none"]))
    if auth == "valid":
        headers["X-Tableau-Auth"] = world.token
    elif auth == "bogus":
        headers["X-Tableau-Auth"] = draw(header_values)
    if draw(st.booleans()):
        structured = {"tsRequest": draw(json_values)} if draw(st.booleans()) else draw(json_values)
        body = json.dumps(structured).encode()
        headers.setdefault("Content-Type", "application/json")
    else:
        body = draw(bodies())
    query = draw(query_maps)
    return draw(methods), draw(api_paths(world)), query, headers, body


def _assert_no_crash(answer: httpx.Response) -> None:
    assert answer.status_code != 500, answer.text[:500]
    assert answer.status_code < 600


@examples(1.5)
@given(st.data())
def test_the_rest_api_never_answers_500(world: World, data: st.DataObject) -> None:
    method, path, query, headers, body = data.draw(api_requests(world))
    answer = world.http.request(method, path, params=query, headers=headers, content=body)
    _assert_no_crash(answer)
    if answer.status_code == 401 and headers.get("X-Tableau-Auth") == world.token:
        world.token = world.sign_in()  # the fuzzer signed out or switched site: carry on


@st.composite
def fault_rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"kind": draw(st.sampled_from(
        ["latency", "status", "drop", "kill_session", "stale_session", "job_failure", "boom"]))}  # fmt: skip  # noqa: E501
    for key, values in (
        ("path", st.text(max_size=10) | st.sampled_from(["(", "[a-", "*", "workbooks"])),
        ("method", st.sampled_from(["GET", "post", "", "X"]) | st.integers()),
        ("every", st.integers(-2, 5) | st.floats()),
        ("probability", st.floats(allow_nan=True) | st.integers(-1, 2)),
        ("after", st.integers(-1, 3)),
        ("times", st.integers(-1, 3) | st.none()),
        ("status", st.integers(0, 1000) | st.text(max_size=3)),
        ("retry_after", st.integers(-5, 10**12) | st.text(max_size=5) | st.floats()),
        ("body", st.text(max_size=20) | st.integers()),
        ("latency_ms", st.floats() | st.integers(-5, 10**9)),
        ("unknown_field", json_values),
    ):
        if draw(st.integers(0, 2)) == 0:
            rule[key] = draw(values)
    return rule


@st.composite
def control_requests(draw: st.DrawFn, world: World) -> tuple[str, str, bytes]:
    name = draw(st.sampled_from(["health", "stats", "config", "sessions", "expire-sessions",
                                 "advance-clock", "reset", "faults", "kill-session", "revoke-pat"])
                | path_segments)  # fmt: skip
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT"]))
    shaped: dict[str, Any] = {
        "advance-clock": {"seconds": draw(st.floats() | st.integers() | st.text(max_size=4))},
        "faults": {
            "rules": draw(st.lists(fault_rules(), max_size=3) | json_values),
            "latency_ms": draw(st.floats() | st.integers(-1, 10**9) | st.none()),
            "append": draw(st.booleans() | json_values),
        },
        "kill-session": {"session_id": draw(st.text(max_size=10) | json_values)},
        "revoke-pat": {"name": draw(st.sampled_from(["ci-pat", ""]) | json_values)},
    }
    kind = draw(st.sampled_from(["shaped", "json", "raw"]))
    if kind == "shaped" and name in shaped:
        body = json.dumps(shaped[name], allow_nan=True).encode()
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(bodies())
    return method, f"/_emulator/{name}", body


@examples(1.0)
@given(st.data())
def test_the_control_plane_never_answers_500(world: World, data: st.DataObject) -> None:
    method, path, body = data.draw(control_requests(world))
    try:
        answer = world.http.request(method, path, content=body,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
        _assert_no_crash(answer)
        # the emulator still serves a normal call afterwards (no poisoned state)
        world.emu.clear_faults()
        _assert_no_crash(world.http.get(f"/api/{VERSION}/serverinfo"))
    finally:
        world.emu.clear_faults()
        world.http.post("/_emulator/reset")
        world.token = world.sign_in()
