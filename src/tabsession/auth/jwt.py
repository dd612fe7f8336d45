"""Minimal HS256 JSON Web Tokens (RFC 7519) with the standard library.

Enough for Tableau connected apps (direct trust): the client mints with `encode_hs256`, the
emulator checks with `decode_hs256`. No other algorithm is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

__all__ = ["JwtError", "decode_hs256", "encode_hs256", "read_unverified"]


class JwtError(ValueError):
    """The token is malformed, uses another algorithm, or its signature does not match."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError) as exc:
        raise JwtError("malformed base64url segment") from exc


def _sign(signing_input: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()


def encode_hs256(payload: dict[str, Any], secret: str, *, kid: str | None = None) -> str:
    """Sign `payload` with HS256; `kid` goes into the header (Tableau: the secret id)."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":")).encode())
    )
    return signing_input + "." + _b64(_sign(signing_input.encode("ascii"), secret))


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, WITHOUT checking the signature (to find the key by `kid`)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("a JWT has three dot-separated parts")
    try:
        header = json.loads(_unb64(parts[0]))
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwtError("JWT header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwtError("JWT header and payload must be JSON objects")
    return header, payload


def decode_hs256(token: str, secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify an HS256 signature and return (header, payload). Claims are not checked here."""
    header, payload = read_unverified(token)
    if header.get("alg") != "HS256":
        raise JwtError("only HS256 is accepted")
    signing_input, _, signature = token.rpartition(".")
    if not hmac.compare_digest(_sign(signing_input.encode("ascii"), secret), _unb64(signature)):
        raise JwtError("JWT signature does not match")
    return header, payload
