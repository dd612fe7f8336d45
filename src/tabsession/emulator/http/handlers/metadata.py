"""`POST /api/metadata/graphql`: the Metadata API's HTTP side (the GraphQL side is
`state/graphql.py`).

Same token as the REST API (`X-Tableau-Auth`), same sessions: a missing token is 401 with code
401000, an unknown, ended or expired one 401 with `expired_code` (401002 unless configured),
both in the Metadata API's JSON error shape, `{"errors": [{"message": ..., "extensions":
{"code": ...}}]}`. The query runs on the session's site. A body that is not a JSON object with a
string `query` is 400 (code BAD_REQUEST); any verb but POST is 405 (METHOD_NOT_ALLOWED).

Faults: a `status` rule matching the path `metadata/graphql` answers in the same JSON shape;
status 429 carries code RATE_EXCEEDED (with the rule's Retry-After), as Tableau's rate limit
does. `kill_session` and latency rules apply as on REST calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from tabsession.emulator.faults import FaultRule
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.graphql import graphql_error, run_query
from tabsession.emulator.state.world import EmulatorState

__all__ = ["FAULT_PATH", "MetadataReply", "fault_reply", "handle"]

FAULT_PATH = "metadata/graphql"
"""The path fault rules see for Metadata API requests (REST rules see the path after
`/api/{version}/`)."""


@dataclass(frozen=True)
class MetadataReply:
    status: int
    body: dict[str, Any]
    code: str | None = None
    """The error code counted in stats (None for an answer)."""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def _refusal(status: int, message: str, code: str) -> MetadataReply:
    return MetadataReply(status, {"errors": [graphql_error(message, code)]}, code)


def _request(raw: bytes) -> tuple[str, dict[str, Any] | None, str | None] | MetadataReply:
    """(query, variables, operationName) from the body, or the 400 that says what is wrong."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        return _refusal(400, "The request body is not valid JSON.", "BAD_REQUEST")
    if not isinstance(data, dict):
        return _refusal(400, "The request body must be a JSON object.", "BAD_REQUEST")
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _refusal(400, "The request body needs a 'query' string.", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        return _refusal(400, "'variables' must be a JSON object.", "BAD_REQUEST")
    if name is not None and not isinstance(name, str):
        return _refusal(400, "'operationName' must be a string.", "BAD_REQUEST")
    return query, variables, name


def handle(state: EmulatorState, method: str, token: str | None, raw: bytes) -> MetadataReply:
    """Answer one Metadata API request (runs on a handler thread)."""
    if method != "POST":
        reply = _refusal(405, f"{method} is not allowed here; use POST.", "METHOD_NOT_ALLOWED")
        return MetadataReply(reply.status, reply.body, reply.code, {"Allow": "POST"})
    try:
        session = state.auth.authenticate(token)
    except ApiError as error:
        return _refusal(error.status, error.detail, error.code)
    site = state.site_by_id(session.site_id)
    if site is None:  # the site of a live session always exists; a reset ends sessions too
        return _refusal(401, "The session's site no longer exists.", state.config.expired_code)
    parsed = _request(raw)
    if isinstance(parsed, MetadataReply):
        return parsed
    query, variables, name = parsed
    answer = run_query(site, query, variables, name, node_limit=state.config.metadata_node_limit)
    return MetadataReply(answer.status, answer.body)


def fault_reply(rule: FaultRule) -> MetadataReply:
    """What a `status` fault rule makes a Metadata API request answer."""
    status = rule.status
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if status == 429:
        message, code = "Rate limit exceeded. Retry later.", "RATE_EXCEEDED"
    else:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        message = f"{phrase} (emulated fault)."
        code = phrase.upper().replace(" ", "_").replace("-", "_")
    return MetadataReply(status, {"errors": [graphql_error(message, code)]}, code, headers)
