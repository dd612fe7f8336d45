"""The pure parts of the long operations: multipart bodies (read back by the emulator's own
parser), publish arguments, block sizes, 429 hints, job notes, poll intervals, the Metadata API
pager's bookkeeping (node-limit halving, totals) and the file effects."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from tabsession._effects import FileSize, MakeTemp, ReadBlock, RemoveFile, ReplaceFile
from tabsession.emulator.http.handlers.publish import parse_multipart
from tabsession.errors import ConfigurationError, GraphQLError, RateLimited
from tabsession.operations.download import served_filename
from tabsession.operations.graphql import CursorPager, GraphQLAnswer, MetadataTruncated
from tabsession.operations.jobs import hinted_wait, job_notes, next_interval
from tabsession.operations.multipart import encode_multipart, request_payload
from tabsession.operations.publish import MAX_BLOCKS, PublishSpec

MIB = 1024 * 1024


def spec(file: str = "Sales.twbx", **overrides: Any) -> PublishSpec:
    fields: dict[str, Any] = {
        "project_id": "p-1",
        "name": None,
        "mode": "CreateNew",
        "as_job": False,
        "chunk_size": 8 * MIB,
        "chunked_above": 64 * MIB,
        "on_progress": None,
        "attributes": {},
    }
    fields.update(overrides)
    kind = fields.pop("kind", "workbooks")
    return PublishSpec.build(kind, file, **fields)


def test_multipart_parts_come_back_byte_for_byte() -> None:
    data = os.urandom(4096) + b"\r\n--tricky\r\n"
    body, content_type = encode_multipart(
        [
            ("request_payload", None, "text/xml", b"<tsRequest/>"),
            ("tableau_workbook", 'we"ird.twbx', "application/octet-stream", data),
        ]
    )
    parts = parse_multipart(body, content_type)
    assert parts["request_payload"].data == b"<tsRequest/>"
    assert parts["tableau_workbook"].data == data
    assert parts["tableau_workbook"].filename == "we_ird.twbx"


def test_request_payload_escapes_and_renders_options() -> None:
    payload = request_payload(
        "workbook", name='Q&A "2026"', project_id="p<1>", attributes={"showTabs": True, "x": None}
    )
    assert payload == (
        b'<tsRequest><workbook name=\'Q&amp;A "2026"\' showTabs="true">'
        b'<project id="p&lt;1&gt;"/></workbook></tsRequest>'
    )


def test_publish_arguments_are_checked_before_anything_is_sent() -> None:
    assert spec().name == "Sales"
    assert spec().params() == {"workbookType": "twbx"}
    assert spec(mode="Overwrite", as_job=True).params() == {
        "workbookType": "twbx",
        "overwrite": "true",
        "asJob": "true",
    }
    assert spec("x.hyper", kind="datasources", mode="Append").params() == {
        "datasourceType": "hyper",
        "append": "true",
    }
    for bad in (
        {"file": "Sales.pdf"},
        {"mode": "Append"},
        {"chunk_size": 0},
        {"chunk_size": 65 * MIB},
        {"chunked_above": 65 * MIB},
        {"project_id": ""},
    ):
        with pytest.raises(ConfigurationError):
            spec(**bad)


def test_block_size_grows_to_stay_under_tableaus_block_limit() -> None:
    assert spec(chunk_size=MIB).block_size(100 * MIB) == MIB
    assert spec(chunk_size=MIB).block_size(5000 * MIB) == 5 * MIB
    assert spec(chunk_size=MIB).block_size(MAX_BLOCKS * MIB + 1) == MIB + 1
    with pytest.raises(ConfigurationError):
        spec().block_size(MAX_BLOCKS * 64 * MIB + 1)


def test_429_hints() -> None:
    assert hinted_wait(RateLimited(retry_after=12.0)) == 12.0
    words = RateLimited(code="429000", detail="Too many requests. Retry after 29 minutes.")
    assert hinted_wait(words) == 29 * 60
    assert hinted_wait(RateLimited(summary="retry after 30 seconds")) == 30
    assert hinted_wait(RateLimited(detail="retry after 5 hours")) == 3600  # capped
    assert hinted_wait(RateLimited(detail="slow down")) is None


def test_job_notes_and_intervals() -> None:
    assert job_notes({"extractRefreshJob": {"notes": "disk full"}}) == "disk full"
    assert job_notes({"notes": "top"}) == "top"
    assert job_notes({"id": "j"}) == ""
    intervals = [1.0]
    for _ in range(12):
        intervals.append(next_interval(intervals[-1], 30.0))
    assert intervals[:3] == [1.0, 1.5, 2.25]
    assert intervals[-1] == 30.0
    assert intervals == sorted(intervals)


def page(nodes: list[int], *, more: bool, cursor: str | None, total: int, cut: bool = False) -> Any:
    warnings_ = (
        [{"message": "partial", "extensions": {"code": "NODE_LIMIT_EXCEEDED"}}] if cut else []
    )
    data = {
        "site": {
            "books": {
                "nodes": nodes,
                "pageInfo": {"hasNextPage": more, "endCursor": cursor},
                "totalCount": total,
            }
        }
    }
    return GraphQLAnswer(data, warnings_)


def test_pager_follows_cursors_and_halves_a_cut_page() -> None:
    pager = CursorPager("site.books", 8, {"project": "p"})
    assert pager.variables() == {"project": "p", "first": 8, "after": None}
    assert pager.take(page([1, 2], more=True, cursor="c1", total=5, cut=True)) is None
    assert pager.variables() == {"project": "p", "first": 4, "after": None}  # same page, smaller
    assert pager.take(page([1, 2, 3, 4], more=True, cursor="c4", total=5)) == [1, 2, 3, 4]
    assert pager.variables()["after"] == "c4"
    assert pager.take(page([5], more=False, cursor="c5", total=5)) == [5]
    assert pager.done


def test_pager_warns_when_fewer_nodes_came_than_announced() -> None:
    pager = CursorPager("site.books", 10)
    with pytest.warns(MetadataTruncated, match="announced 3"):
        pager.take(page([1, 2], more=False, cursor=None, total=3))
    pager = CursorPager("site.books", 1)
    with pytest.warns(MetadataTruncated, match="one-node page"):
        pager.take(page([1], more=True, cursor="c", total=1, cut=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CursorPager("site.books", 5).take(page([1], more=False, cursor=None, total=1))


def test_pager_refuses_bad_arguments_and_answers() -> None:
    with pytest.raises(ConfigurationError):
        CursorPager("", 10)
    with pytest.raises(ConfigurationError):
        CursorPager("books", 0)
    from tabsession.errors import TableauError

    with pytest.raises(TableauError, match="no connection"):
        CursorPager("other", 10).take(page([], more=False, cursor=None, total=0))


def test_graphql_error_codes() -> None:
    error = GraphQLError(
        "refused", errors=[{"message": "m", "extensions": {"code": "INVALID_SYNTAX"}}, {}]
    )
    assert error.codes == ["INVALID_SYNTAX", ""]


def test_file_effects(tmp_path: Path) -> None:
    target = tmp_path / "dest.bin"
    temp = MakeTemp(str(target)).run()
    assert os.path.dirname(temp) == str(tmp_path)
    assert os.path.exists(temp)
    Path(temp).write_bytes(b"0123456789")
    assert FileSize(temp).run() == 10
    assert ReadBlock(temp, 8, 5).run() == b"89"
    ReplaceFile(temp, str(target)).run()
    assert target.read_bytes() == b"0123456789"
    assert not os.path.exists(temp)
    RemoveFile(temp).run()  # gone already: no error
    RemoveFile(str(target)).run()
    assert not target.exists()


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="Sales.twbx"', "Sales.twbx"),
        ("attachment; filename=plain.tdsx", "plain.tdsx"),
        (
            "attachment; filename=\"Ventes_.twbx\"; filename*=UTF-8''Ventes%C3%A9.twbx",
            "Ventesé.twbx",
        ),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\evil\\\\x.twb"', "x.twb"),
        ('attachment; filename=".."', None),
        ("attachment", None),
        (None, None),
    ],
)
def test_served_filename_is_a_plain_name(header: str | None, name: str | None) -> None:
    assert served_filename(header) == name
