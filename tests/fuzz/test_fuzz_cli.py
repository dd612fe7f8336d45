"""Fuzzing the command line in-process (typer's CliRunner): argument vectors for every command
and the profiles file. Whatever is typed, a command ends with an exit code from the table in
`tabsession.cli.exit_codes` (0-9), never with a Python traceback, and never prints a secret it
was given (a NAME:SECRET flag value, a secret on stdin, the suite's PAT secret or password).

The argument vectors are built from the commands' own parameters (read from the Typer app), so
a new command or option is fuzzed without touching this file. Each option's values come from
its kind, told by its name: durations, numbers, NAME:SECRET pairs, URLs, paths, hosts, fields,
headers, JMESPath, and free text (unicode, control characters, 100,000 characters).

- Commands that would start a server or block (emulator, proxy, demo, wait) get vectors that
  always fail validation (a last, invalid `--port`/`--timeout`, an extra argument) or `--help`;
  starting a server anyway raises `ServerStarted` (patched in), which fails the example.
- The other commands run against one loopback emulator (TABLEAU_SERVER and the suite's PAT in
  the environment). URL values are the emulator's, a closed loopback port, or malformed, and
  file values stay in a temporary directory, so nothing leaves the machine or writes outside.
- The profiles file gets random and garbled TOML, wrong types, unknown keys, deep nesting and
  a large file: loading it gives a profile file or one `ConfigError`, and `profiles` exits 0
  or 2 with one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import PAT_NAME, PAT_SECRET, SECRETS
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tabsession.cli.app import app
from tabsession.cli.config import ConfigError, Flags, ProfileFile, resolve
from tabsession.emulator.server import Emulator
from tests.integration._support import emulator

from ._budget import examples

EXIT_CODES = range(10)
"""The documented table: 0 ok ... 9 unreachable (tabsession.cli.exit_codes)."""
SERVING = ("emulator", "proxy", "demo", "wait")
POISON = {
    "emulator": ["--port", "not-a-port"],
    "proxy": ["--port", "not-a-port"],
    "wait": ["--timeout", "not-a-number"],
    "demo": ["an-unexpected-argument"],
}
"""Appended last (so no earlier value can override it): each makes its command fail
validation, after every earlier value has been parsed."""
NOT_FUZZED = {("doctor", "measure_lifetime")}
"""Options that make a command wait on purpose (probing until the server ends a session)."""
_CLEARED = ("TABLEAU_SERVER", "TABLEAU_SITE", "TABLEAU_PAT_NAME", "TABLEAU_PAT_SECRET",
            "TABLEAU_USERNAME", "TABLEAU_PASSWORD", "TABSESSION_PROFILE", "TABSESSION_STORE",
            "TABSESSION_PROXY_ACCESS_KEYS")  # fmt: skip


class ServerStarted(Exception):
    """A fuzzed vector got past validation of a serving command: the fuzzer's own bug."""


def _refuse_to_serve(*args: object, **kwargs: object) -> None:
    raise ServerStarted


@dataclass
class World:
    emu: Emulator
    tmp: Path
    connected_env: dict[str, str]
    offline_env: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("cli-fuzz")
    (tmp / "in.json").write_text('{"project": {"name": "fuzz"}}')
    (tmp / "in.xml").write_text('<tsRequest><project name="fuzz"/></tsRequest>')
    (tmp / "Book.twbx").write_bytes(b"PK\x03\x04 not really a workbook")
    (tmp / "data.hyper").write_bytes(b"\x00" * 64)
    (tmp / "notes.txt").write_bytes(b"caf\xc3\xa9 \xff\xfe")
    (tmp / "out").mkdir()
    with pytest.MonkeyPatch.context() as patch, emulator(sites=("marketing",), seed_items=5) as emu:
        for name in _CLEARED:
            patch.delenv(name, raising=False)
        patch.chdir(tmp / "out")  # `download` without -o writes to the current directory
        patch.setenv("HOME", str(tmp / "home"))
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        patch.setenv("TABSESSION_SECRETS", "file")
        patch.setenv("COLUMNS", "80")
        patch.setattr("tabsession.emulator.server.serve", _refuse_to_serve)
        patch.setattr("tabsession.proxy.serve", _refuse_to_serve)
        patch.setattr("tabsession.cli.demo.Emulator", _refuse_to_serve)
        connected = {
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "TABLEAU_SERVER": emu.url,
            "TABLEAU_SITE": "marketing",
            "TABLEAU_PAT_NAME": PAT_NAME,
            "TABLEAU_PAT_SECRET": PAT_SECRET,
        }
        offline = {"XDG_CONFIG_HOME": str(tmp / "offline-config")}
        yield World(emu, tmp, connected, offline)


# -- values by kind ------------------------------------------------------------------------------

_free_text = (
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
    | st.sampled_from(["", " ", "-", "--", "-x", "é", "\u202e", "a" * 100_000, "%s", "{site-id}",
                       "{user-id}", "../../etc", "\n", "name:eq:x", "\udcff", "²³⁴", "١٢٣"])
)  # fmt: skip
"""Text as argv can hold it: no NUL; surrogate escapes (undecodable bytes) included."""
_numbers = st.sampled_from(["0", "1", "-1", "10", "1000", "65536", "1e3", "1.5", "nan", "inf",
                            "-inf", "9" * 40, "0x10", "", " 5", "1_000", "١"])  # fmt: skip
_numbers |= _free_text
_durations = st.sampled_from(["90s", "5m", "2h", "1.5d", "500ms", "0", "-1", "0s", "nan", "inf",
                              "1e308d", "1e-320ms", "ms", "s", "", "9" * 400, "5 m",
                              "5M"])  # fmt: skip
_durations |= _free_text
_versions = st.sampled_from(["3.23", "3.28", "2.0", "99.99", "1.0", "3", "3.23.1", "", "x.y",
                             "3.2a", "٣.٢٣"])  # fmt: skip
_hosts = st.sampled_from(["127.0.0.1", "::1", "[::1]", "localhost", "0.0.0.0", "256.1.1.1",
                          "a b", "", "é.local", "-h", "x" * 300]) | _free_text  # fmt: skip
_words = st.sampled_from(["server", "cloud", "idle", "absolute", "debug", "trace", "info",
                          "warning", "json", "jsonl", "table", "csv", "xml", "GET", "POST",
                          "DELETE", "PATCH", "get", "bogus", ""]) | _free_text  # fmt: skip
_fields = st.sampled_from(["pageSize=1", "filter=name:eq:x", "project[name]=fuzz", "a[]=1",
                           "a[][b]=2", "a=@-", "a=@/nonexistent", "=x", "a", "a[=1", "a]=1",
                           "x=true", "x=1e999", "x=-0.0", "a[b]=1"]) | _free_text  # fmt: skip
_headers = st.sampled_from(["Accept: application/xml", "X-Tableau-Auth: bogus", "NoColon",
                            ": empty", "Content-Type: text/plain", "X: \u00e9",
                            "x" * 10_000 + ": y", "Host: evil.example"]) | _free_text  # fmt: skip
_queries = st.sampled_from(["name", "[*].name", "{a: name}", "[", "length(@)", "`1`", "&", "@",
                            "a.b.c[?x > `1`]", ""]) | _free_text  # fmt: skip
_stores = st.sampled_from(["file", "memory", "bogus", "", "redis://127.0.0.1:1/0", "unix://",
                           "REDIS://x"])  # fmt: skip
_api_paths = st.sampled_from([
    "workbooks", "projects", "/serverinfo", "/api/3.23/serverinfo", "/sites/{site-id}/users",
    "/sites/{site-id}/users/{user-id}", "graphql", "users/nope", "../../_emulator/reset",
    "//127.0.0.1:1/x", "http://127.0.0.1:1/api/3.23/serverinfo", "/", "", "jobs/nope",
    "workbooks?pageSize=x", "%zz", "a" * 100_000, "/auth/signout",
]) | _free_text  # fmt: skip


@st.composite
def _secret_pairs(draw: st.DrawFn, parts: int, found: list[str]) -> str:
    """NAME:SECRET (or ID:SECRET_ID:SECRET_VALUE); the secret, when there is one, is noted in
    `found` so that the output can be searched for it."""
    shape = draw(st.sampled_from(["good", "good", "owner", "empty-name", "no-colon", "extra"]))
    name = draw(st.sampled_from(["ci", "admin", "é", "a b", "x" * 300]))
    secret = "sekrit-" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=6,
                                      max_size=6))  # fmt: skip
    if shape == "no-colon":
        return name
    found.append(secret)
    head = "" if shape == "empty-name" else name
    value = ":".join([head, *(["sid"] * (parts - 2)), secret])
    if shape == "owner":
        value += "@" + draw(st.sampled_from(["admin", "nobody", ""]))
    if shape == "extra":
        value += ":more"
    return value


def _paths(world: World, *, write: bool) -> st.SearchStrategy[str]:
    tmp = world.tmp
    inside = [str(tmp / n) for n in ("out", "out/x.twbx", "nope/deeper/x", "in.json", "é ü")]
    if write:  # never outside the temporary directory
        return st.sampled_from([*inside, str(tmp)])
    return st.sampled_from(
        [*inside, str(tmp / "in.xml"), str(tmp / "Book.twbx"), str(tmp / "data.hyper"),
         str(tmp / "notes.txt"), str(tmp), "-", "", "/nonexistent/x", "/dev/null",
         "x" * 5000, "\udcff"]
    )  # fmt: skip


def _urls(world: World) -> st.SearchStrategy[str]:
    """URLs that reach the emulator, a closed loopback port, or nothing at all (malformed):
    never a name to resolve, never another host."""
    emu = world.emu.url
    return st.sampled_from(
        [emu, emu + "/", emu + "/#/site/marketing/home", emu + "/api/3.23", "http://127.0.0.1:1",
         "https://127.0.0.1:1", "ftp://127.0.0.1", "http://", "://", "http://[::1", "", " ",
         "gopher://x", "x" * 5000 + "://", "http://127.0.0.1:99999", "http://user:pw@127.0.0.1:1",
         "https://[::1]:1", "http://127.0.0.1:1/" + "a" * 10_000]
    )  # fmt: skip


_BY_NAME = {
    "server": "url", "signin_redirect_host": "host", "host": "host", "store": "store",
    "admin": "pair", "user": "pair", "pat": "pair", "access_key": "pair", "connected_app": "app",
    "session_lifetime": "duration", "lifetime_limit": "duration", "exit_after": "duration",
    "probe_interval": "duration", "probe_limit": "duration", "timeout": "number",
    "job_duration": "duration", "api_version": "version", "max_api_version": "version",
    "input_file": "path", "tls_cert": "path", "tls_key": "path", "dest": "out", "file": "path",
    "source": "path", "raw_field": "field", "field": "field", "header": "header",
    "query": "jmespath", "path": "api-path", "mode": "word", "lifetime_kind": "word",
    "log_level": "word", "output_format": "word", "method": "word",
}  # fmt: skip
_NUMERIC = {"port", "seed_items", "seed", "page_size", "chunk_mb", "replay_limit", "latency",
            "max_stored_mb", "export_concurrency", "metadata_node_limit", "time_scale",
            "site_mismatch_status", "status", "export_latency"}  # fmt: skip


def values_for(name: str, world: World, secrets: list[str]) -> st.SearchStrategy[str]:
    kind = "number" if name in _NUMERIC else _BY_NAME.get(name, "text")
    strategies: dict[str, st.SearchStrategy[str]] = {
        "url": _urls(world), "host": _hosts, "store": _stores, "duration": _durations,
        "number": _numbers, "version": _versions, "path": _paths(world, write=False),
        "out": _paths(world, write=True), "field": _fields, "header": _headers,
        "jmespath": _queries, "api-path": _api_paths, "word": _words,
        "pair": _secret_pairs(2, secrets), "app": _secret_pairs(3, secrets),
    }  # fmt: skip
    return strategies.get(kind, _free_text)


_COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


@st.composite
def argument_vectors(draw: st.DrawFn, world: World, name: str) -> tuple[list[str], list[str]]:
    """(argv after `tabsession`, the secrets it holds). Option values always follow their
    option, so no secret ever lands where it is not one (as a positional or another's value)."""
    command = _COMMANDS[name]
    secrets: list[str] = []
    args = [name]
    options = [p for p in command.params if p.param_type_name == "option"
               and (name, p.name) not in NOT_FUZZED]  # fmt: skip
    for param in draw(st.lists(st.sampled_from(options), max_size=6)) if options else []:
        flag = draw(st.sampled_from(param.opts + param.secondary_opts))
        if param.is_flag:
            args.append(flag if draw(st.integers(0, 5)) else f"{flag}=maybe")
        else:
            args += [flag, draw(values_for(param.name or "", world, secrets))]
    positionals = [p for p in command.params if p.param_type_name == "argument"]
    for param in positionals:
        if draw(st.integers(0, 5)):
            value = draw(values_for(param.name or "", world, secrets))
            args.append(value if not value.startswith("-") else "./" + value)
    if draw(st.integers(0, 7)) == 0:
        args.append(draw(st.sampled_from(["--nope", "-Z", "extra", "--help", "-h"])))
    return args, secrets


def run(
    args: list[str], env: dict[str, str], stdin: bytes = b"", secrets: tuple[str, ...] = ()
) -> Any:
    result = CliRunner().invoke(app, args, input=stdin, env=env, catch_exceptions=True)
    output = result.stdout + result.stderr
    exception = result.exception
    if exception is not None and not isinstance(exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(exception))
        raise AssertionError(f"tabsession {args!r} raised:\n{trace}")
    assert "Traceback (most recent call last)" not in output, output[-3000:]
    assert result.exit_code in EXIT_CODES, (result.exit_code, output[-2000:])
    for secret in (*SECRETS, *secrets):
        assert secret not in output, f"{secret!r} printed by tabsession {args!r}"
    return result


# -- the tests -----------------------------------------------------------------------------------

_CONNECTING = [n for n in _COMMANDS if n not in SERVING]


@examples(0.6)
@given(st.data())
def test_serving_commands_fail_validation_in_one_line(world: World, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(SERVING))
    args, secrets = data.draw(argument_vectors(world, name))
    args += ["--help"] if data.draw(st.integers(0, 4)) == 0 else POISON[name]
    result = run(args, world.offline_env, secrets=tuple(secrets))
    assert result.exit_code in (0, 2), result.output[-2000:]


@examples(1.0)
@given(st.data())
def test_every_other_command_exits_with_a_code_from_the_table(
    world: World, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(_CONNECTING))
    args, secrets = data.draw(argument_vectors(world, name))
    stdin = data.draw(st.binary(max_size=200) | st.sampled_from([b"", b"\xff\xfe\n", b"{" * 5000]))
    if name == "login" and data.draw(st.booleans()):  # a secret on stdin, never echoed
        secret = "stdin-secret-" + str(data.draw(st.integers(0, 10**6)))
        secrets.append(secret)
        stdin = secret.encode() + b"\n"
        args.append("--secret-stdin")
    run(args, world.connected_env, stdin, tuple(secrets))


@examples(0.4)
@given(st.binary(max_size=2000) | st.sampled_from([b"\xff" * 10, b"<" * 100_000, b"\x00"]),
       st.sampled_from([[], ["-"], ["--json"], ["--status", "401"], ["--code", "²³⁴"]]))  # fmt: skip  # noqa: E501
def test_explain_reads_any_bytes_on_stdin(world: World, stdin: bytes, extra: list[str]) -> None:
    result = run(["explain", *extra], world.offline_env, stdin)
    assert result.exit_code in (0, 1, 2)


def test_explain_reads_at_most_its_limit_from_an_endless_file(world: World) -> None:
    result = run(["explain", "/dev/zero"], world.offline_env)
    assert result.exit_code in (0, 1)


# -- the profiles file ---------------------------------------------------------------------------

_toml_scalars = st.sampled_from(['"https://tableau.example.com"', '""', '"pat"', '"password"',
                                 '"keyring"', '"file"', "1", "-0", "1.5", "nan", "inf", "true",
                                 "1979-05-27T07:32:00Z", "[]", '["a", 1]', "{}", '{a = "b"}',
                                 "'''multi\nline'''", '"\\u00e9"', '"\\ud800"', '"\\x00"',
                                 '"' + "x" * 10_000 + '"'])  # fmt: skip
_toml_keys = st.sampled_from(["server", "site", "auth", "name", "secret_store", "api_version",
                              "store", "password", "token", "default", '"quoted key"', "a.b",
                              "é", "''"])  # fmt: skip


@st.composite
def profile_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["structured", "garbled", "deep", "huge", "binary"]))
    if kind == "deep":
        depth = draw(st.sampled_from([100, 5000, 50_000]))
        shape = draw(st.sampled_from(["array", "table"]))
        if shape == "array":
            return ("x = " + "[" * depth + "]" * depth + "\n").encode()
        return ("x = " + "{a = " * depth + "1" + "}" * depth + "\n").encode()
    if kind == "huge":
        return b'default = "p"\n[profiles.p]\nserver = "' + b"h" * 1_000_000 + b'"\n'
    if kind == "binary":
        return draw(st.binary(max_size=300))
    lines = []
    if draw(st.booleans()):
        lines.append(f"default = {draw(_toml_scalars)}")
    for _ in range(draw(st.integers(0, 3))):
        header = draw(st.sampled_from(["[profiles.p]", "[profiles.\"a b\"]", "[profiles]",
                                       "[[profiles]]", "[profiles.p.q]", "[other]", "[profiles.é]",
                                       "[profiles.p]"]))  # fmt: skip
        lines.append(header)
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(_toml_keys)} = {draw(_toml_scalars)}")
    if draw(st.booleans()):
        lines.append(f"profiles = {draw(_toml_scalars)}")
    text = "\n".join(lines) + "\n"
    if kind == "garbled":
        cut = draw(st.integers(0, len(text)))
        text = (
            text[:cut]
            + draw(st.sampled_from(["[", "=", '"', "\x00", "\r", "]]", "\\"]))
            + text[cut:]
        )
    return text.encode("utf-8", "surrogatepass")


@examples(0.6)
@given(profile_files(), st.sampled_from([None, "p", "a b", "nope"]))
def test_any_profiles_file_loads_or_fails_in_one_line(
    world: World, tmp_path_factory: pytest.TempPathFactory, content: bytes, chosen: str | None
) -> None:
    home = tmp_path_factory.mktemp("xdg")
    directory = home / "tabsession"
    directory.mkdir()
    (directory / "profiles.toml").write_bytes(content)
    failure = ""
    try:
        file = ProfileFile.load(directory)
        assert all(isinstance(p.server, str) for p in file.profiles.values())
        resolve(Flags(profile=chosen), env={}, directory=directory)
    except ConfigError as exc:  # MissingCredentials included
        failure = str(exc)
        assert failure
    assert "Traceback" not in failure
    env = {"XDG_CONFIG_HOME": str(home), "TABSESSION_PROFILE": chosen or ""}
    for args in (["profiles"], ["profiles", "--json"], ["logout"]):
        result = run(args, env)
        assert result.exit_code in (0, 2, 4), result.output[-2000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) <= 1


def test_a_profiles_file_that_is_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        ProfileFile.load(tmp_path)
