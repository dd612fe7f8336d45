"""The Metadata API (`POST /api/metadata/graphql`): one query, and a cursor pager over a
connection's `first`/`after`/`pageInfo` (shared by both clients; the pager's bookkeeping is pure).

- Same token and sessions as REST: a 401 (JSON body) renews the session and replays.
- `RATE_EXCEEDED` (a 429, or an error in a 200 answer) backs off: `Retry-After` when given,
  else exponential from 2 s, at most `RATE_ATTEMPTS` tries.
- Errors raise `GraphQLError` with Tableau's messages; warnings (`severity: WARNING`) do not.
- The node limit: Tableau cuts an answer that holds too many objects and says so with a
  `NODE_LIMIT_EXCEEDED` warning. The pager then asks for the same page again at half the page
  size (down to 1), so nothing is lost; a one-node page still cut, and a total that does not
  match `totalCount`, are reported with `MetadataTruncated` warnings.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tabsession._effects import Flow, sleep
from tabsession._responses import parse_payload
from tabsession.errors import ConfigurationError, GraphQLError, RateLimited, TableauError
from tabsession.transport.retry import backoff_delay

if TYPE_CHECKING:
    from tabsession._core import ClientCore

__all__ = [
    "METADATA_PATH",
    "RATE_ATTEMPTS",
    "CursorPager",
    "GraphQLAnswer",
    "MetadataTruncated",
    "graphql_flow",
]

METADATA_PATH = "/api/metadata/graphql"
RATE_ATTEMPTS = 6
"""Tries of one query under RATE_EXCEEDED (waits 2, 4, 8, 16, 32 s without Retry-After)."""
NODE_LIMIT = "NODE_LIMIT_EXCEEDED"
RATE_EXCEEDED = "RATE_EXCEEDED"


class MetadataTruncated(UserWarning):
    """The Metadata API returned fewer objects than it has (its node limit, or a total that
    moved while paging)."""


@dataclass(frozen=True)
class GraphQLAnswer:
    data: Any
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return any(_code(w) == NODE_LIMIT for w in self.warnings)


def _code(error: Any) -> str:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code is not None else ""


def _is_warning(error: Any) -> bool:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    severity = extensions.get("severity") if isinstance(extensions, dict) else None
    return str(severity).upper() == "WARNING" or _code(error) == NODE_LIMIT


def _messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e.get('message', '?')}" + (f" [{_code(e)}]" if _code(e) else "") for e in errors
    )


def graphql_flow(
    core: ClientCore, query: str, variables: Mapping[str, Any] | None = None
) -> Flow[GraphQLAnswer]:
    """Run one query; its `data` and warnings, or `GraphQLError`."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigurationError("query must be a non-empty GraphQL string")
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = dict(variables)
    for attempt in range(1, RATE_ATTEMPTS + 1):
        url = core.sender.server + METADATA_PATH  # after a pod redirect, the pod's
        try:
            response = yield from core.request_flow("POST", url, json_body=body)
        except RateLimited as exc:
            if attempt == RATE_ATTEMPTS:
                raise
            yield from _back_off(core, attempt, exc.retry_after)
            continue
        payload = parse_payload(response.content, response.headers.get("content-type", ""))
        if not isinstance(payload, dict):
            raise TableauError("the Metadata API answered without a JSON object", url=url)
        errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)]
        if any(_code(e) == RATE_EXCEEDED for e in errors) and attempt < RATE_ATTEMPTS:
            yield from _back_off(core, attempt, None)
            continue
        fatal = [e for e in errors if not _is_warning(e)]
        if fatal:
            raise GraphQLError(
                f"the Metadata API refused the query: {_messages(fatal)}",
                errors=fatal,
                data=payload.get("data"),
                method="POST",
                url=url,
            )
        return GraphQLAnswer(payload.get("data"), [e for e in errors if _is_warning(e)])
    raise AssertionError("unreachable")  # pragma: no cover


def _back_off(core: ClientCore, attempt: int, asked: float | None) -> Flow[None]:
    seconds = (
        asked
        if asked is not None
        else backoff_delay(
            attempt, initial=2.0, maximum=60.0, multiplier=2.0, jitter=0.0, random_fraction=0.0
        )
    )
    core.events.emit("wait", f"Metadata API rate limit: waiting {seconds:.1f}s", seconds=seconds)
    yield from sleep(seconds)


class CursorPager:
    """The bookkeeping of `graphql_paginate` (pure): which variables the next page takes, and
    what an answer's page holds.

    `connection` names the connection field in `data` (a dotted path for a nested one, e.g.
    `"projectsConnection"` or `"site.workbooksConnection"`). The query must take `$first: Int`
    and `$after: String` and pass them to that connection, which must select `nodes` and
    `pageInfo { hasNextPage endCursor }` (and `totalCount` to have the total checked).
    """

    def __init__(
        self, connection: str, page_size: int, variables: Mapping[str, Any] | None = None
    ) -> None:
        if not connection:
            raise ConfigurationError("connection must name the connection field")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError("page_size must be a positive integer")
        self.path = connection.split(".")
        self.page_size = page_size
        self.base = dict(variables or {})
        self.after: str | None = None
        self.done = False
        self.seen = 0
        self.total: int | None = None
        self.lost = 0

    def variables(self) -> dict[str, Any]:
        return {**self.base, "first": self.page_size, "after": self.after}

    def _connection(self, data: Any) -> dict[str, Any]:
        node = data
        for name in self.path:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise TableauError(
                f"the answer has no connection {'.'.join(self.path)!r} (check `connection=`)"
            )
        return node

    def take(self, answer: GraphQLAnswer) -> list[Any] | None:
        """The page's nodes, or None when the page was cut by the node limit and should be
        asked again (at a smaller page size)."""
        if answer.truncated and self.page_size > 1:
            self.page_size = max(1, self.page_size // 2)
            return None
        connection = self._connection(answer.data)
        nodes = connection.get("nodes")
        if not isinstance(nodes, list):
            raise TableauError("the connection's answer has no `nodes` list (select it)")
        info = connection.get("pageInfo")
        if not isinstance(info, dict) or "hasNextPage" not in info:
            raise TableauError(
                "the connection's answer has no `pageInfo { hasNextPage endCursor }` (select it)"
            )
        total = connection.get("totalCount")
        if isinstance(total, int) and self.total is None:
            self.total = total
        if answer.truncated:
            self.lost += 1
            warnings.warn(
                "the Metadata API cut a one-node page at its node limit: the nodes' nested "
                "lists are incomplete; select fewer nested fields",
                MetadataTruncated,
                stacklevel=4,
            )
        self.seen += len(nodes)
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor or not nodes:
            self.done = True
            self._check_total()
        else:
            self.after = str(cursor)
        return nodes

    def _check_total(self) -> None:
        if self.total is not None and self.seen < self.total:
            warnings.warn(
                f"the Metadata API announced {self.total} nodes but {self.seen} came "
                "(content changed while paging, or results were cut)",
                MetadataTruncated,
                stacklevel=5,
            )
