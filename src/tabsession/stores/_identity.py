"""Keyed names: what a persistent store reveals about the credential behind a session (nothing).

Clients key a session by `session_key(server, site, credential.identity)`, where `identity` is a
plain hash that, for a password, includes the password. Written as is into a directory or Redis,
that key and the record's `credential_id` could be checked against a dictionary: hash a guess,
compare. So the stores that persist (`FileStore`, `RedisStore`) never write either. They write

    name          = HMAC-SHA256(secret, "name\\0" + key)[:32 hex]        the file / Redis key name
    credential_id = HMAC-SHA256(secret, "credential\\0" + key)[:32 hex]  inside the record

where `secret` is 32 random bytes drawn when the store is first used (a 0600 file created with
O_EXCL in a FileStore's directory, a key set with SET NX in Redis), or the `secret=` the store was
given. `load()` only returns a record whose `credential_id` is the one its key gives, so a record
copied under another name is ignored, and records written before this scheme (named by the plain
key) are simply never looked up: upgrading costs one sign-in, never a misread record.

Why a keyed hash with a random per-store secret, and not a slow KDF:
- Without the secret, names and ids are indistinguishable from random: no dictionary, no
  precomputed table, no match between two stores (each draws its own secret), nor with a key
  listing, a backup or a log line that lacks the secret.
- Whoever can read the secret can also read the session tokens it sits next to; a guess then
  costs one HMAC. A slow KDF would make each guess cost ~50-100 ms and 16 MiB, and every process
  would pay that at start-up per credential, yet a small dictionary would still fall. Neither
  protects a weak password against someone holding the whole store; keeping the secret out of
  the store does: pass `secret=` (from a secrets manager or an environment variable) and the
  store's contents alone reveal nothing.
- HMAC is fast, so every store call can derive names (no cache, no start-up cost).

`MemoryStore` keeps the client's key as is: its contents never leave the process.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import replace

from tabsession.stores.base import StoredSession

__all__ = [
    "SECRET_BYTES",
    "KeyedNames",
    "decode_secret",
    "encode_secret",
    "given_secret",
    "new_secret",
]

SECRET_BYTES = 32
_MIN_GIVEN_SECRET_BYTES = 16


def new_secret() -> bytes:
    """A fresh random store secret."""
    return secrets.token_bytes(SECRET_BYTES)


def encode_secret(secret: bytes) -> bytes:
    """How a secret is stored: hex, one line."""
    return binascii.hexlify(secret) + b"\n"


def decode_secret(data: bytes) -> bytes | None:
    """The secret in stored bytes, or None if they are not one we wrote."""
    try:
        secret = binascii.unhexlify(data.strip())
    except (binascii.Error, ValueError):
        return None
    return secret if len(secret) == SECRET_BYTES else None


def given_secret(value: str | bytes) -> bytes:
    """A caller-supplied `secret=` as bytes (at least 16 bytes; str is UTF-8 encoded)."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    if len(raw) < _MIN_GIVEN_SECRET_BYTES:
        raise ValueError(f"secret must be at least {_MIN_GIVEN_SECRET_BYTES} bytes long")
    return raw


class KeyedNames:
    """A store's names for a client key, derived with the store's secret (see the module doc)."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: bytes, key: str) -> str:
        digest = hmac.new(self._secret, purpose + b"\x00" + key.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def name(self, key: str) -> str:
        """The file / Redis key name of `key`'s record and lock."""
        return self._mac(b"name", key)

    def credential_id(self, key: str) -> str:
        """The `credential_id` written into `key`'s record."""
        return self._mac(b"credential", key)

    def seal(self, key: str, record: StoredSession) -> StoredSession:
        """`record` as written under `key`: its credential id replaced by the keyed one."""
        return replace(record, credential_id=self.credential_id(key))

    def belongs(self, key: str, record: StoredSession) -> bool:
        """Whether `record` was written under `key` with this secret."""
        return hmac.compare_digest(record.credential_id, self.credential_id(key))

    def parse(self, key: str, data: bytes) -> StoredSession | str:
        """The record stored under `key` in `data`, or why it is not one (a reason to log:
        deliberately vague, since parser messages can quote the content, a token)."""
        try:
            record = StoredSession.from_dict(json.loads(data))
        except (ValueError, OverflowError, RecursionError):
            # OverflowError: from_dict() lets int(Infinity) through.
            return "is corrupt, truncated or not a tabsession session record"
        if not self.belongs(key, record):
            return "holds a session for another key than its name says"
        return record

    def __repr__(self) -> str:
        return "KeyedNames(<secret>)"
