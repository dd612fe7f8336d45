"""`Client.paginate` against the emulator: every item once and in order, concurrent pages,
filters on every page, a session that ends midway, content that shrinks or grows meanwhile."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tabsession import AsyncClient, Breaker, Client, ConfigurationError

from ._support import counter, emulator, matched, password, pat

PAGES = "^sites/[^/]+/workbooks$"


class InFlight:
    """Wraps a client's page fetcher to see how many pages are fetched at once."""

    def __init__(self, page: Callable[..., Any]) -> None:
        self._page = page
        self._lock = threading.Lock()
        self._now = 0
        self.most = 0
        self.numbers: list[int] = []

    def __call__(self, path: str, base: Any, number: int, key: str | None) -> Any:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
            self.numbers.append(number)
        try:
            return self._page(path, base, number, key)
        finally:
            with self._lock:
                self._now -= 1


def reference(tab: Client, path: str, params: dict[str, Any] | None = None) -> list[str]:
    """The ids of every item, from one big page (the emulator allows 1000)."""
    data = tab.get(path, params={**(params or {}), "pageSize": 1000})
    (collection,) = (v for k, v in data.items() if k != "pagination")
    items = next(iter(collection.values())) if collection else []
    return [item["id"] for item in items]


def test_ten_pages_concurrently_yield_every_item_once_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with emulator(seed_items=100) as emu, Client(emu.url, password()) as tab:
        expected = reference(tab, "workbooks")
        emu.set_faults([counter(PAGES), {"kind": "latency", "path": PAGES, "latency_ms": 30}])
        spy = InFlight(tab._page)
        monkeypatch.setattr(tab, "_page", spy)
        items = list(tab.paginate("workbooks", page_size=10, concurrency=4))
        ids = [item["id"] for item in items]
        assert ids == expected
        assert len(set(ids)) == 100
        assert [item["name"] for item in items] == [f"Workbook {i:05d}" for i in range(1, 101)]
        assert matched(emu)[0] == 10  # each page fetched exactly once
        assert sorted(spy.numbers) == list(range(1, 11))
        assert 1 < spy.most <= 4  # concurrent, within the window
        assert emu.stats()["signins"] == 1


def test_filters_and_sort_apply_to_every_page() -> None:
    params = {"filter": "name:lte:Workbook 00083", "sort": "name:desc"}
    with emulator(seed_items=100) as emu, Client(emu.url, password()) as tab:
        expected = reference(tab, "workbooks", params)
        assert len(expected) == 83
        emu.set_faults([counter(PAGES)])
        items = list(tab.paginate("workbooks", page_size=7, params=params, concurrency=3))
        assert [item["id"] for item in items] == expected
        assert items[0]["name"] == "Workbook 00083"
        assert items[-1]["name"] == "Workbook 00001"
        assert matched(emu) == [12]  # ceil(83 / 7)


def test_concurrency_one_fetches_pages_one_after_another(monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(seed_items=50) as emu, Client(emu.url, password(), page_concurrency=1) as tab:
        expected = reference(tab, "workbooks")
        emu.set_faults([{"kind": "latency", "path": PAGES, "latency_ms": 5}])
        spy = InFlight(tab._page)
        monkeypatch.setattr(tab, "_page", spy)
        ids = [item["id"] for item in tab.paginate("workbooks", page_size=5)]
        assert ids == expected
        assert spy.numbers == list(range(1, 11))
        assert spy.most == 1


def test_one_page_of_1000() -> None:
    with emulator(seed_items=100) as emu, Client(emu.url, password()) as tab:
        emu.set_faults([counter(PAGES)])
        assert len(list(tab.paginate("workbooks", page_size=1000))) == 100
        assert matched(emu) == [1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"page_size": 1001},
        {"page_size": -5},
        {"page_size": 10.0},
        {"concurrency": 0},
        {"concurrency": -1},
    ],
)
def test_bad_page_size_or_concurrency_is_refused_before_any_request(kwargs: dict[str, Any]) -> None:
    with emulator() as emu, Client(emu.url, password()) as tab:
        with pytest.raises(ConfigurationError):
            tab.paginate("workbooks", **kwargs)
        assert emu.stats()["requests"] == 0


def test_nothing_to_list_is_one_request() -> None:
    with emulator(seed_items=20) as emu, Client(emu.url, password()) as tab:
        emu.set_faults([counter(PAGES)])
        assert list(tab.paginate("workbooks", params={"filter": "name:eq:nothing"})) == []
        assert matched(emu) == [1]


def test_an_endpoint_without_pagination_yields_its_items() -> None:
    with emulator(seed_items=5) as emu, Client(emu.url, password()) as tab:
        workbook = tab.get("workbooks")["workbooks"]["workbook"][0]
        views = list(tab.paginate(f"workbooks/{workbook['id']}/views"))
        assert [v["name"] for v in views] == ["Overview", "Details"]
        picked = list(tab.paginate(f"workbooks/{workbook['id']}/views", key="view"))
        assert picked == views


def test_stopping_early_fetches_no_more_than_the_window() -> None:
    with emulator(seed_items=100) as emu, Client(emu.url, password()) as tab:
        emu.set_faults([counter(PAGES)])
        pages = tab.paginate("workbooks", page_size=10, concurrency=2)
        first = [next(pages) for _ in range(12)]
        pages.close()
        assert [w["name"] for w in first] == [f"Workbook {i:05d}" for i in range(1, 13)]
        assert matched(emu)[0] <= 1 + 2 + 1
        assert emu.stats()["signins"] == 1


def test_a_session_that_ends_midway_continues_at_the_same_page_with_the_same_filters() -> None:
    params = {"filter": "name:lte:Workbook 00120", "sort": "name:desc"}
    with emulator(seed_items=150) as emu:
        with Client(emu.url, password()) as check:
            expected = reference(check, "workbooks", params)
        assert len(expected) == 120
        emu.reset()  # counters back to zero; the same seeded content
        with Client(emu.url, pat(), breaker=Breaker(max_young_deaths=10)) as tab:
            seen: list[str] = []
            for item in tab.paginate("workbooks", page_size=10, params=params, concurrency=4):
                seen.append(item["id"])
                if len(seen) == 15:
                    assert emu.expire_sessions() == 1
            assert seen == expected  # every item exactly once, in order
            stats = emu.stats()
            assert stats["signins"] == 2  # exactly one re-sign-in for all the pages that met 401
            assert stats["status_counts"]["401"] >= 1
            assert stats["status_counts"]["401"] == tab.stats.replays
            assert tab.stats.sign_ins == 2


@pytest.mark.parametrize("concurrency", [1, 4])
def test_content_shrinking_during_pagination_stops_gracefully(concurrency: int) -> None:
    with emulator(seed_items=0) as emu, Client(emu.url, password()) as tab:
        for i in range(1, 31):
            tab.post("groups", json={"group": {"name": f"G{i:02d}"}})
        params = {"sort": "name:asc"}
        names = ["All Users", *(f"G{i:02d}" for i in range(1, 31))]
        by_name = {
            g["name"]: g["id"]
            for g in tab.get("groups", params={"pageSize": 100})["groups"]["group"]
        }
        seen: list[str] = []
        for group in tab.paginate("groups", page_size=5, params=params, concurrency=concurrency):
            seen.append(group["name"])
            if len(seen) == 5:  # page 1 read: delete everything after the 11th group
                for name in names[11:]:
                    tab.delete(f"groups/{by_name[name]}")
        assert seen == names[:11]  # pages 2 and 3, then the end (page 4 no longer exists)


def test_content_growing_during_pagination_is_listed_too() -> None:
    with emulator(seed_items=0) as emu, Client(emu.url, password()) as tab:
        for i in range(1, 10):
            tab.post("groups", json={"group": {"name": f"G{i:02d}"}})
        seen: list[str] = []
        for group in tab.paginate(
            "groups", page_size=5, params={"sort": "name:asc"}, concurrency=1
        ):
            seen.append(group["name"])
            if len(seen) == 1:
                for i in range(10, 15):
                    tab.post("groups", json={"group": {"name": f"G{i:02d}"}})
        assert seen == ["All Users", *(f"G{i:02d}" for i in range(1, 15))]


def test_a_query_in_the_path_is_kept_alongside_params() -> None:
    with emulator(seed_items=30) as emu, Client(emu.url, password()) as tab:
        one = tab.get("workbooks?filter=name:eq:Workbook 00003", params={"fields": "_default_"})
        assert [w["name"] for w in one["workbooks"]["workbook"]] == ["Workbook 00003"]
        filtered = tab.paginate(
            "workbooks?filter=name:lte:Workbook 00012&sort=name:desc", page_size=5
        )
        names = [w["name"] for w in filtered]
        assert names == [f"Workbook {i:05d}" for i in range(12, 0, -1)]
        # an explicit parameter wins over the same one in the path
        resized = tab.get("workbooks?pageSize=2", params={"pageSize": 3})
        assert resized["pagination"]["pageSize"] == "3"


def test_the_default_page_size_is_the_api_maximum_and_the_total_is_exposed() -> None:
    with emulator(seed_items=2500) as emu, Client(emu.url, password()) as tab:
        emu.set_faults([counter(PAGES)])
        pages = tab.paginate("workbooks")
        assert pages.total is None  # nothing read yet
        first = next(pages)
        assert pages.total == 2500  # page 1 read: the announced total
        rest = list(pages)
        assert len(rest) + 1 == 2500
        assert first["name"] == "Workbook 00001"
        assert matched(emu) == [3]  # pages of 1000: 3 requests for 2500 items


def test_fetch_total_reads_page_one_without_losing_an_item() -> None:
    with emulator(seed_items=25) as emu, Client(emu.url, password()) as tab:
        emu.set_faults([counter(PAGES)])
        pages = tab.paginate("workbooks", page_size=10)
        assert pages.fetch_total() == 25  # for a progress bar, before iterating
        assert pages.fetch_total() == 25  # no second read
        assert matched(emu) == [1]
        names = [w["name"] for w in pages]
        assert names == [f"Workbook {i:05d}" for i in range(1, 26)]
        assert matched(emu) == [3]


def test_an_unpaged_answer_has_no_total() -> None:
    with emulator(seed_items=3) as emu, Client(emu.url, password()) as tab:
        pages = tab.paginate("/serverinfo")
        assert pages.fetch_total() is None
        assert list(pages) == []
        assert pages.total is None


def test_async_pages_expose_the_total_too() -> None:
    with emulator(seed_items=12) as emu:

        async def scenario() -> list[str]:
            async with AsyncClient(emu.url, password()) as tab:
                pages = tab.paginate("workbooks", page_size=5)
                assert pages.total is None
                assert await pages.fetch_total() == 12
                names = [w["name"] async for w in pages]
                assert pages.total == 12
                return names

        assert asyncio.run(scenario()) == [f"Workbook {i:05d}" for i in range(1, 13)]
