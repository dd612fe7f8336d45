"""Helpers for the store acceptance tests: the suite's emulator, credentials and Redis."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # tests/: the shared _redis helper and conftest

from _redis import RedisServer, ping, require_redis, running_cluster, running_redis  # noqa: E402
from integration._support import emulator, free_port, password, pat  # noqa: E402

__all__ = [
    "RedisServer",
    "emulator",
    "free_port",
    "password",
    "pat",
    "ping",
    "require_redis",
    "running_cluster",
    "running_redis",
]
