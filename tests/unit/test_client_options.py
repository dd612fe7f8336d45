"""Behaviours added after review: pod redirects keep path prefixes, later pages follow the page
size the server used, event hooks cannot break requests, unreadable answers raise TableauError."""

from __future__ import annotations

import logging

import httpx
import pytest

from tabsession._base_client import BaseClient
from tabsession._events import Events
from tabsession.errors import ResponseError, TableauError
from tabsession.pagination import PageInfo, later_pages_params
from tabsession.transport.sender import server_base


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://10ax.online.tableau.com/api/3.28/auth/signin", "https://10ax.online.tableau.com"),
        ("https://host:8443/tableau/api/3.23/auth/signin", "https://host:8443/tableau"),
        ("https://host/a/b/api/2.4/serverinfo", "https://host/a/b"),
        ("https://host/elsewhere", "https://host"),
    ],
)
def test_server_base_keeps_the_path_prefix_before_api(url: str, base: str) -> None:
    assert server_base(url) == base


def test_later_pages_use_the_page_size_the_server_used() -> None:
    asked = {"pageSize": 1000, "filter": "name:eq:x"}
    capped = later_pages_params(asked, PageInfo(number=1, size=100, total=950))
    assert capped == {"pageSize": 100, "filter": "name:eq:x"}
    assert asked["pageSize"] == 1000  # the caller's dict is not changed
    same = later_pages_params(asked, PageInfo(number=1, size=1000, total=950))
    assert same == asked
    assert later_pages_params({"pageSize": 5}, PageInfo(1, 0, 0)) == {"pageSize": 5}


def test_a_raising_event_hook_never_breaks_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    def hook(name: str, fields: object) -> None:
        raise RuntimeError("hook bug")

    events = Events(hook)
    with caplog.at_level(logging.ERROR, logger="tabsession"):
        events.emit("replay", "replaying", method="GET")
    assert events.snapshot().replays == 1
    assert any("on_event hook raised" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"<tsResponse><unclosed></tsResponse>", "application/xml"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "text/xml"),
    ],
)
def test_an_unreadable_success_answer_is_a_tableau_error(content: bytes, content_type: str) -> None:
    request = httpx.Request("GET", "https://tableau.example.com/api/3.23/sites/x/workbooks")
    response = httpx.Response(
        200, content=content, headers={"content-type": content_type}, request=request
    )
    with pytest.raises(ResponseError) as caught:
        BaseClient._payload(response)
    assert isinstance(caught.value, TableauError)
    assert caught.value.status == 200
    assert caught.value.url == str(request.url)


def test_the_lock_must_outlive_the_longest_sign_in() -> None:
    import tabsession

    auth = tabsession.PersonalAccessToken("p", "s")
    with pytest.raises(tabsession.ConfigurationError, match="must exceed the longest sign-in"):
        tabsession.Client("https://t.example.com", auth, lock_ttl=30.0)  # 20 s + 60 s timeout
    short = tabsession.RetryPolicy(deadline=1.0)
    client = tabsession.Client(
        "https://t.example.com", auth, lock_ttl=3.0, timeout=1.5, retry=short
    )
    assert client._core.config.lock_ttl == 3.0
    client.close()
    default = tabsession.Client("https://t.example.com", auth, timeout=120.0)
    assert default._core.config.lock_ttl == 150.0  # 20 s budget + 120 s timeout + 10 s
    assert default._core.config.signin_retry is not None
    assert default._core.config.signin_retry.attempts == 3
    default.close()
