"""Stored items → the shapes Tableau answers with (ts-api 3.29 and its captured answers).

The state keeps items as it finds convenient; this module is the one place that knows what an
answer may carry: attributes the schema leaves out are dropped (an empty `parentProjectId` on a
top-level project, the pre-3.x `askData` child of data sources), names are Tableau's
(`datasourceCount`), and attributes real answers carry are added (a project's `createdAt` and
`updatedAt`, a workbook's `lastPublishedAt` and `shareDescription`). Functions return new
dicts and never change the item they are given, which may be the state's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["shape", "view_ref", "workbook_with_views"]

Item = dict[str, Any]


def _project(item: Mapping[str, Any], complete: bool) -> Item:
    out = dict(item)
    for stamp in ("createdAt", "updatedAt"):  # kept internal by the state (for filtering)
        if complete and out.get(stamp) is None and item.get("_" + stamp) is not None:
            out[stamp] = item["_" + stamp]
    if not out.get("parentProjectId"):
        out.pop("parentProjectId", None)  # real answers leave it out at the top level
    counts = out.get("contentsCounts")
    if isinstance(counts, Mapping) and "dataSourceCount" in counts:
        fixed = {k: v for k, v in counts.items() if k != "dataSourceCount"}
        fixed["datasourceCount"] = counts["dataSourceCount"]
        out["contentsCounts"] = fixed
    return out


def _datasource(item: Mapping[str, Any], complete: bool) -> Item:
    return {k: v for k, v in item.items() if k != "askData"}


def _workbook(item: Mapping[str, Any], complete: bool) -> Item:
    """Real answers also carry when the workbook was last published and its share text."""
    out = dict(item)
    if not complete:
        return out
    if "name" in out:
        out.setdefault("shareDescription", out["name"])
    if "updatedAt" in out:
        out.setdefault("lastPublishedAt", out["updatedAt"])
    return out


_SHAPERS: dict[str, Callable[[Mapping[str, Any], bool], Item]] = {
    "projects": _project,
    "datasources": _datasource,
    "workbooks": _workbook,
}


def shape(kind: str, item: Mapping[str, Any], *, complete: bool = True) -> Mapping[str, Any]:
    """`item` as an answer shows it (the same object when nothing needs changing).
    `complete=False` (a `fields=` selection) only drops and renames, it adds nothing."""
    shaper = _SHAPERS.get(kind)
    return item if shaper is None else shaper(item, complete)


_VIEW_REF_KEYS = ("id", "name", "contentUrl", "viewUrlName", "sheetType", "createdAt", "updatedAt")


def view_ref(view: Mapping[str, Any]) -> Item:
    """A view as a workbook's `<views>` lists it: its own attributes, no children."""
    return {key: view[key] for key in _VIEW_REF_KEYS if view.get(key) is not None}


def workbook_with_views(workbook: Mapping[str, Any], views: Sequence[Mapping[str, Any]]) -> Item:
    """`GET workbooks/{id}` and publish answers carry the workbook's views."""
    out = dict(workbook)
    out["views"] = [view_ref(v) for v in views]
    return out
