"""The Metadata API through both clients over real HTTP: one query, cursor paging over 5,000
workbooks across an expiry (both expired codes), RATE_EXCEEDED back-off, node-limit cuts
recovered by smaller pages, GraphQL errors typed. Needs the emulator's Metadata API endpoint
(`POST /api/metadata/graphql`); skipped where the emulator has none."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

pytest.importorskip("tabsession.emulator.state.graphql", reason="emulator without Metadata API")

import tabsession
from tabsession.errors import GraphQLError
from tabsession.testing import instant_waits

from ._support import counter, emulator, matched, pat

WORKBOOKS = """
query books($first: Int, $after: String) {
  workbooksConnection(first: $first, after: $after) {
    nodes { luid name }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""
KILLS_ARE_DELIBERATE: dict[str, Any] = {"breaker": None}
"""Sessions are ended on purpose milliseconds after their sign-in: the PAT-contention breaker
(rule R10) would rightly call that contention, so it is off where sessions are ended."""


@pytest.mark.parametrize("expired_code", ["401002", "401000"])
def test_paging_5000_workbooks_across_an_expiry_yields_each_once(expired_code: str) -> None:
    with emulator(seed_items=5000, expired_code=expired_code) as emu:
        with tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            seen: list[str] = []
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no truncation warning either
                for node in tab.graphql_paginate(WORKBOOKS, connection="workbooksConnection"):
                    seen.append(node["luid"])
                    if len(seen) in (1234, 3456):
                        emu.expire_sessions()
            stats = emu.stats()
        assert len(seen) == 5000
        assert len(set(seen)) == 5000
        assert stats["error_codes"].get(expired_code) == 2
        assert stats["signins"] == 3


def test_rate_exceeded_is_waited_out() -> None:
    waits: list[float] = []

    def on_event(name: str, fields: Any) -> None:
        if name == "wait":
            waits.append(float(fields["seconds"]))

    with emulator() as emu, instant_waits():
        emu.set_faults(
            [
                {
                    "kind": "status",
                    "status": 429,
                    "retry_after": "3",
                    "path": "metadata/graphql",
                    "times": 6,
                },
                counter("metadata/graphql"),
            ]
        )
        with tabsession.Client(emu.url, pat(), on_event=on_event) as tab:
            data = tab.graphql("{ projectsConnection(first: 2) { totalCount } }")
        assert data["projectsConnection"]["totalCount"] > 0
        assert matched(emu)[1] == 7  # the sender's 5, the flow's back-off, one more 429, ok
        assert waits == [3.0] * 6


def test_a_page_cut_at_the_node_limit_is_asked_again_smaller() -> None:
    with emulator(seed_items=500, metadata_node_limit=150) as emu:
        emu.set_faults([counter("metadata/graphql")])
        with tabsession.Client(emu.url, pat()) as tab, warnings.catch_warnings():
            warnings.simplefilter("error")
            luids = [
                n["luid"]
                for n in tab.graphql_paginate(
                    WORKBOOKS, connection="workbooksConnection", page_size=400
                )
            ]
        assert sorted(luids) == sorted(set(luids))
        assert len(luids) == 500
        # 400 and 200 cut, then 100 a page: 2 + 5
        assert matched(emu) == [7]


def test_graphql_errors_are_typed_and_a_json_401_renews() -> None:
    with emulator() as emu, tabsession.Client(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
        with pytest.raises(GraphQLError) as caught:
            tab.graphql("{ workbooks { noSuchField } }")
        assert caught.value.codes == ["VALIDATION_ERROR"]
        assert "noSuchField" in str(caught.value)
        emu.expire_sessions()
        data = tab.graphql(
            "query($n: String) { workbooks(filter: {name: $n}) { luid } }", {"n": "nothing"}
        )
        assert data == {"workbooks": []}
        assert emu.stats()["signins"] == 2


def test_async_paging_across_an_expiry() -> None:
    async def main(emu: Any) -> list[str]:
        seen: list[str] = []
        async with tabsession.AsyncClient(emu.url, pat(), **KILLS_ARE_DELIBERATE) as tab:
            async for node in tab.graphql_paginate(
                WORKBOOKS, connection="workbooksConnection", page_size=50
            ):
                seen.append(node["luid"])
                if len(seen) == 120:
                    emu.expire_sessions()
        return seen

    with emulator(seed_items=300) as emu:
        seen = asyncio.run(main(emu))
        assert emu.stats()["signins"] == 2
    assert len(seen) == len(set(seen)) == 300
