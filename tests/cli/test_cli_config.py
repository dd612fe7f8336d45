"""Profiles, sources and typed options: pure logic, no server."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from tabsession.cli.config import (
    ConfigError,
    Flags,
    MissingCredentials,
    Profile,
    ProfileFile,
    resolve,
)
from tabsession.cli.fields import FieldError, build
from tabsession.cli.types import seconds, server_url


def test_profiles_round_trip_through_toml(tmp_path: Path) -> None:
    file = ProfileFile(tmp_path / "profiles.toml", default='odd "name"')
    file.profiles['odd "name"'] = Profile(
        'odd "name"', server="https://h", site="s\\x", auth="pat", identity="ünï\ncode"
    )
    file.save()
    again = ProfileFile.load(tmp_path)
    assert again.default == 'odd "name"'
    assert again.profiles == file.profiles


def test_bad_profile_files_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text('[profiles.a]\nserver = "x"\npassword = "no"\n')
    with pytest.raises(ConfigError, match="unknown keys password"):
        ProfileFile.load(tmp_path)
    (tmp_path / "profiles.toml").write_text("not toml [")
    with pytest.raises(ConfigError, match="cannot read"):
        ProfileFile.load(tmp_path)


def test_sources_in_order(tmp_path: Path) -> None:
    file = ProfileFile(tmp_path / "profiles.toml", default="p")
    file.profiles["p"] = Profile("p", server="https://profile", site="from-profile")
    file.save()
    env = {"TABLEAU_SITE": "from-env", "TABLEAU_PAT_NAME": "n", "TABLEAU_PAT_SECRET": "zQ9secret"}
    found = resolve(Flags(), env=env, directory=tmp_path)
    assert (found.server, found.site) == ("https://profile", "from-env")
    assert found.sources == {"server": "profile p", "site": "env TABLEAU_SITE", "credential": "env"}
    flagged = resolve(Flags(site=""), env=env, directory=tmp_path)
    assert flagged.site == ""
    assert "zQ9secret" not in repr(flagged)


def test_half_a_credential_is_refused(tmp_path: Path) -> None:
    env = {"TABLEAU_SERVER": "https://h", "TABLEAU_PAT_NAME": "n"}
    with pytest.raises(MissingCredentials, match="TABLEAU_PAT_SECRET"):
        resolve(Flags(), env=env, directory=tmp_path)


def test_fields_nest_and_type() -> None:
    assert build(["project[name]=Q3", "tags[]=a", "tags[]=b"], ["n=3", "on=true", "x=null"]) == {
        "project": {"name": "Q3"},
        "tags": ["a", "b"],
        "n": 3,
        "on": True,
        "x": None,
    }
    assert build(["n=3"], []) == {"n": "3"}  # -f keeps strings
    with pytest.raises(FieldError):
        build(["novalue"], [])


def test_server_url_type() -> None:
    assert server_url("tableau.example.com/") == "https://tableau.example.com"
    assert server_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    with pytest.raises(typer.BadParameter):
        server_url("ftp://x")


def test_durations() -> None:
    assert seconds("90s") == 90
    assert seconds("5m") == 300
    assert seconds("250ms") == 0.25
    assert seconds("2") == 2
    for bad in ("soon", "0", "-1s", "inf"):
        with pytest.raises(typer.BadParameter):
            seconds(bad)


def test_exit_code_table() -> None:
    from tabsession import errors
    from tabsession.cli.exit_codes import code_for

    def response(cls: type[errors.ResponseError], status: int) -> errors.ResponseError:
        return cls(status=status)

    cases: list[tuple[BaseException, int]] = [
        (ConfigError("x"), 2),
        (errors.ConfigurationError("x"), 2),
        (MissingCredentials("x"), 4),
        (response(errors.BadRequest, 400), 3),
        (response(errors.Conflict, 409), 3),
        (errors.SignInFailed(status=401), 4),
        (response(errors.SessionExpired, 401), 4),
        (errors.SessionContention("x"), 4),
        (response(errors.Forbidden, 403), 5),
        (errors.SiteMismatch(status=403, requested_site_id="a", session_site_id="b"), 5),
        (response(errors.NotFound, 404), 6),
        (errors.RateLimited(status=429), 7),
        (response(errors.ServerError, 503), 8),
        (errors.TransportError("x"), 9),
        (errors.VersionNegotiationFailed("x"), 9),
        (errors.StoreUnavailable("x"), 9),
        (response(errors.ResponseError, 418), 1),
        (errors.BodyNotReplayable("x"), 1),
    ]
    assert [code_for(exc) for exc, _ in cases] == [code for _, code in cases]


def test_typed_field_reads_a_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Quarterly numbers")
    assert build([], [f"project[description]=@{notes}"]) == {
        "project": {"description": "Quarterly numbers"}
    }
    assert build([f"raw=@{notes}"], []) == {"raw": f"@{notes}"}  # -f never reads files
    with pytest.raises(FieldError, match="cannot read"):
        build([], [f"x=@{tmp_path / 'missing'}"])


def test_a_profiles_file_nested_too_deeply_is_a_one_line_error(tmp_path: Path) -> None:
    """Found by tests/fuzz/test_fuzz_cli.py: tomllib's RecursionError escaped as a traceback."""
    (tmp_path / "profiles.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        ProfileFile.load(tmp_path)
