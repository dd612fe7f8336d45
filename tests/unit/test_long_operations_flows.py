"""The long-operation flows driven by a scripted Tableau (no network, no real time): which
requests they send in which order, and how long they wait. A request-level view of what the
integration tests check end to end: a failed append is never resent to its upload, a 429's
"retry after 29 minutes" is waited for, RATE_EXCEEDED inside a 200 answer backs off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tabsession import Password, RetryPolicy
from tabsession._config import ClientConfig
from tabsession._core import ClientCore
from tabsession._effects import FileOp
from tabsession.clock import ManualClock
from tabsession.emulator.http.handlers.publish import parse_multipart
from tabsession.operations.graphql import graphql_flow
from tabsession.operations.jobs import wait_flow
from tabsession.operations.publish import PublishSpec, publish_flow

from ._flows import ClockedStore, Script, credentials_response, error_response, json_response

SERVER = "https://tableau.example.com"
Route = Callable[[httpx.Request], httpx.Response]


class FileScript(Script):
    """`Script` that also performs file effects (they touch only the test's tmp_path)."""

    def perform(self, effect: Any) -> Any:
        if isinstance(effect, FileOp):
            return effect.run()
        return super().perform(effect)


def harness(route: Route, retry: RetryPolicy | None = None) -> tuple[ClientCore, FileScript]:
    clock = ManualClock(start=1_700_000_000.0)
    config = ClientConfig.build(
        SERVER,
        Password("admin", "pw"),
        api_version="3.23",
        retry=retry or RetryPolicy.none(),
        clock=clock,
        breaker=None,
    )
    core = ClientCore(config)

    def tableau(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/signin"):
            return credentials_response("token-1")
        return route(request)

    return core, FileScript(tableau, ClockedStore(clock))


def test_a_failed_append_is_never_resent_to_its_upload(tmp_path: Path) -> None:
    source = tmp_path / "Book.twbx"
    source.write_bytes(b"a" * 10 + b"b" * 10 + b"c" * 5)
    uploads: list[str] = []
    blocks: dict[str, list[bytes]] = {}

    def route(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/fileUploads") and request.method == "POST":
            uploads.append(f"up-{len(uploads) + 1}")
            blocks[uploads[-1]] = []
            return json_response(201, {"fileUpload": {"uploadSessionId": uploads[-1]}})
        if "/fileUploads/" in path:
            upload = path.rsplit("/", 1)[1]
            data = parse_multipart(request.content, request.headers["content-type"])
            if upload == "up-1" and len(blocks[upload]) == 1:
                return error_response(502, "502000", "Bad Gateway", "proxy")
            blocks[upload].append(data["tableau_file"].data)
            return json_response(200, {"fileUpload": {"uploadSessionId": upload}})
        assert path.endswith("/workbooks"), path
        assert request.url.params["uploadSessionId"] == "up-2"
        return json_response(201, {"workbook": {"id": "wb-1", "name": "Book"}})

    core, script = harness(route, RetryPolicy())  # 502s on a PUT would be retried by default
    spec = PublishSpec.build(
        "workbooks", source, project_id="p", name=None, mode="CreateNew", as_job=False,
        chunk_size=10, chunked_above=0, on_progress=None, attributes={},
    )  # fmt: skip
    assert script.run(publish_flow(core, spec)) == {"id": "wb-1", "name": "Book"}
    assert blocks == {"up-1": [b"a" * 10], "up-2": [b"a" * 10, b"b" * 10, b"c" * 5]}
    puts = [p for p in script.paths() if p.startswith("PUT")]
    assert len(puts) == 5  # 1 ok + 1 failed on up-1 (never resent there), 3 on up-2
    assert script.sleeps == []


def test_retry_after_29_minutes_in_the_detail_is_waited_for() -> None:
    answers = [
        error_response(
            429, "429000", "Too Many Requests", "Limit reached. Retry after 29 minutes."
        ),
        json_response(200, {"job": {"id": "j", "progress": "50"}}),
        json_response(200, {"job": {"id": "j", "progress": "100", "finishCode": "0"}}),
    ]
    core, script = harness(lambda request: answers.pop(0))
    job = script.run(wait_flow(core, "j", timeout=None, on_progress=None))
    assert job["finishCode"] == "0"
    assert script.sleeps == [29 * 60, 1.0]  # the hint, then the first poll interval


def test_rate_exceeded_inside_an_answer_backs_off_then_returns_the_data() -> None:
    limited = {"errors": [{"message": "slow down", "extensions": {"code": "RATE_EXCEEDED"}}]}
    answers = [json_response(200, limited), json_response(200, {"data": {"x": 1}})]
    core, script = harness(lambda request: answers.pop(0))
    answer = script.run(graphql_flow(core, "{ x }"))
    assert answer.data == {"x": 1}
    assert script.sleeps == [2.0]
    assert script.paths()[-1] == "POST /api/metadata/graphql"
