"""Forgiving server URLs (`tabsession._urls`): API suffixes, browser addresses, sites in URLs."""

from __future__ import annotations

import pytest

from tabsession._urls import ServerTarget, parse_server_url, resolve_target
from tabsession.errors import ConfigurationError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://tableau.example.com", ServerTarget("https://tableau.example.com")),
        ("tableau.example.com/", ServerTarget("https://tableau.example.com")),
        ("https://host.example/api", ServerTarget("https://host.example")),
        ("https://host.example/api/", ServerTarget("https://host.example")),
        ("https://host.example/api/3.19", ServerTarget("https://host.example", None, "3.19")),
        ("https://host.example/api/3.19/", ServerTarget("https://host.example", None, "3.19")),
        (
            "https://host.example/api/3.21/sites/abc/workbooks",
            ServerTarget("https://host.example", None, "3.21"),
        ),
        (
            "https://host.example/tableau/api/3.2",
            ServerTarget("https://host.example/tableau", None, "3.2"),
        ),
        (
            "https://host.example/#/site/marketing/home",
            ServerTarget("https://host.example", "marketing"),
        ),
        (
            "https://10ay.online.tableau.com/#/site/acme-sales/views/Sales/Overview?:iid=1",
            ServerTarget("https://10ay.online.tableau.com", "acme-sales"),
        ),
        ("https://host.example/#/home", ServerTarget("https://host.example")),  # Default site
        (
            "https://host.example/t/finance/views/Budget/Sheet1",
            ServerTarget("https://host.example", "finance"),
        ),
        ("https://host.example/views/Budget/Sheet1", ServerTarget("https://host.example")),
        ("https://host.example/#/site/a%20b/home", ServerTarget("https://host.example", "a b")),
        ("http://127.0.0.1:8000//", ServerTarget("http://127.0.0.1:8000")),
    ],
)
def test_what_people_paste(given: str, expected: ServerTarget) -> None:
    assert parse_server_url(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "  ",
        "ftp://host.example",
        "http://",
        "https://host.example:99999",
        "https://h.example/api/v3",
    ],
)
def test_what_cannot_be_a_server(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_server_url(bad)


def test_the_site_in_the_url_fills_an_empty_site() -> None:
    assert resolve_target("https://h.example/#/site/marketing/home", "", None) == (
        "https://h.example",
        "marketing",
        None,
    )
    assert (
        resolve_target("https://h.example/#/site/Marketing/home", "marketing", None)[1]
        == "marketing"
    )


def test_a_site_in_the_url_that_conflicts_with_site_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match=r"'marketing'.*'sales'"):
        resolve_target("https://h.example/#/site/marketing/home", "sales", None)


def test_an_explicit_api_version_wins_over_the_urls() -> None:
    assert resolve_target("https://h.example/api/3.19", "", "3.23")[2] == "3.23"
    assert resolve_target("https://h.example/api/3.19", "", None)[2] == "3.19"
