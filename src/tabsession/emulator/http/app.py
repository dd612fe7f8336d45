"""The emulator's ASGI application: the request pipeline for `/api/...`, plus the control plane.

Pipeline for every API request (spec §10):
faults (latency, drop, injected status) → version and route (404003, 405000) → token (401000,
401002) → site in the URI (404000, site mismatch) → handler → XML or JSON as `Accept` asks.
Every outcome, injected faults included, is counted in the emulator's stats.
"""

from __future__ import annotations

import asyncio
import logging
import re
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from tabsession.emulator import control
from tabsession.emulator.config import parse_version
from tabsession.emulator.faults import FaultDecision, FaultRule
from tabsession.emulator.http.body import read_body
from tabsession.emulator.http.call import Call, Reply, response_format
from tabsession.emulator.http.render import Format, error_body, render
from tabsession.emulator.http.routes import match_route
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.world import EmulatorState

__all__ = ["ConnectionDropped", "EmulatorApp"]

_API = re.compile(r"^/api/([^/]+)/(.*)$")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CONTENT_TYPES = {"xml": "application/xml;charset=utf-8", "json": "application/json;charset=utf-8"}


class ConnectionDropped(Exception):
    """Raised to make the server close the connection without answering (a `drop` fault)."""


class _QuietDrops(logging.Filter):
    """uvicorn logs an application error when a connection is dropped on purpose: hide those."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (info and isinstance(info[1], ConnectionDropped))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
_log = logging.getLogger("tabsession.emulator")


def _internal_error() -> ApiError:
    return ApiError(500, "500000", "Internal Server Error", "The emulator failed (see its log).")


def _error_response(error: ApiError, fmt: Format, version: str) -> tuple[Response, str]:
    body = error_body(error.code, error.summary, error.detail, fmt, version)
    return (
        Response(body, error.status, headers=error.headers, media_type=_CONTENT_TYPES[fmt]),
        error.code,
    )


def _reply_response(reply: Reply, fmt: Format, version: str) -> Response:
    if reply.stream is not None:
        return StreamingResponse(
            reply.stream, reply.status, headers=reply.headers, media_type=reply.media_type
        )
    if reply.body is not None:
        return Response(
            reply.body, reply.status, headers=reply.headers, media_type=reply.media_type
        )
    if reply.status == 204 or (not reply.children and reply.status >= 300):
        return Response(b"", reply.status, headers=reply.headers)
    body = render(reply.children, fmt, version)
    return Response(body, reply.status, headers=reply.headers, media_type=_CONTENT_TYPES[fmt])


def _fault_response(rule: FaultRule, fmt: Format, version: str) -> tuple[Response, str | None]:
    status = rule.status
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
    body_kind = rule.body
    if body_kind == "auto":
        body_kind = "html" if status in (502, 503, 504) else fmt
    if body_kind == "empty":
        return Response(b"", status, headers=headers), None
    if body_kind == "html":
        page = (
            f"<html><head><title>{status} {phrase}</title></head>"
            f"<body><h1>{status} {phrase}</h1><p>The server could not answer (emulated fault)."
            "</p></body></html>"
        )
        return Response(page.encode(), status, headers=headers, media_type="text/html"), None
    code = f"{status}000"
    detail = "Emulated fault."
    if status == 429:
        detail = "Too many requests. Please retry later."
    kind: Format = "json" if body_kind == "json" else "xml"
    body = error_body(code, phrase, detail, kind, version)
    return Response(body, status, headers=headers, media_type=_CONTENT_TYPES[kind]), code


class EmulatorApp:
    """ASGI app over one `EmulatorState`. It holds the state; handlers receive it per call."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._max_version = parse_version(state.config.api_version)  # the config never changes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path: str = scope["path"]
        if path == "/_emulator" or path.startswith("/_emulator/"):
            response = await control.handle(self.state, request)
        elif path.startswith("/api/"):
            response = await self._api(request, send)
        else:
            response, code = _error_response(
                ApiError.unknown_resource(path), response_format(request.headers.get("accept", "")),
                self.state.config.api_version,
            )  # fmt: skip
            self.state.stats.response(response.status_code, code)
        await response(scope, receive, send)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _api(self, request: Request, send: Send) -> Response:
        state = self.state
        method = request.method.upper()
        found = _API.match(request.url.path)
        version, rest = (found.group(1), found.group(2)) if found else ("", "")
        fmt = response_format(request.headers.get("accept", ""))
        version_ok = self._version_ok(version)
        render_version = version if version_ok else state.config.api_version
        signin = rest.lower().rstrip("/") == "auth/signin"
        # The whole request arrives before the server works on it: latency stands for processing
        # time, so a client that gives up (or dies) while it waits does not stop the work, as
        # on a real server (a dead client's sign-in still ends its PAT's other sessions).
        try:
            raw = await read_body(request) if method in _METHODS_WITH_BODY else b""
        except ApiError as too_large:  # 413: the body exceeds what one request may carry
            refused, refused_code = _error_response(too_large, fmt, render_version)
            state.stats.response(refused.status_code, refused_code)
            return refused
        decision = state.faults.decide(method, rest, signin=signin)
        if decision.rules_fired:
            state.stats.add("faults_fired", decision.rules_fired)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000.0)
        if decision.drop:
            state.stats.add("connections_dropped")
            await self._drop(send)
        if decision.respond is not None:
            response, code = _fault_response(decision.respond, fmt, render_version)
            state.stats.response(response.status_code, code)
            return response
        try:
            reply = self._dispatch(request, method, version, version_ok, rest, raw, fmt, decision)
            response, code = _reply_response(reply, fmt, render_version), None
        except ApiError as error:
            response, code = _error_response(error, fmt, render_version)
        except Exception:  # a bug: still answer like Tableau, and count it
            _log.exception("emulator error on %s /api/%s/%s", method, version, rest)
            state.stats.add("internal_errors")
            response, code = _error_response(_internal_error(), fmt, render_version)
        state.stats.response(response.status_code, code)
        return response

    @staticmethod
    async def _drop(send: Send) -> None:
        """Close the connection with nothing sent: uvicorn validates header values before it
        writes anything, so an invalid one makes it abort the response and close the socket."""
        try:
            await send({"type": "http.response.start", "status": 500, "headers": [(b"x", b"\n")]})
        except Exception as exc:
            raise ConnectionDropped("connection dropped by a fault rule") from exc
        raise ConnectionDropped("connection dropped by a fault rule")

    def _version_ok(self, version: str) -> bool:
        try:
            wanted = parse_version(version)
        except ValueError:
            return False
        return (2, 0) <= wanted <= self._max_version

    def _dispatch(
        self,
        request: Request,
        method: str,
        version: str,
        version_ok: bool,
        rest: str,
        raw: bytes,
        fmt: Format,
        decision: FaultDecision,
    ) -> Reply:
        state = self.state
        if not version_ok:
            raise ApiError.unknown_resource(f"/{version}/{rest}")
        found = match_route(rest)
        if found is None:
            raise ApiError.unknown_resource(f"/{version}/{rest}")
        route, groups = found
        handler = route.handlers.get(method)
        if handler is None:
            raise ApiError.method_not_allowed(method)
        token = request.headers.get("x-tableau-auth") or None
        params: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, value)
        call = Call(
            state=state,
            method=method,
            version=version,
            path=rest,
            params=params,
            raw_body=raw,
            content_type=request.headers.get("content-type", ""),
            fmt=fmt,
            host=request.headers.get("host", ""),
            scheme=request.url.scheme,
            match=groups,
            token=token,
            stale_session=decision.stale_session,
        )
        if decision.kill_session and token:
            state.auth.kill(token)
        if route.auth:
            call.session = state.auth.authenticate(token)
        if route.site_scoped:
            site = state.site_by_id(groups["site"])
            if site is None:
                raise ApiError.site_not_found(groups["site"])
            session = call.session
            if session is not None and site.id != session.site_id:
                raise ApiError(
                    state.config.site_mismatch_status,
                    state.config.mismatch_code,
                    "Forbidden",
                    f"The site '{site.id}' in the URI is not the site this session is signed "
                    f"in to ('{session.site_id}'). (emulator code {state.config.mismatch_code})",
                )
            call.site = site
        return handler(call)
