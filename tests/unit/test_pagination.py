"""Reading paged answers (`read_page`) and planning pages (`last_page`, `check_page_size`)."""

from __future__ import annotations

from typing import Any

import pytest

from tabsession.errors import ConfigurationError, TableauError
from tabsession.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageInfo,
    PagePlan,
    check_page_size,
    last_page,
    read_page,
)


def pagination(number: int = 1, size: int = 100, total: int = 2) -> dict[str, str]:
    return {"pageNumber": str(number), "pageSize": str(size), "totalAvailable": str(total)}


def test_a_list_answer() -> None:
    data = {
        "pagination": pagination(2, 2, 5),
        "workbooks": {"workbook": [{"id": "a"}, {"id": "b"}]},
    }
    assert read_page(data) == ([{"id": "a"}, {"id": "b"}], PageInfo(2, 2, 5))


def test_pagination_may_come_after_the_collection() -> None:
    data = {"users": {"user": [{"id": "u"}]}, "pagination": pagination(1, 10, 1)}
    assert read_page(data) == ([{"id": "u"}], PageInfo(1, 10, 1))


@pytest.mark.parametrize("empty", [{}, {"workbook": []}, {"workbook": {}}, {"workbook": None}])
def test_an_empty_collection(empty: dict[str, Any]) -> None:
    data = {"pagination": pagination(1, 100, 0), "workbooks": empty}
    assert read_page(data) == ([], PageInfo(1, 100, 0))


def test_a_single_object_instead_of_a_list() -> None:
    data = {"pagination": pagination(1, 100, 1), "projects": {"project": {"id": "p"}}}
    assert read_page(data) == ([{"id": "p"}], PageInfo(1, 100, 1))


def test_key_selects_among_several_collections() -> None:
    data = {
        "pagination": pagination(1, 100, 2),
        "views": {"view": [{"id": "v1"}, {"id": "v2"}]},
        "workbook": {"workbook": {"id": "w"}},
    }
    assert read_page(data, key="view")[0] == [{"id": "v1"}, {"id": "v2"}]
    assert read_page(data, key="views")[0] == [{"id": "v1"}, {"id": "v2"}]
    assert read_page(data)[0] == [{"id": "v1"}, {"id": "v2"}]  # the first collection


def test_key_inside_a_container_with_several_lists() -> None:
    data = {"pagination": pagination(), "results": {"a": [{"id": 1}], "b": [{"id": 2}, {"id": 3}]}}
    assert read_page(data, key="b")[0] == [{"id": 2}, {"id": 3}]
    assert read_page(data, key="a")[0] == [{"id": 1}]
    assert read_page(data)[0] == []  # ambiguous without a key


def test_key_naming_a_top_level_list() -> None:
    data = {"pagination": pagination(), "items": [{"id": 1}, {"id": 2}]}
    assert read_page(data, key="items")[0] == [{"id": 1}, {"id": 2}]


def test_an_unknown_key_is_an_error() -> None:
    data = {"pagination": pagination(), "workbooks": {"workbook": [{"id": "a"}]}}
    with pytest.raises(TableauError, match="'datasource'"):
        read_page(data, key="datasource")


def test_missing_pagination_means_one_page() -> None:
    data = {"views": {"view": [{"id": "v"}]}}
    assert read_page(data) == ([{"id": "v"}], None)


@pytest.mark.parametrize(
    "bad",
    [
        {"pageNumber": "1", "pageSize": "100"},  # no total
        {"pageNumber": "one", "pageSize": "100", "totalAvailable": "3"},
        {"pageNumber": None, "pageSize": "100", "totalAvailable": "3"},
        "1,100,3",
    ],
)
def test_unreadable_pagination_means_one_page(bad: Any) -> None:
    data = {"pagination": bad, "workbooks": {"workbook": [{"id": "a"}]}}
    assert read_page(data) == ([{"id": "a"}], None)


def test_an_answer_without_any_collection() -> None:
    assert read_page({"pagination": pagination(1, 100, 0)}) == ([], PageInfo(1, 100, 0))


@pytest.mark.parametrize("data", [None, [], [{"id": "a"}], "text", b"bytes"])
def test_a_non_object_answer_is_an_error(data: Any) -> None:
    with pytest.raises(TableauError):
        read_page(data)


@pytest.mark.parametrize(
    ("number", "size", "total", "last"),
    [
        (1, 100, 0, 1),
        (1, 100, 1, 1),
        (1, 100, 100, 1),
        (1, 100, 101, 2),
        (3, 10, 95, 10),
        (1, 1, 7, 7),
        (4, 1000, 10_000, 10),
        (5, 0, 0, 5),  # a page size of 0 cannot plan further pages
    ],
)
def test_last_page(number: int, size: int, total: int, last: int) -> None:
    assert last_page(PageInfo(number, size, total)) == last


@pytest.mark.parametrize("size", [1, 2, 100, MAX_PAGE_SIZE])
def test_page_size_in_bounds(size: int) -> None:
    assert check_page_size(size) == size


@pytest.mark.parametrize("size", [0, -1, MAX_PAGE_SIZE + 1, 10**6, True, 1.5, "100", None])
def test_page_size_out_of_bounds(size: Any) -> None:
    with pytest.raises(ConfigurationError):
        check_page_size(size)


# -- PagePlan: which pages to fetch after page 1 ------------------------------------------------


def pages_fetched(first: PageInfo, counts: dict[int, int], window: int = 1) -> list[int]:
    """The page numbers a client with `window` pages in flight requests, given how many items
    each page holds (`counts`, 0 when absent), the way Client._paginate drives the plan."""
    plan = PagePlan(first, counts.get(first.number, 0))
    requested: list[int] = []
    pending: list[int] = []
    while True:
        while len(pending) < window and (number := plan.take()) is not None:
            pending.append(number)
            requested.append(number)
        if not pending:
            return requested
        number = pending.pop(0)
        plan.record(PageInfo(number, first.size, first.total), counts.get(number, 0))
        if plan.done:
            return requested


def test_the_plan_follows_the_announced_total() -> None:
    assert pages_fetched(PageInfo(1, 10, 35), {1: 10, 2: 10, 3: 10, 4: 5}) == [2, 3, 4]


def test_an_empty_page_ends_the_listing_whatever_the_total_claims() -> None:
    bogus = PageInfo(1, 100, 10**12)
    assert pages_fetched(bogus, {1: 100}) == [2]
    assert pages_fetched(bogus, {1: 100}, window=4) == [2, 3, 4, 5]  # one window at most


def test_a_short_page_ends_the_listing() -> None:
    assert pages_fetched(PageInfo(1, 10, 1000), {1: 10, 2: 10, 3: 4}) == [2, 3]
    assert pages_fetched(PageInfo(1, 10, 1000), {1: 3}) == []  # page 1 itself was short
    assert pages_fetched(PageInfo(1, 10, 1000), {}) == []  # and empty


def test_a_page_announcing_more_items_extends_the_plan() -> None:
    plan = PagePlan(PageInfo(1, 5, 10), 5)
    assert plan.take() == 2
    plan.record(PageInfo(2, 5, 20), 5)  # content grew while listing
    assert [plan.take(), plan.take(), plan.take()] == [3, 4, None]


def test_a_page_size_of_zero_plans_nothing() -> None:
    assert pages_fetched(PageInfo(1, 0, 100), {1: 0}) == []


def test_the_default_page_size_is_the_api_maximum() -> None:
    assert DEFAULT_PAGE_SIZE == MAX_PAGE_SIZE == 1000
