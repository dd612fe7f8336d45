"""The control plane, `/_emulator/...` (JSON in, JSON out): how tests and demos steer the emulator.

    GET    /_emulator/health           {"ok": true}
    GET    /_emulator/stats            counters: signins, signin_failures, requests, status_counts,
                                       active_sessions, error_codes, ...
    GET    /_emulator/config           mode, versions, lifetimes, sites, account and PAT names
    GET    /_emulator/sessions         live sessions (never their tokens)
    POST   /_emulator/expire-sessions  end every session now → {"expired": N}
    POST   /_emulator/advance-clock    {"seconds": N} → {"now": epoch seconds}
    POST   /_emulator/reset            content, sessions, faults and counters back to the start
    GET    /_emulator/faults           current latency and rules, with their counters
    POST   /_emulator/faults           {"latency_ms": N, "rules": [...], "append": false}
    DELETE /_emulator/faults           no rules, base latency
    POST   /_emulator/kill-session     {"session_id": "..."} → that session ends
    POST   /_emulator/revoke-pat       {"name": "..."} → the PAT is refused, its sessions end

Bad input gets 400 with {"error": "..."}; nothing here needs a token.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tabsession.emulator.faults import MAX_LATENCY_MS, FaultRule
from tabsession.emulator.state.errors import ApiError
from tabsession.emulator.state.world import EmulatorState

__all__ = ["handle"]

_log = logging.getLogger("tabsession.emulator")
Action = Callable[[EmulatorState, dict[str, Any]], Any]


class _BadInput(ValueError):
    pass


MAX_ADVANCE_SECONDS = 100 * 365 * 86400.0
"""One `advance-clock` call moves the clock at most a hundred years."""


def _number(
    body: dict[str, Any], key: str, *, minimum: float = 0.0, maximum: float = math.inf
) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _BadInput(f"'{key}' must be a number")
    if value < minimum:
        raise _BadInput(f"'{key}' must be at least {minimum:g}")
    if value > maximum:
        raise _BadInput(f"'{key}' must be at most {maximum:g}")
    return float(value)


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _BadInput(f"'{key}' must be a non-empty string")
    return value


def _config(state: EmulatorState, _: dict[str, Any]) -> dict[str, Any]:
    config = state.config
    return {
        "mode": config.mode,
        "api_version": config.api_version,
        "product_version": config.product[0],
        "session_lifetime_seconds": config.lifetime,
        "lifetime_kind": config.kind,
        "lifetime_limit_seconds": config.lifetime_limit,
        "pat_single_session": config.pat_single_session,
        "site_mismatch_status": config.site_mismatch_status,
        "site_mismatch_code": config.mismatch_code,
        "time_scale": config.time_scale,
        "job_duration_seconds": config.job_duration,
        "upload_outlives_session": config.upload_outlives_session,
        "max_stored_bytes": config.max_stored_bytes,
        "stored_bytes": state.budget.used,
        "export_concurrency": config.export_limit,
        "export_latency_ms": config.export_latency_ms,
        "sites": [s.describe() for s in state.sites()],
        "users": [a.name for a in state.auth.accounts()],
        "pats": [p.name for p in config.pats],
        "connected_apps": [a.client_id for a in config.connected_apps],
    }


def _advance(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.advance(_number(body, "seconds", maximum=MAX_ADVANCE_SECONDS))
    return {"now": state.clock.time()}


def _reset(state: EmulatorState, _: dict[str, Any]) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


def _set_faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    rules_data = body.get("rules")
    if rules_data is not None and not isinstance(rules_data, list):
        raise _BadInput("'rules' must be a list of rule objects")
    latency = _number(body, "latency_ms", maximum=MAX_LATENCY_MS) if "latency_ms" in body else None
    append = body.get("append", False)
    if not isinstance(append, bool):
        raise _BadInput("'append' must be true or false")
    unknown = set(body) - {"rules", "latency_ms", "append"}
    if unknown:
        raise _BadInput(f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        rules = None if rules_data is None else [FaultRule.from_dict(r) for r in rules_data]
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    state.faults.configure(rules=rules, latency_ms=latency, append=append)
    return state.faults.describe()


def _clear_faults(state: EmulatorState, _: dict[str, Any]) -> dict[str, Any]:
    state.faults.clear()
    return state.faults.describe()


def _kill(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    try:
        state.auth.delete_session(_text(body, "session_id"))
    except ApiError as exc:
        raise _BadInput(exc.detail) from None
    return {"killed": True}


def _revoke(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    name = _text(body, "name")
    if not state.auth.revoke_pat(name):
        raise _BadInput(f"no PAT named {name!r}")
    return {"revoked": name}


_ROUTES: dict[str, dict[str, Action]] = {
    "health": {"GET": lambda s, b: {"ok": True}},
    "stats": {"GET": lambda s, b: s.stats_snapshot()},
    "config": {"GET": _config},
    "sessions": {"GET": lambda s, b: {"sessions": [x.summary() for x in s.auth.sessions()]}},
    "expire-sessions": {"POST": lambda s, b: {"expired": s.auth.expire_all()}},
    "advance-clock": {"POST": _advance},
    "reset": {"POST": _reset},
    "faults": {
        "GET": lambda s, b: s.faults.describe(),
        "POST": _set_faults,
        "DELETE": _clear_faults,
    },
    "kill-session": {"POST": _kill},
    "revoke-pat": {"POST": _revoke},
}


async def _read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise _BadInput("the body must be JSON (an object, not nested too deeply)") from None
    if not isinstance(data, dict):
        raise _BadInput("the body must be a JSON object")
    return data


async def handle(state: EmulatorState, request: Request) -> Response:
    name = request.url.path.removeprefix("/_emulator").strip("/")
    actions = _ROUTES.get(name)
    if actions is None:
        known = ", ".join(sorted(_ROUTES))
        return JSONResponse({"error": f"unknown control endpoint; known: {known}"}, 404)
    action: Action | None = actions.get(request.method.upper())
    if action is None:
        allowed = ", ".join(sorted(actions))
        return JSONResponse({"error": f"use {allowed}"}, 405, headers={"Allow": allowed})
    try:
        body = await _read_json(request)
        result = action(state, body)
    except _BadInput as exc:
        return JSONResponse({"error": str(exc)}, 400)
    except Exception:  # a bug: answer in JSON all the same, and count it
        _log.exception("emulator control-plane error on %s %s", request.method, name)
        state.stats.add("internal_errors")
        return JSONResponse({"error": "the emulator failed (see its log)"}, 500)
    return JSONResponse(result)
