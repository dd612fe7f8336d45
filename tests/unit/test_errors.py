"""The error hierarchy of DESIGN § Errors: shape, keyword-only constructors, messages."""

from __future__ import annotations

from typing import Any

import pytest

import tabsession
from tabsession import errors
from tabsession.errors import (
    BadRequest,
    BodyNotReplayable,
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ResponseError,
    ServerError,
    SessionContention,
    SessionExpired,
    SignInFailed,
    SiteMismatch,
    StoreUnavailable,
    TableauError,
    TransportError,
    VersionNegotiationFailed,
    error_class_for_status,
)

URL = "https://tableau.example.com/api/3.23/sites/s-1/workbooks"

PARENTS: dict[type[Exception], type[Exception]] = {
    TableauError: Exception,
    ConfigurationError: TableauError,
    TransportError: TableauError,
    BodyNotReplayable: TableauError,
    VersionNegotiationFailed: TableauError,
    SessionContention: TableauError,
    StoreUnavailable: TableauError,
    ResponseError: TableauError,
    BadRequest: ResponseError,
    SignInFailed: ResponseError,
    SessionExpired: ResponseError,
    Forbidden: ResponseError,
    SiteMismatch: Forbidden,
    NotFound: ResponseError,
    Conflict: ResponseError,
    RateLimited: ResponseError,
    ServerError: ResponseError,
}


@pytest.mark.parametrize(("cls", "parent"), list(PARENTS.items()))
def test_hierarchy(cls: type[Exception], parent: type[Exception]) -> None:
    assert cls.__bases__ == (parent,)


def test_every_error_is_exported_from_the_package() -> None:
    for cls in PARENTS:
        assert getattr(tabsession, cls.__name__) is cls
        assert cls.__name__ in errors.__all__


def test_response_errors_are_not_transport_errors() -> None:
    assert not issubclass(ResponseError, TransportError)
    assert not issubclass(SessionExpired, SignInFailed)
    assert not issubclass(SiteMismatch, SessionExpired)


# -- keyword-only constructors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        (ResponseError, ("message", 400), {}),
        (BadRequest, (400,), {}),
        (BadRequest, ("m", 400, "400000"), {}),
        (SignInFailed, ("m", 401), {}),
        (SiteMismatch, ("m",), {"status": 403}),  # both site ids are required
        (SiteMismatch, ("m", 403, "c", "s", "d", "GET", URL, "a", "b"), {}),
        (RateLimited, ("m", 429), {}),
        (TransportError, ("m", "GET"), {}),
        (TableauError, ("m", "GET", URL), {}),
    ],
)
def test_constructors_are_keyword_only(
    cls: type[Exception], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        cls(*args, **kwargs)


def test_every_response_error_carries_its_fields() -> None:
    error = Conflict(
        status=409,
        code="409006",
        summary="Project name conflict",
        detail="A project named 'x' exists.",
        method="POST",
        url=URL,
    )
    assert (error.status, error.code, error.summary, error.detail) == (
        409,
        "409006",
        "Project name conflict",
        "A project named 'x' exists.",
    )
    assert (error.method, error.url) == ("POST", URL)


# -- messages --------------------------------------------------------------------------------------


def test_str_includes_status_code_summary_detail_method_and_url() -> None:
    error = BadRequest(
        status=400,
        code="400000",
        summary="Bad Request",
        detail="Payload is either malformed or incomplete",
        method="POST",
        url=URL,
    )
    text = str(error)
    for part in ("400", "400000", "Bad Request", "Payload is either malformed", "POST", URL):
        assert part in text
    assert text == (
        f"HTTP 400 400000 Bad Request: Payload is either malformed or incomplete (POST {URL})"
    )


def test_str_without_a_body() -> None:
    assert str(ServerError(status=502)) == "HTTP 502"
    assert str(ServerError(status=502, method="GET", url=URL)) == f"HTTP 502 (GET {URL})"
    assert str(NotFound(status=404, summary="Gone")) == "HTTP 404 Gone"


def test_an_explicit_message_replaces_the_description_but_keeps_the_request() -> None:
    error = SessionExpired("refused again", status=401, code="401002", method="GET", url=URL)
    assert str(error) == f"refused again (GET {URL})"
    assert error.code == "401002"


def test_plain_errors_keep_their_message() -> None:
    assert str(ConfigurationError("bad server URL")) == "bad server URL"
    error = TransportError("ConnectError: refused", method="GET", url=URL, sent=False)
    assert str(error) == f"ConnectError: refused (GET {URL})"
    assert error.sent is False
    assert TransportError("x").sent is True  # the safe default: assume it may have arrived


def test_sign_in_failed_names_the_likely_cause() -> None:
    error = SignInFailed(
        status=401,
        code="401001",
        summary="Signin Error",
        detail="Error signing in to Tableau Server",
        method="POST",
        url="https://t.example/api/3.23/auth/signin",
        likely_cause="the PAT 'ci' is wrong, revoked or expired",
    )
    assert error.likely_cause == "the PAT 'ci' is wrong, revoked or expired"
    assert "Likely cause: the PAT 'ci' is wrong, revoked or expired" in str(error)
    assert "401001" in str(error)
    assert SignInFailed(status=401).likely_cause == ""
    assert "Likely cause" not in str(SignInFailed(status=401))


def test_site_mismatch_names_both_sites() -> None:
    error = SiteMismatch(
        status=403,
        code="403999",
        summary="Forbidden",
        method="GET",
        url=URL,
        requested_site_id="site-in-url",
        session_site_id="site-of-session",
        session_site_content_url="marketing",
    )
    text = str(error)
    assert "site-in-url" in text
    assert "site-of-session" in text
    assert "'marketing'" in text
    assert "switch_site" in text
    assert (error.requested_site_id, error.session_site_id, error.session_site_content_url) == (
        "site-in-url",
        "site-of-session",
        "marketing",
    )
    assert isinstance(error, Forbidden)


def test_site_mismatch_without_content_url() -> None:
    error = SiteMismatch(status=401, requested_site_id="a", session_site_id="b")
    assert "site a" in str(error)
    assert "site b" in str(error)
    assert "contentUrl" not in str(error)


def test_site_mismatch_with_the_default_sites_empty_content_url() -> None:
    error = SiteMismatch(
        status=403, requested_site_id="a", session_site_id="b", session_site_content_url=""
    )
    assert "contentUrl ''" in str(error)


def test_rate_limited_defaults() -> None:
    error = RateLimited(retry_after=3.0)
    assert (error.status, error.retry_after) == (429, 3.0)
    assert RateLimited().retry_after is None


def test_error_class_for_status() -> None:
    expected = {
        400: BadRequest,
        401: SessionExpired,
        403: Forbidden,
        404: NotFound,
        409: Conflict,
        429: RateLimited,
        500: ServerError,
        503: ServerError,
        599: ServerError,
        402: ResponseError,
        405: ResponseError,
        410: ResponseError,
    }
    for status, cls in expected.items():
        assert error_class_for_status(status) is cls
