"""`ItemTable` (items built on demand, kept once handed out live) and the counters `SiteContent`
keeps through its `on_change`, whoever writes to the table."""

from __future__ import annotations

from typing import Any

from tabsession.clock import ManualClock
from tabsession.emulator.config import Account
from tabsession.emulator.state.content import SiteContent
from tabsession.emulator.state.table import ItemTable


def _table(n: int, changes: list[tuple[Any, Any]] | None = None) -> tuple[ItemTable, list[int]]:
    built: list[int] = []

    def make(pos: int) -> dict[str, Any]:
        built.append(pos)
        return {"id": f"id{pos}", "name": f"item {pos}", "nested": {"n": pos}}

    hook = None if changes is None else (lambda old, new: changes.append((old, new)))
    return ItemTable([f"id{i}" for i in range(n)], make, hook), built


def test_reads_build_items_without_keeping_them() -> None:
    table, built = _table(1000)
    page = table.page(500, 503)
    assert [i["name"] for i in page] == ["item 500", "item 501", "item 502"]
    assert built == [500, 501, 502]
    page[0]["nested"]["n"] = -1  # a snapshot is the caller's
    assert table.peek("id500") == {"id": "id500", "name": "item 500", "nested": {"n": 500}}
    assert table.live_count == 0
    assert len(table) == 1000
    assert "id999" in table
    assert "id1000" not in table


def test_a_live_item_is_kept_and_changes_persist() -> None:
    table, _ = _table(10)
    version = table.version
    table["id3"]["name"] = "renamed"
    assert table.version > version
    assert table.live_count == 1
    assert table.peek("id3") is not None
    assert table.peek("id3")["name"] == "renamed"  # type: ignore[index]
    snapshot = table.snapshot("id3")
    assert snapshot == table["id3"]
    assert snapshot is not table["id3"]


def test_store_replace_delete_keep_the_order_and_are_heard() -> None:
    changes: list[tuple[Any, Any]] = []
    table, _ = _table(5, changes)
    table["new"] = {"id": "new", "name": "created"}
    table["id1"] = {"id": "id1", "name": "replaced"}
    del table["id0"]
    assert table.pop("id2")["name"] == "item 2"
    assert table.ids() == ["id1", "id3", "id4", "new"]
    assert table.delete_many({"id3", "nope"}) == 1
    assert table.ids() == ["id1", "id4", "new"]
    described = [
        (None if old is None else old["name"], None if new is None else new["name"])
        for old, new in changes
    ]
    assert described == [
        (None, "created"),
        ("item 1", "replaced"),
        ("item 0", None),
        ("item 2", None),
        ("item 3", None),
    ]


def _content() -> SiteContent:
    return SiteContent("site", "", 100, [Account("admin", "admin")], ManualClock())


def test_counters_follow_direct_writes_to_the_tables() -> None:
    """Code that writes to the tables itself (as publish and delete do) keeps the counts."""
    content = _content()
    projects = content.scan("projects")
    first, second = projects[0]["id"], projects[1]["id"]
    before = content.project_counts(first)
    workbooks = content._items["workbooks"]
    workbook = dict(workbooks.peek(workbooks.ids()[0]) or {})
    assert workbook["project"]["id"] == first
    workbooks["published"] = {**workbook, "id": "published"}
    assert content.project_counts(first)["workbookCount"] == before["workbookCount"] + 1
    workbooks["published"] = {**workbook, "id": "published", "project": {"id": second}}
    assert content.project_counts(first) == before
    del workbooks[workbook["id"]]
    assert content.project_counts(first)["workbookCount"] == before["workbookCount"] - 1
    total = sum(content.project_counts(p["id"])["workbookCount"] for p in projects)
    assert total == len(workbooks) == 100


def test_a_project_whose_counts_change_gets_a_new_revision() -> None:
    content = _content()
    project = content.scan("projects")[0]
    content.create_project(
        {"name": "Child", "parentProjectId": project["id"]}, content.ids("users")[0]
    )
    again = content.get("projects", project["id"])
    assert again["_rev"] != project["_rev"]
    assert again["contentsCounts"]["projectCount"] == 1


def test_a_filtered_scan_holds_no_lock_while_it_builds_items() -> None:
    import threading

    from tabsession.emulator.state.kinds import KINDS
    from tabsession.emulator.state.query import parse_query

    content = _content()
    table = content._items["workbooks"]
    make = table._make
    assert make is not None
    reached, release = threading.Event(), threading.Event()

    def slow_make(pos: int) -> dict[str, Any]:
        if pos == 50 and not release.is_set():
            reached.set()
            release.wait(30)
        return make(pos)

    table._make = slow_make
    fields = KINDS["workbooks"].fields
    results: list[int] = []
    scanner = threading.Thread(
        target=lambda: results.append(
            content.list_page("workbooks", parse_query({"filter": "size:gt:5"}, fields)).total
        )
    )
    scanner.start()
    try:
        assert reached.wait(30)
        # the scan is stuck half-way: the site still answers pages and takes changes
        page = content.list_page("workbooks", parse_query({"pageSize": "10"}, fields))
        assert len(page.items) == 10
        assert results == []
        content.create_project({"name": "meanwhile"}, content.ids("users")[0])
    finally:
        release.set()
        scanner.join(30)
    assert results == [sum(1 for i in range(100) if 1 + i % 9 > 5)]
