"""Dictionary test: after a password sign-in, every byte of a FileStore and of the Redis keys is
searched for plain hashes (md5, sha1, sha2, sha3, blake2) of every combination of user,
password and server, in hex or raw, whole or truncated, and for the keys of the old unsalted
scheme. None may appear, and two stores must give one credential different ids."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import tabsession
from tabsession._core import normalize_server
from tabsession.stores import FileStore, session_key
from tests.stores._support import emulator, password, require_redis, running_redis

ALGORITHMS = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha3_256",
    "blake2b",
    "blake2s",
)
SEPARATORS = ("", "\x00", ":", "|", "/", "\n", " ", "@")
WINDOW = 12  # hex characters (48 bits): any run this long of a digest counts as a match


def candidates(user: str, secret: str, server: str) -> Iterator[str]:
    """Every ordered combination of 1-3 of the values (plus the kind label and the server's
    variants), joined by every separator."""
    servers = {server, server.rstrip("/"), server.lower(), server.rstrip("/").lower()}
    for server_form in servers:
        values = [user, secret, server_form, "password", ""]
        for size in (1, 2, 3, 4):
            for combo in itertools.permutations(values, size):
                for separator in SEPARATORS:
                    yield separator.join(combo)


def digests(text: str) -> Iterator[tuple[bytes, bytes]]:
    """(raw prefix, lowercase hex prefix) of every algorithm's digest of `text`."""
    data = text.encode()
    for name in ALGORITHMS:
        digest = hashlib.new(name, data).digest()
        yield digest[: WINDOW // 2], digest.hex()[:WINDOW].encode()


def old_scheme_values(user: str, secret: str, server: str) -> list[bytes]:
    """What the unsalted scheme wrote: credential id and session key (hex)."""
    identity = hashlib.sha256(f"password\x00{user}\x00{secret}".encode()).hexdigest()[:24]
    key = session_key(server, "", identity)
    return [identity.encode(), key.encode(), tabsession.Password(user, secret).identity.encode()]


def assert_no_plain_hash(blob: bytes, user: str, secret: str, server: str) -> int:
    """Fail on any plain hash found in `blob`; return how many digests were tried."""
    lowered = blob.lower()
    tried = 0
    for text in set(candidates(user, secret, server)):
        for raw, hex_prefix in digests(text):
            tried += 1
            assert raw not in blob, f"a raw hash of {text!r} is in the store"
            assert hex_prefix not in lowered, f"a hex hash of {text!r} is in the store"
    for value in old_scheme_values(user, secret, server):
        assert value[:WINDOW] not in lowered, "a value of the old unsalted scheme is in the store"
    assert secret.encode() not in blob
    return tried


def test_the_search_finds_what_the_old_scheme_wrote() -> None:
    """The check catches the old unsalted ids and any plain hash: it proves something."""
    old_identity = hashlib.sha256(b"password\x00admin\x00pw").hexdigest()[:24].encode()
    with pytest.raises(AssertionError):
        assert_no_plain_hash(b'{"credential_id": "' + old_identity + b'"}', "admin", "pw", "x")
    plain = hashlib.md5(b"admin:pw", usedforsecurity=False).hexdigest().encode()
    with pytest.raises(AssertionError):
        assert_no_plain_hash(b"name-" + plain, "admin", "pw", "x")


def file_store_bytes(directory: Path) -> bytes:
    """Every file name and every byte of every file."""
    parts = []
    for path in sorted(directory.rglob("*")):
        parts.append(path.name.encode())
        if path.is_file():
            parts.append(path.read_bytes())
    return b"\n".join(parts)


def sign_in_with_password(url: str, store: object) -> None:
    with tabsession.Client(url, password(), store=store) as tab:  # type: ignore[arg-type]
        tab.get("projects")


def credential_ids_in(blob_values: list[bytes]) -> set[str]:
    ids = set()
    for value in blob_values:
        try:
            ids.add(json.loads(value)["credential_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def test_a_file_store_holds_no_plain_hash_and_two_stores_differ(tmp_path: Path) -> None:
    auth = password()
    with emulator() as emu:
        server = normalize_server(emu.url)
        first, second = tmp_path / "first", tmp_path / "second"
        sign_in_with_password(emu.url, FileStore(first))
        sign_in_with_password(emu.url, FileStore(second))
        blob = file_store_bytes(first) + file_store_bytes(second)
        tried = assert_no_plain_hash(blob, auth.username, auth.password.reveal(), server)
        assert tried > 10_000, "the dictionary must be big enough to mean something"
        records = [p.read_bytes() for d in (first, second) for p in d.glob("*.json")]
        assert len(records) == 2
        ids = credential_ids_in(records)
        assert len(ids) == 2, "two stores give the same credential different ids"
        names = [{p.name for p in d.glob("*.json")} for d in (first, second)]
        assert names[0].isdisjoint(names[1]), "and different file names"


@pytest.mark.redis
def test_redis_keys_hold_no_plain_hash_and_two_stores_differ() -> None:
    require_redis()
    redis = pytest.importorskip("redis")
    from tabsession.stores import RedisStore

    auth = password()
    with running_redis() as redis_url, running_redis() as other_url, emulator() as emu:
        server = normalize_server(emu.url)
        sign_in_with_password(emu.url, RedisStore(redis_url))
        sign_in_with_password(emu.url, RedisStore(other_url))
        values: list[bytes] = []
        blob = b""
        for url in (redis_url, other_url):
            raw = redis.Redis.from_url(url)
            for name in raw.keys("*"):
                value = raw.get(name) or b""
                values.append(value)
                blob += name + b"\n" + value + b"\n"
            raw.close()
        assert blob, "the sign-in wrote nothing to Redis"
        assert_no_plain_hash(blob, auth.username, auth.password.reveal(), server)
        assert len(credential_ids_in(values)) == 2, "two stores give the credential two ids"
