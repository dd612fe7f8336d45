"""The emulator's listing logic (filter, sort, page, fields) without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.kinds import KINDS
from tabsession.emulator.state.query import (
    Field,
    Query,
    field_selection,
    parse_query,
    run_query,
    select_fields,
)

FIELDS = {
    "id": Field(lambda i: i.get("id")),
    "name": Field(lambda i: i.get("name")),
    "size": Field(lambda i: i.get("size"), "int"),
    "createdAt": Field(lambda i: i.get("createdAt"), "datetime"),
    "hasExtracts": Field(lambda i: i.get("hasExtracts"), "bool"),
    "tags": Field(lambda i: [t["label"] for t in i.get("tags", [])], "list"),
}


def _item(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"id-{n:03d}",
        "name": f"Item {n:03d}",
        "size": n,
        "createdAt": f"2024-01-{1 + n % 28:02d}T00:00:00Z",
        "hasExtracts": n % 2 == 0,
        "tags": [{"label": f"t{n % 3}"}],
        **extra,
    }


ITEMS = [_item(n) for n in range(1, 251)]


def _code(params: dict[str, str]) -> str:
    with pytest.raises(ApiError) as caught:
        run_query(ITEMS, parse_query(params, FIELDS), FIELDS)
    return caught.value.code


def _names(params: dict[str, str]) -> list[str]:
    page = run_query(ITEMS, parse_query(params, FIELDS), FIELDS)
    return [i["name"] for i in page.items]


def test_defaults_are_page_one_of_one_hundred() -> None:
    query = parse_query({}, FIELDS)
    assert query == Query()
    page = run_query(ITEMS, query, FIELDS)
    assert (page.page_number, page.page_size, page.total, len(page.items)) == (1, 100, 250, 100)


def test_pages_cover_every_item_once() -> None:
    seen: list[str] = []
    for number in (1, 2, 3):
        page = run_query(
            ITEMS, parse_query({"pageSize": "100", "pageNumber": str(number)}, FIELDS), FIELDS
        )
        seen += [i["id"] for i in page.items]
    assert len(seen) == len(set(seen)) == 250


def test_page_size_limits() -> None:
    assert run_query(ITEMS, parse_query({"pageSize": "1000"}, FIELDS), FIELDS).page_size == 1000
    assert _code({"pageSize": "1001"}) == "403014"
    for bad in ("0", "-5", "abc", "1.5", "9" * 5000):
        assert _code({"pageSize": bad}) == "400007", bad


def test_page_number_limits() -> None:
    for bad in ("0", "-1", "x", "4", str(10**30)):
        assert _code({"pageNumber": bad}) == "400006", bad
    empty = run_query([], parse_query({}, FIELDS), FIELDS)
    assert (empty.total, empty.items, empty.page_number) == (0, [], 1)


@pytest.mark.parametrize(
    ("expression", "keep"),
    [
        ("name:eq:Item 007", lambda i: i["name"] == "Item 007"),
        ("size:gt:200", lambda i: i["size"] > 200),
        ("size:gte:200", lambda i: i["size"] >= 200),
        ("size:lt:10", lambda i: i["size"] < 10),
        ("size:lte:10", lambda i: i["size"] <= 10),
        ("size:in:[1,2,3,999]", lambda i: i["size"] in (1, 2, 3)),
        ("name:in:[Item 001,Item 002]", lambda i: i["name"] in ("Item 001", "Item 002")),
        ("name:has:00", lambda i: "00" in i["name"]),
        ("name:cieq:ITEM 042", lambda i: i["name"] == "Item 042"),
        ("hasExtracts:eq:true", lambda i: i["hasExtracts"]),
        ("tags:eq:t1", lambda i: i["size"] % 3 == 1),
        ("tags:in:[t0,t2]", lambda i: i["size"] % 3 != 1),
        ("createdAt:gte:2024-01-28T00:00:00Z", lambda i: i["createdAt"] >= "2024-01-28"),
        ("size:gt:100,size:lte:110", lambda i: 100 < i["size"] <= 110),
        ("name:eq:nothing", lambda i: False),
    ],
)
def test_filter_operators(expression: str, keep: Any) -> None:
    page = run_query(ITEMS, parse_query({"filter": expression, "pageSize": "1000"}, FIELDS), FIELDS)
    expected = [i["id"] for i in ITEMS if keep(i)]
    assert [i["id"] for i in page.items] == expected
    assert page.total == len(expected)


def test_filter_value_may_hold_colons_and_commas_in_lists() -> None:
    items = [_item(1, name="a:b"), _item(2, name="c,d")]
    assert run_query(items, parse_query({"filter": "name:eq:a:b"}, FIELDS), FIELDS).total == 1
    query = parse_query({"filter": "name:in:[c,d,a:b]"}, FIELDS)
    assert query.conditions[0].value == ("c", "d", "a:b")


@pytest.mark.parametrize(
    "expression", ["name", "name:eq", "nope:eq:x", "name:like:x", "size:in:1,2"]
)
def test_bad_filters_are_400(expression: str) -> None:
    assert _code({"filter": expression}) == "400065"


def test_sort_by_one_and_several_keys() -> None:
    assert _names({"sort": "size:desc", "pageSize": "2"}) == ["Item 250", "Item 249"]
    assert _names({"sort": "name", "pageSize": "1"}) == ["Item 001"]
    two = _names({"sort": "hasExtracts:desc,size:asc", "pageSize": "2"})
    assert two == ["Item 002", "Item 004"]
    assert _code({"sort": "size:sideways"}) == "400065"
    assert _code({"sort": "unknown:asc"}) == "400065"


def test_run_query_leaves_items_alone() -> None:
    before = [dict(i) for i in ITEMS]
    run_query(ITEMS, parse_query({"sort": "size:desc", "filter": "size:gt:3"}, FIELDS), FIELDS)
    assert before == ITEMS


def test_field_selection() -> None:
    assert field_selection(("_default_",), "workbook") is None
    assert field_selection(("_all_",), "workbook") is None
    assert field_selection(("_default_", "workbook.sheetCount"), "workbook") is None
    assert field_selection(("name",), "workbook") == {"id": None, "name": None}
    chosen = field_selection(("workbook.name", "project.name", "project.id"), "workbook")
    assert chosen == {"id": None, "name": None, "project": {"name", "id"}}
    # TSC's QuerySet.fields() bug sends the letters of "_default_": unknown names are ignored
    letters = field_selection((*"_default", "workbook.id"), "workbook")
    assert letters == dict.fromkeys(["id", *"_default"])


def test_select_fields_keeps_internal_keys_and_cuts_children() -> None:
    item = {"id": "1", "name": "n", "size": 3, "project": {"id": "p", "name": "P"}, "_views": ["v"]}
    cut = select_fields(item, {"id": None, "project": {"name"}})
    assert cut == {"id": "1", "project": {"name": "P"}, "_views": ["v"]}
    assert select_fields(item, None) == item
    assert select_fields(item, None) is not item


def test_every_kind_declares_filterable_id_and_its_404_code() -> None:
    for kind in KINDS.values():
        assert "id" in kind.fields
        assert kind.not_found_code.startswith("404")
