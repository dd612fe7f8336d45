"""A short token-store outage costs nothing: a call that needs the store while Redis restarts
waits for it (up to `STORE_GRACE` seconds) instead of failing; a longer one still raises
`StoreUnavailable`, bounded."""

from __future__ import annotations

import threading

import pytest

import tabsession
from tabsession.auth.manager import STORE_GRACE
from tabsession.stores import RedisStore
from tests._redis import require_redis, running_redis
from tests.integration._support import emulator, pat


def test_a_call_needing_the_store_waits_out_a_redis_restart() -> None:
    require_redis()
    with running_redis() as redis, emulator() as emu:
        tab = tabsession.Client(emu.url, pat(), store=RedisStore(str(redis)))
        tab.get("projects")
        redis.kill()  # a crash: the session record is gone with it
        emu.expire_sessions()  # and the next call needs a new session, through the store
        restarter = threading.Timer(1.0, redis.restart)
        restarter.start()
        try:
            assert tab.get("projects")["pagination"]["totalAvailable"] == "1"
        finally:
            restarter.join()
        assert emu.stats()["signins"] == 2
        assert tab.session is not None
        tab.close()


def test_a_long_outage_still_fails_within_the_grace() -> None:
    require_redis()
    with running_redis() as redis, emulator() as emu:
        tab = tabsession.Client(emu.url, pat(), store=RedisStore(str(redis)))
        tab.get("projects")
        redis.kill()
        emu.expire_sessions()
        with pytest.raises(tabsession.StoreUnavailable):
            tab.get("projects")
        assert emu.stats()["signins"] == 1  # nothing signed in without the store
        assert STORE_GRACE <= 10
        tab.close()
