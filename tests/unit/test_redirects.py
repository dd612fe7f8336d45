"""Where redirects may go (rule R8, `transport.redirects`): pure decisions."""

from __future__ import annotations

import pytest

from tabsession.errors import ConfigurationError
from tabsession.transport.redirects import (
    DEFAULT_REDIRECT_HOSTS,
    authenticated_redirect_allowed,
    normalize_hosts,
    signin_redirect_refusal,
)

SIGNIN = "https://online.tableau.com/api/3.23/auth/signin"


@pytest.mark.parametrize(
    "target",
    [
        "https://10ay.online.tableau.com/api/3.23/auth/signin",
        "https://prod-useast-b.online.tableau.com/api/3.23/auth/signin",
        "https://online.tableau.com:8443/api/3.23/auth/signin",  # its own host, another port
    ],
)
def test_a_sign_in_may_go_to_its_own_host_or_a_cloud_pod(target: str) -> None:
    assert signin_redirect_refusal(SIGNIN, target, DEFAULT_REDIRECT_HOSTS) is None


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://10ay.online.tableau.com/api/3.23/auth/signin", "https to http"),
        ("https://evil.example/api/3.23/auth/signin", "not to evil.example"),
        ("https://online.tableau.com.evil.example/x", "not to online.tableau.com.evil.example"),
        ("https://notonline.tableau.com/x", "not to notonline.tableau.com"),
        ("ftp://online.tableau.com/x", "not an http"),
    ],
)
def test_a_sign_in_never_goes_elsewhere(target: str, why: str) -> None:
    refusal = signin_redirect_refusal(SIGNIN, target, DEFAULT_REDIRECT_HOSTS)
    assert refusal is not None
    assert why in refusal


def test_the_allow_list_is_configurable() -> None:
    start = "https://tableau.example.com/api/3.23/auth/signin"
    target = "https://tableau-dr.example.net/api/3.23/auth/signin"
    assert signin_redirect_refusal(start, target, DEFAULT_REDIRECT_HOSTS) is not None
    assert (
        signin_redirect_refusal(start, target, normalize_hosts(["tableau-dr.example.net"])) is None
    )
    only_subdomains = normalize_hosts([".example.net"])
    assert signin_redirect_refusal(start, target, only_subdomains) is None
    assert signin_redirect_refusal(start, "https://example.net/x", only_subdomains) is not None
    assert signin_redirect_refusal(start, target, ()) is not None  # nothing but its own host


@pytest.mark.parametrize("bad", ["https://x.example", "x.example:443", "*.example.com", "", "a b"])
def test_allow_list_entries_are_host_names(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        normalize_hosts([bad])
    with pytest.raises(ConfigurationError):
        normalize_hosts("online.tableau.com")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("https://h.example/a", "https://h.example/b", True),
        ("http://h.example/a", "https://h.example/b", True),  # upgrade on the standard port
        ("https://h.example/a", "http://h.example/b", False),
        ("https://h.example/a", "https://h.example:8443/b", False),  # another port: another server
        ("https://h.example/a", "https://10ay.online.tableau.com/b", False),  # never the token
    ],
)
def test_authenticated_redirects_stay_on_their_server(
    current: str, target: str, allowed: bool
) -> None:
    assert authenticated_redirect_allowed(current, target) is allowed
