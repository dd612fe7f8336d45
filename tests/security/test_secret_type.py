"""`tabsession.auth.secret.Secret`: masked everywhere it can be printed, given back only by
`.reveal()`; and the credentials hold their secrets as Secrets."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest
from conftest import ADMIN_PASSWORD, APP_SECRET, PAT_NAME, PAT_SECRET

from tabsession import ConnectedAppJWT, Password, PersonalAccessToken
from tabsession.auth.secret import MASK, MaskedHeaders, Secret, reveal


def test_a_secret_is_masked_in_every_rendering() -> None:
    secret = Secret(PAT_SECRET)
    percent = "%s %r" % (secret, secret)  # noqa: UP031  (the old formatting, on purpose)
    renderings = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}",
                  percent, "{}".format(secret), repr([secret]), repr({"k": secret})]  # noqa: UP032  # fmt: skip
    for text in renderings:
        assert PAT_SECRET not in text
        assert MASK in text
    assert secret.reveal() == PAT_SECRET


def test_a_secret_is_masked_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tabsession.test"):
        logging.getLogger("tabsession.test").info("secret=%s %r", Secret("s3"), Secret("s3"))
    assert "s3" not in caplog.text


def test_equality_hashing_and_truth() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"  # never equal to the plain value: no accidental unwrapping
    assert Secret("a") != Secret(b"a")
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    assert not Secret("")
    assert Secret("x")


def test_wrapping_twice_does_not_nest_and_other_types_are_refused() -> None:
    assert Secret(Secret("v")).reveal() == "v"
    with pytest.raises(TypeError):
        Secret(12)  # type: ignore[arg-type]


def test_a_secret_is_immutable_and_survives_pickling_and_copies() -> None:
    secret = Secret(b"body")
    with pytest.raises(AttributeError):
        secret._value = b"other"  # type: ignore[misc]
    for twin in (pickle.loads(pickle.dumps(secret)), copy.copy(secret), copy.deepcopy(secret)):
        assert isinstance(twin, Secret)
        assert twin.reveal() == b"body"


def test_reveal_helper_passes_plain_values_through() -> None:
    assert reveal(Secret("x")) == "x"
    assert reveal(b"raw") == b"raw"
    assert reveal(None) is None


def test_masked_headers_hide_the_token_and_other_credential_headers() -> None:
    headers = MaskedHeaders({"X-Tableau-Auth": "tok-123", "Authorization": "Bearer b", "A": "1"})
    for text in (repr(headers), str(headers), repr([headers]), f"{headers}"):
        assert "tok-123" not in text
        assert "Bearer b" not in text
        assert "'A': '1'" in text
    assert headers["X-Tableau-Auth"] == "tok-123"  # an ordinary dict otherwise
    assert dict(headers) == {"X-Tableau-Auth": "tok-123", "Authorization": "Bearer b", "A": "1"}


@pytest.mark.parametrize(
    ("credential", "field", "value"),
    [
        (PersonalAccessToken(PAT_NAME, PAT_SECRET), "secret", PAT_SECRET),
        (PersonalAccessToken(PAT_NAME, Secret(PAT_SECRET)), "secret", PAT_SECRET),
        (Password("admin", ADMIN_PASSWORD), "password", ADMIN_PASSWORD),
        (ConnectedAppJWT("cid", "kid", APP_SECRET, "admin"), "secret_value", APP_SECRET),
    ],
)
def test_credentials_hold_their_secret_as_a_secret(
    credential: object, field: str, value: str
) -> None:
    held = getattr(credential, field)
    assert isinstance(held, Secret)
    assert held.reveal() == value
    assert value not in repr(credential)
    assert value not in repr(vars(credential))  # vars() shows Secret('***'), not the value
    assert value not in str(credential)


def test_credentials_still_validate_and_compare_by_value() -> None:
    assert PersonalAccessToken("n", "s") == PersonalAccessToken("n", Secret("s"))
    assert PersonalAccessToken("n", "s").identity == PersonalAccessToken("n", Secret("s")).identity
    with pytest.raises(ValueError, match="secret"):
        PersonalAccessToken("n", "")
    with pytest.raises(ValueError, match="password"):
        Password("u", Secret(""))
    with pytest.raises(TypeError):
        Password("u", 123)  # type: ignore[arg-type]
