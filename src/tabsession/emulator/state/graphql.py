"""The Metadata API (`POST /api/metadata/graphql`) over one site's content: a GraphQL query in,
Tableau's JSON answer out (`{"data": ..., "errors": [...]}`). Knows nothing of HTTP.

Queries are parsed, validated and executed by graphql-core against `graphql_schema.SDL`. The
metadata objects are views of the REST content, built when a query reaches them:

- a workbook, data source or project has its REST LUID as `luid`, and an `id` of its own
  (Tableau's metadata ids differ from LUIDs);
- lineage is deterministic: each data source reads one table, named after it, in a database
  named after its connection type (`postgres` → `analytics`, ...); each workbook uses one data
  source, chosen by its LUID, and so its table and database.

Connections: `first` (default 100), `after` (a cursor from `pageInfo.endCursor` or an edge) or
`offset` (not both: INVALID_ARGUMENT, as on Tableau), `totalCount`, `pageInfo`, `nodes`,
`edges`. Cursors are opaque, per type and per site; a foreign or garbled one is INVALID_ARGUMENT.

Node limit: an answer holds at most `node_limit` objects. Beyond it the lists are cut where the
limit is reached (the answer is still valid GraphQL) and `errors` carries a warning:
`{"message": "Showing partial results. ...", "extensions": {"severity": "WARNING", "code":
"NODE_LIMIT_EXCEEDED", "properties": {"nodeLimit": N}}}`. Paging with `first` keeps under it.

Errors keep Tableau's JSON shape, each with `extensions.code`: INVALID_SYNTAX (the query does
not parse), VALIDATION_ERROR (unknown field or type, wrong argument), INVALID_ARGUMENT (cursor,
pagination), INTERNAL_SERVER_ERROR (an emulator bug, logged).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError, execute_sync, parse, validate

from tabsession.emulator.state.content import SiteContent
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.graphql_schema import schema
from tabsession.emulator.state.seed import stable_id

__all__ = ["DEFAULT_FIRST", "MetadataAnswer", "graphql_error", "run_query"]

_log = logging.getLogger("tabsession.emulator")
DEFAULT_FIRST = 100
Node = dict[str, Any]
_DATABASES = {
    "postgres": ("analytics", "public"),
    "snowflake": ("WAREHOUSE", "PUBLIC"),
    "excel-direct": ("sales.xlsx", ""),
    "hyper": ("extract.hyper", "Extract"),
}


class MetadataSite(Protocol):
    id: str
    name: str
    content_url: str
    content: SiteContent


@dataclass(frozen=True)
class MetadataAnswer:
    status: int
    body: dict[str, Any]


def graphql_error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """One entry of `errors`, in Tableau's shape."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_ARGUMENT"})


class _Graph:
    """The metadata objects of one site for one query (memoised per query)."""

    def __init__(self, site: MetadataSite, node_limit: int) -> None:
        self.site = site
        self.content = site.content
        self.limit = node_limit
        self._datasource_ids: list[str] | None = None
        self._datasource_nodes: dict[str, Node] = {}
        self._users_of: dict[str, list[tuple[int, str]]] | None = None
        self._in_project: dict[str, list[Mapping[str, Any]]] | None = None
        self.site_node = {
            "id": stable_id("metadata", "site", site.id),
            "luid": site.id,
            "name": site.name,
            "uri": f"sites/{site.content_url or 'default'}",
        }

    # -- links ---------------------------------------------------------------------------------

    def datasource_ids(self) -> list[str]:
        if self._datasource_ids is None:
            self._datasource_ids = self.content.ids("datasources")
        return self._datasource_ids

    def linked_datasource(self, workbook_luid: str) -> str | None:
        ids = self.datasource_ids()
        if not ids:
            return None
        return ids[zlib.crc32(workbook_luid.encode()) % len(ids)]

    def datasource_by_luid(self, luid: str) -> Node | None:
        node = self._datasource_nodes.get(luid)
        if node is None:
            try:
                item = self.content.get("datasources", luid)
            except ApiError:  # deleted meanwhile: no lineage
                return None
            node = self.datasource(item)
        return node

    # -- nodes ---------------------------------------------------------------------------------

    def _user(self, ref: Mapping[str, Any]) -> Node:
        name = str(ref.get("name", ""))
        return {
            "id": stable_id("metadata", "user", str(ref.get("id", ""))),
            "luid": ref.get("id", ""),
            "name": name,
            "username": name,
            "email": f"{name}@example.com",
        }

    def _placed(self, kind: str, item: Mapping[str, Any]) -> Node:
        project = item.get("project") or {}
        return {
            "id": stable_id("metadata", kind, item["id"]),
            "luid": item["id"],
            "name": item.get("name"),
            "description": item.get("description", ""),
            "uri": f"sites/{self.site.content_url or 'default'}/{kind}s/{item.get('contentUrl')}",
            "projectName": project.get("name"),
            "projectLuid": project.get("id"),
            "containerType": "Project",
            "containerName": project.get("name"),
            "owner": self._user(item.get("owner") or {}),
            "site": self.site_node,
            "tags": [
                {"id": stable_id("metadata", "tag", t["label"]), "name": t["label"]}
                for t in item.get("tags") or []
            ],
            "createdAt": item.get("createdAt"),
            "updatedAt": item.get("updatedAt"),
        }

    def workbook(self, item: Mapping[str, Any]) -> Node:
        node = self._placed("workbook", item)
        luid = item["id"]

        def upstream() -> list[Node]:
            linked = self.linked_datasource(luid)
            found = None if linked is None else self.datasource_by_luid(linked)
            return [] if found is None else [found]

        node["sheets"] = lambda info: [
            {"id": stable_id("metadata", "sheet", v["id"]), "luid": v["id"], "name": v["name"],
             "path": v.get("contentUrl"), "createdAt": v.get("createdAt"),
             "updatedAt": v.get("updatedAt")}
            for v in self.content.workbook_views(luid)
        ]  # fmt: skip
        node["upstreamDatasources"] = lambda info: upstream()
        node["upstreamTables"] = lambda info: [d["_table"] for d in upstream()]
        node["upstreamDatabases"] = lambda info: [d["_table"]["database"] for d in upstream()]
        return node

    def _database(self, connection_type: str) -> Node:
        name, _ = _DATABASES.get(connection_type, (connection_type, ""))
        return {
            "id": stable_id("metadata", "database", connection_type),
            "luid": stable_id("database", self.site.id, connection_type),
            "name": name,
            "connectionType": connection_type,
            "isEmbedded": False,
            "tables": lambda info: [
                t for t in self.tables() if t["connectionType"] == connection_type
            ],
            "downstreamDatasources": lambda info: [
                d for d in self.datasources() if d["_type"] == connection_type
            ],
            "downstreamWorkbooks": lambda info: self._workbooks_using(
                {d["luid"] for d in self.datasources() if d["_type"] == connection_type}
            ),
        }  # fmt: skip

    def datasource(self, item: Mapping[str, Any]) -> Node:
        node = self._placed("datasource", item)
        luid = item["id"]
        connection_type = str(item.get("type") or "hyper")
        _, schema_name = _DATABASES.get(connection_type, (connection_type, ""))
        table_name = "".join(c if c.isalnum() else "_" for c in str(item.get("name", ""))).lower()
        full = f"[{schema_name}].[{table_name}]" if schema_name else f"[{table_name}]"
        table: Node = {
            "id": stable_id("metadata", "table", luid),
            "luid": stable_id("table", luid),
            "name": table_name,
            "schema": schema_name,
            "fullName": full,
            "connectionType": connection_type,
            "isEmbedded": False,
            "database": self._database(connection_type),
            "downstreamDatasources": lambda info: [node],
            "downstreamWorkbooks": lambda info: self._workbooks_using({luid}),
        }
        node.update(
            isCertified=bool(item.get("isCertified")),
            hasExtracts=bool(item.get("hasExtracts")),
            upstreamTables=lambda info: [table],
            upstreamDatabases=lambda info: [table["database"]],
            downstreamWorkbooks=lambda info: self._workbooks_using({luid}),
            _table=table,
            _type=connection_type,
        )
        self._datasource_nodes[luid] = node
        return node

    def project(self, item: Mapping[str, Any]) -> Node:
        luid = item["id"]
        return {
            "id": stable_id("metadata", "project", luid),
            "luid": luid,
            "name": item.get("name"),
            "description": item.get("description", ""),
            "parentProjectLuid": item.get("parentProjectId") or None,
            "owner": self._user(item.get("owner") or {}),
            "workbooks": lambda info: self.workbooks_in(luid),
            "publishedDatasources": lambda info: [
                d for d in self.datasources() if d["projectLuid"] == luid
            ],
        }  # fmt: skip

    # -- whole collections -----------------------------------------------------------------------

    def datasources(self) -> list[Node]:
        return [self.datasource(d) for d in self.content.scan("datasources")]

    def tables(self) -> list[Node]:
        return [d["_table"] for d in self.datasources()]

    def databases(self) -> list[Node]:
        types = sorted({d["_type"] for d in self.datasources()})
        return [self._database(t) for t in types]

    def _workbooks_using(self, datasource_luids: set[str]) -> list[Node]:
        """Workbooks whose data source is one of these, in listing order. The links depend only
        on ids, so finding them costs a pass over the workbook ids, not the workbooks."""
        if self._users_of is None:
            self._users_of = {}
            for pos, workbook_id in enumerate(self.content.ids("workbooks")):
                linked = self.linked_datasource(workbook_id)
                if linked is not None:
                    self._users_of.setdefault(linked, []).append((pos, workbook_id))
        found = sorted(entry for luid in datasource_luids for entry in self._users_of.get(luid, ()))
        nodes = []
        for _, workbook_id in found:
            try:
                nodes.append(self.workbook(self.content.get("workbooks", workbook_id)))
            except ApiError:  # deleted meanwhile
                continue
        return nodes

    def workbooks_in(self, project_luid: str) -> list[Node]:
        """Workbooks of a project (one scan per query, then a lookup)."""
        if self._in_project is None:
            self._in_project = {}
            for w in self.content.scan("workbooks"):
                project = str((w.get("project") or {}).get("id", ""))
                self._in_project.setdefault(project, []).append(w)
        return [self.workbook(w) for w in self._in_project.get(project_luid, ())]


# -- roots: filters, lists and connections ---------------------------------------------------


def _matches(node: Node, wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        if value is None:
            continue
        if key.endswith("Within"):
            if node.get(key[: -len("Within")]) not in value:
                return False
        elif node.get(key) != value:
            return False
    return True


@dataclass(frozen=True)
class _Source:
    """One root collection: its GraphQL type, how to build all of it, and (for REST kinds) how
    to build only a slice of it without a filter."""

    type_name: str
    build: Callable[[], list[Node]]
    kind: str | None = None
    make: Callable[[Mapping[str, Any]], Node] | None = None


def _cursor(type_name: str, site_id: str, position: int) -> str:
    raw = json.dumps({"type": type_name, "scope": f"sites/{site_id}", "offset": position})
    return base64.b64encode(raw.encode()).decode()


def _position(cursor: str, type_name: str, site_id: str) -> int:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
    except (ValueError, binascii.Error, UnicodeError):
        raise _invalid("The query contains an invalid cursor.") from None
    if not isinstance(data, dict) or data.get("type") != type_name:
        raise _invalid(
            "The query contains an invalid cursor. Make sure to use cursors of the same type."
        )
    if data.get("scope") != f"sites/{site_id}":
        raise _invalid(
            "The query contains an invalid cursor. Make sure to use cursors that belong to the "
            "same site."
        )
    offset = data.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise _invalid("The query contains an invalid cursor.")
    return offset


class _Roots:
    """The `Query` type's fields, as graphql-core's default resolver calls them."""

    def __init__(self, graph: _Graph) -> None:
        self.graph = graph
        content = graph.content
        self.sources = {
            "workbooks": _Source(
                "Workbook", lambda: [graph.workbook(w) for w in content.scan("workbooks")],
                "workbooks", graph.workbook,
            ),
            "publishedDatasources": _Source(
                "PublishedDatasource", graph.datasources, "datasources", graph.datasource
            ),
            "projects": _Source(
                "Project", lambda: [graph.project(p) for p in content.scan("projects")],
                "projects", graph.project,
            ),
            "databases": _Source("Database", graph.databases),
            "databaseTables": _Source("DatabaseTable", graph.tables),
        }  # fmt: skip

    def root_value(self) -> dict[str, Callable[..., Any]]:
        value: dict[str, Callable[..., Any]] = {}
        for plural in self.sources:
            value[plural] = self._lister(plural)
            value[f"{plural}Connection"] = self._connector(plural)
        return value

    def _slice(
        self, source: _Source, wanted: Mapping[str, Any] | None, start: int, stop: int
    ) -> tuple[list[Node], int]:
        """Nodes start..stop-1 of the (filtered) collection, and how many it holds."""
        if not wanted and source.kind is not None and source.make is not None:
            content = self.graph.content
            total = content.count(source.kind)
            return [source.make(i) for i in content.slice(source.kind, start, stop)], total
        everything = [n for n in source.build() if _matches(n, wanted or {})]
        return everything[start:stop], len(everything)

    def _lister(self, plural: str) -> Callable[..., list[Node]]:
        source = self.sources[plural]

        def resolve(info: Any, filter: Mapping[str, Any] | None = None) -> list[Node]:
            nodes, _ = self._slice(source, filter, 0, self.graph.limit + 1)
            return nodes

        return resolve

    def _connector(self, plural: str) -> Callable[..., Node]:
        source = self.sources[plural]
        site_id = self.graph.site.id

        def resolve(
            info: Any,
            filter: Mapping[str, Any] | None = None,
            first: int | None = None,
            after: str | None = None,
            offset: int | None = None,
        ) -> Node:
            if after is not None and offset is not None:
                raise _invalid(
                    "Can't use \u201cafter\u201d and \u201coffset\u201d pagination at the same "
                    "time. Remove one of the arguments from the query."
                )
            if first is not None and first < 0:
                raise _invalid("first must not be negative.")
            if offset is not None and offset < 0:
                raise _invalid("offset must not be negative.")
            start = offset or 0
            if after is not None:
                start = _position(after, source.type_name, site_id) + 1
            size = DEFAULT_FIRST if first is None else first
            size = min(size, self.graph.limit + 1)
            nodes, total = self._slice(source, filter, start, start + size)
            cursors = [_cursor(source.type_name, site_id, start + i) for i in range(len(nodes))]
            return {
                "nodes": nodes,
                "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
                "totalCount": total,
                "pageInfo": {
                    "hasNextPage": start + len(nodes) < total,
                    "hasPreviousPage": start > 0,
                    "startCursor": cursors[0] if cursors else None,
                    "endCursor": cursors[-1] if cursors else None,
                },
            }

        return resolve


# -- the node limit --------------------------------------------------------------------------


def _cut(data: Any, limit: int) -> bool:
    """Cut the lists of `data` in place so that it holds at most `limit` objects; True if cut."""
    count = 0
    cut = False

    def walk(value: Any) -> None:
        nonlocal count, cut
        if isinstance(value, dict):
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            kept = 0
            for member in value:
                if isinstance(member, dict):
                    if count >= limit:
                        cut = True
                        break
                    count += 1
                walk(member)
                kept += 1
            del value[kept:]

    if isinstance(data, dict):
        for root in data.values():
            if isinstance(root, dict):  # a connection: its own object counts too
                count += 1
            walk(root)
    return cut


def _node_limit_warning(limit: int) -> dict[str, Any]:
    return {
        "message": (
            f"Showing partial results. The request exceeded the {limit} node limit. Use "
            "pagination, additional filtering, or both in the query to adjust results."
        ),
        "extensions": {
            "severity": "WARNING",
            "code": "NODE_LIMIT_EXCEEDED",
            "properties": {"nodeLimit": limit},
        },
    }


# -- running a query --------------------------------------------------------------------------


def _formatted(error: GraphQLError, code: str, classification: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = error.formatted  # type: ignore[assignment]
    extensions = dict(out.get("extensions") or {})
    extensions.setdefault("code", code)
    if classification is not None:
        extensions.setdefault("classification", classification)
    return {**out, "extensions": extensions}


def run_query(
    site: MetadataSite,
    query: str,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    node_limit: int,
) -> MetadataAnswer:
    """Run one GraphQL query on `site`; the answer is always 200 with `data` and/or `errors`
    (authentication and body problems are the HTTP layer's, before this)."""
    try:
        document = parse(query)
    except GraphQLError as syntax:
        return MetadataAnswer(
            200, {"errors": [_formatted(syntax, "INVALID_SYNTAX", "InvalidSyntax")]}
        )
    problems = validate(schema(), document)
    if problems:
        invalid = [_formatted(e, "VALIDATION_ERROR", "ValidationError") for e in problems]
        return MetadataAnswer(200, {"errors": invalid})
    graph = _Graph(site, node_limit)
    result = execute_sync(
        schema(),
        document,
        root_value=_Roots(graph).root_value(),
        variable_values=dict(variables or {}),
        operation_name=operation_name,
    )
    errors: list[dict[str, Any]] = []
    for error in result.errors or ():
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            _log.error("Metadata API resolver failed", exc_info=original)
            errors.append(_formatted(error, "INTERNAL_SERVER_ERROR"))
        else:
            errors.append(_formatted(error, "INVALID_ARGUMENT"))
    data = result.data
    if data is not None and _cut(data, node_limit):
        errors.append(_node_limit_warning(node_limit))
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = errors
    return MetadataAnswer(200, body)
