"""The part of Tableau's Metadata API schema the emulator serves, as GraphQL SDL.

Names follow Tableau's published schema: `workbooks` / `workbooksConnection`,
`publishedDatasources` / `publishedDatasourcesConnection`, `databases`, `databaseTables`, their
`filter` inputs (`name`, `luid`, `idWithin`, ...), `first` / `after` / `offset` on connections, and
`nodes`, `edges`, `pageInfo {hasNextPage hasPreviousPage startCursor endCursor}` and `totalCount`.
Lineage: a workbook's `upstreamDatasources`, `upstreamTables`, `upstreamDatabases`; a data
source's `upstreamTables`, `upstreamDatabases` and `downstreamWorkbooks`; a table's `database`.

`projects` / `projectsConnection` are the emulator's own addition (Tableau's schema reaches
projects only through `projectName` / `projectLuid`): they let tests ask "what is in project X"
in one query. A query naming anything else fails validation, as on Tableau.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import GraphQLSchema, build_schema

__all__ = ["SDL", "schema"]

_CONNECTION_ARGS = "filter: {filter}, first: Int, after: String, offset: Int"

_TYPES = {
    # GraphQL type → (plural root field, filter input)
    "Workbook": ("workbooks", "WorkbookFilter"),
    "PublishedDatasource": ("publishedDatasources", "PublishedDatasourceFilter"),
    "Database": ("databases", "DatabaseFilter"),
    "DatabaseTable": ("databaseTables", "DatabaseTableFilter"),
    "Project": ("projects", "ProjectFilter"),
}


def _connections() -> str:
    parts = []
    for name in _TYPES:
        parts.append(
            f"type {name}Edge {{ node: {name}! cursor: String! }}\n"
            f"type {name}sConnection {{ nodes: [{name}!]! edges: [{name}Edge!]! "
            f"pageInfo: PageInfo! totalCount: Int! }}\n"
        )
    return "".join(parts)


def _roots() -> str:
    fields = []
    for name, (plural, filter_input) in _TYPES.items():
        fields.append(f"  {plural}(filter: {filter_input}): [{name}!]!")
        args = _CONNECTION_ARGS.format(filter=filter_input)
        fields.append(f"  {plural}Connection({args}): {name}sConnection!")
    return "type Query {\n" + "\n".join(fields) + "\n}\n"


SDL = (
    """
scalar DateTime

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type TableauSite { id: ID! luid: String! name: String uri: String }
type TableauUser { id: ID! luid: String! name: String username: String email: String }
type Tag { id: ID! name: String }

type Sheet {
  id: ID!
  luid: String!
  name: String
  path: String
  createdAt: DateTime
  updatedAt: DateTime
}

type Workbook {
  id: ID!
  luid: String!
  name: String
  description: String
  uri: String
  projectName: String
  projectLuid: String
  containerType: String!
  containerName: String
  owner: TableauUser!
  site: TableauSite!
  tags: [Tag!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  sheets: [Sheet!]!
  upstreamDatasources: [PublishedDatasource!]!
  upstreamTables: [DatabaseTable!]!
  upstreamDatabases: [Database!]!
}

type PublishedDatasource {
  id: ID!
  luid: String!
  name: String
  description: String
  uri: String
  projectName: String
  projectLuid: String
  containerType: String!
  containerName: String
  isCertified: Boolean
  hasExtracts: Boolean
  owner: TableauUser!
  site: TableauSite!
  tags: [Tag!]!
  createdAt: DateTime
  updatedAt: DateTime
  upstreamTables: [DatabaseTable!]!
  upstreamDatabases: [Database!]!
  downstreamWorkbooks: [Workbook!]!
}

type Database {
  id: ID!
  luid: String!
  name: String
  connectionType: String
  isEmbedded: Boolean
  tables: [DatabaseTable!]!
  downstreamDatasources: [PublishedDatasource!]!
  downstreamWorkbooks: [Workbook!]!
}

type DatabaseTable {
  id: ID!
  luid: String!
  name: String
  schema: String
  fullName: String
  connectionType: String
  isEmbedded: Boolean
  database: Database
  downstreamDatasources: [PublishedDatasource!]!
  downstreamWorkbooks: [Workbook!]!
}

type Project {
  id: ID!
  luid: String!
  name: String
  description: String
  parentProjectLuid: String
  owner: TableauUser!
  workbooks: [Workbook!]!
  publishedDatasources: [PublishedDatasource!]!
}

input WorkbookFilter {
  id: ID
  luid: String
  name: String
  projectName: String
  projectLuid: String
  idWithin: [ID]
  luidWithin: [String]
  nameWithin: [String]
}

input PublishedDatasourceFilter {
  id: ID
  luid: String
  name: String
  projectName: String
  projectLuid: String
  isCertified: Boolean
  idWithin: [ID]
  luidWithin: [String]
  nameWithin: [String]
}

input DatabaseFilter {
  id: ID
  luid: String
  name: String
  connectionType: String
  idWithin: [ID]
  nameWithin: [String]
}

input DatabaseTableFilter {
  id: ID
  luid: String
  name: String
  schema: String
  connectionType: String
  idWithin: [ID]
  nameWithin: [String]
}

input ProjectFilter {
  id: ID
  luid: String
  name: String
  idWithin: [ID]
  luidWithin: [String]
  nameWithin: [String]
}
"""
    + _connections()
    + _roots()
)


@lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    """The schema, built once."""
    return build_schema(SDL)
