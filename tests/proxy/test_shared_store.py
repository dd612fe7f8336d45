"""Two proxies sharing one store (a Redis server, or a directory on one host) hold one upstream
session between them: one sign-in at start, one per expiry, whichever proxy meets it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from _redis import require_redis, running_redis

from tabsession import Breaker
from tabsession.stores import FileStore, TokenStore

from ._support import local_sign_in, running_proxy, tapped_emulator

V = "3.23"
EXPIRIES = 3
MANY = Breaker(max_young_deaths=50)


@contextmanager
def _redis_stores(tmp_path: Path) -> Iterator[Callable[[], TokenStore]]:
    from tabsession.stores import RedisStore

    require_redis()
    with running_redis() as server:
        yield lambda: RedisStore(str(server))


@contextmanager
def _file_stores(tmp_path: Path) -> Iterator[Callable[[], TokenStore]]:
    yield lambda: FileStore(tmp_path / "store")


@pytest.mark.parametrize(
    "stores",
    [
        pytest.param(_redis_stores, marks=pytest.mark.redis, id="redis"),
        pytest.param(_file_stores, id="file"),
    ],
)
def test_two_proxies_one_store_one_upstream_session(
    tmp_path: Path, stores: Callable[[Path], AbstractContextManager[Callable[[], TokenStore]]]
) -> None:
    with ExitStack() as stack:
        new_store = stack.enter_context(stores(tmp_path))
        emu = stack.enter_context(tapped_emulator())
        proxies = [
            stack.enter_context(running_proxy(emu, store=new_store(), breaker=MANY))
            for _ in range(2)
        ]
        tokens = [local_sign_in(p.url) for p in proxies]
        assert emu.stats()["signins"] == 1
        site = emu.site_id("")

        def calls(index: int) -> int:
            url, token = proxies[index % 2].url, tokens[index % 2]
            answer = httpx.get(
                f"{url}/api/{V}/sites/{site}/projects", headers={"X-Tableau-Auth": token}
            )
            return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(calls, range(16)))
            for _ in range(EXPIRIES):
                emu.expire_sessions()
                statuses += list(pool.map(calls, range(16)))
        assert set(statuses) == {200}
        stats = emu.stats()
        assert stats["signins"] == 1 + EXPIRIES
        assert stats["sessions_superseded"] == 0  # no PAT sign-in ever ended a live session
        assert sum(p.stats()["upstream_signins"] for p in proxies) == 1 + EXPIRIES
