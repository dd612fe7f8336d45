"""`AsyncClient` against the emulator: the same essentials as the blocking client (lazy sign-in,
round trips, pagination order, expiry and replay, errors, retries, JWT providers), driven with
`asyncio.run` inside ordinary tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from conftest import APP_SECRET

from tabsession import (
    JWT,
    AsyncClient,
    BadRequest,
    Breaker,
    Client,
    ConfigurationError,
    ConnectedAppJWT,
    MemoryStore,
    SessionExpired,
    SignInFailed,
    SiteMismatch,
    TransportError,
)
from tabsession.emulator import ConnectedApp
from tabsession.testing import instant_waits

from ._support import (
    AsyncSleeps,
    Events,
    counter,
    emulator,
    fired,
    free_port,
    matched,
    password,
    pat,
)

T = TypeVar("T")
APP = ConnectedApp("app-client-id", "app-secret-id", APP_SECRET)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


def connected_app() -> ConnectedAppJWT:
    return ConnectedAppJWT(APP.client_id, APP.secret_id, APP_SECRET, "admin")


def test_lazy_sign_in_and_round_trips() -> None:
    with emulator(sites=("marketing",)) as emu:

        async def scenario() -> None:
            tab = AsyncClient(emu.url, pat(), site="marketing")
            assert emu.stats()["requests"] == 0
            assert tab.session is None
            async with tab:
                info = await tab.server_info()
                assert info["restApiVersion"] == "3.23"
                assert emu.stats()["signins"] == 0
                created = await tab.post("projects", json={"project": {"name": "Async"}})
                project_id = created["project"]["id"]
                fetched = await tab.get(f"projects/{project_id}")
                assert fetched["project"]["name"] == "Async"
                updated = await tab.put(
                    f"projects/{project_id}", json={"project": {"name": "Renamed"}}
                )
                assert updated["project"]["name"] == "Renamed"
                assert await tab.delete(f"projects/{project_id}") is None
                current = await tab.get("/sessions/current")
                assert current["session"]["site"]["id"] == emu.site_id("marketing")
                session = tab.session
                assert session is not None
                assert session.site_content_url == "marketing"
                assert tab.stats.sign_ins == 1
            stats = emu.stats()
            assert (stats["signins"], stats["signouts"], stats["active_sessions"]) == (1, 1, 0)
            with pytest.raises(ConfigurationError, match="closed"):
                await tab.get("projects")

        run(scenario)


def test_relative_paths_follow_a_site_switch() -> None:
    with emulator(sites=("marketing",)) as emu:
        emu.set_faults([counter(f"^sites/{emu.site_id('marketing')}/workbooks$")])

        async def scenario() -> None:
            async with AsyncClient(emu.url, password()) as tab:
                await tab.get("workbooks")
                assert matched(emu) == [0]
                info = await tab.switch_site("marketing")
                assert info.site_id == emu.site_id("marketing")
                await tab.get("workbooks")
                assert matched(emu) == [1]

        run(scenario)


def test_pagination_yields_every_item_once_in_order() -> None:
    with emulator(seed_items=100) as emu:
        emu.set_faults([counter("^sites/[^/]+/workbooks$")])

        async def scenario() -> list[str]:
            async with AsyncClient(emu.url, password()) as tab:
                names = [w["name"] async for w in tab.paginate("workbooks", page_size=10)]
                sequential = [
                    w["id"] async for w in tab.paginate("workbooks", page_size=30, concurrency=1)
                ]
                assert len(set(sequential)) == 100
                return names

        assert run(scenario) == [f"Workbook {i:05d}" for i in range(1, 101)]
        assert matched(emu) == [10 + 4]


def test_pagination_with_filters_survives_an_expiry_midway() -> None:
    params = {"filter": "name:gte:Workbook 00021", "sort": "name:desc"}
    with emulator(seed_items=120) as emu:
        expected = [f"Workbook {i:05d}" for i in range(120, 20, -1)]

        async def scenario() -> list[str]:
            seen: list[str] = []
            async with AsyncClient(emu.url, pat(), breaker=Breaker(max_young_deaths=10)) as tab:
                async for item in tab.paginate("workbooks", page_size=10, params=params):
                    seen.append(item["name"])
                    if len(seen) == 25:
                        emu.expire_sessions()
                assert tab.stats.replays >= 1
            return seen

        assert run(scenario) == expected
        assert emu.stats()["signins"] == 2


def test_concurrent_tasks_meeting_an_expiry_sign_in_once() -> None:
    with emulator(seed_items=10) as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, pat()) as tab:
                await tab.get("projects")
                emu.expire_sessions()
                answers = await asyncio.gather(*(tab.get("workbooks") for _ in range(25)))
                assert all(a["workbooks"]["workbook"] for a in answers)
                assert tab.stats.sign_ins == 2
                session = tab.session
                assert session is not None
                assert session.generation == 2

        run(scenario)
        stats = emu.stats()
        assert stats["signins"] == 2  # 25 failures, one sign-in
        assert stats["status_counts"]["401"] == 25


def test_errors() -> None:
    with emulator(sites=("marketing",)) as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, password(), site="marketing") as tab:
                with pytest.raises(BadRequest) as bad:
                    await tab.post("projects", json={"project": {}})
                assert bad.value.code == "400000"
                with pytest.raises(SiteMismatch) as mismatch:
                    await tab.get(f"/sites/{emu.site_id('')}/projects")
                assert mismatch.value.requested_site_id == emu.site_id("")
                assert mismatch.value.session_site_id == emu.site_id("marketing")
                assert mismatch.value.session_site_content_url == "marketing"
                emu.set_faults([{"kind": "kill_session", "path": "groups$"}])
                with pytest.raises(SessionExpired):
                    await tab.get("groups")

        run(scenario)
        # the first, then one per distinct kill: three replays, each refused by a newer session
        assert emu.stats()["signins"] == 4


def test_refused_sign_in_is_attempted_once() -> None:
    with emulator() as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, pat(), site="nowhere") as tab:
                for _ in range(3):
                    with pytest.raises(SignInFailed) as caught:
                        await tab.get("projects")
                assert "'nowhere'" in caught.value.likely_cause

        run(scenario)
        assert emu.stats()["signin_failures"] == 1


def test_retry_uses_the_injected_async_sleeper() -> None:
    sleeps = AsyncSleeps()
    with emulator() as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, password(), sleep=sleeps) as tab:
                await tab.sign_in()
                emu.set_faults(
                    [
                        {
                            "kind": "status",
                            "path": "projects$",
                            "status": 429,
                            "retry_after": "3",
                            "times": 1,
                        },
                        {"kind": "status", "path": "users$", "status": 503, "times": 1},
                    ]
                )
                await tab.get("projects")
                await tab.get("users")
                assert tab.stats.retries == 2

        run(scenario)
        assert sleeps.calls[0] == 3.0
        assert 0.5 <= sleeps.calls[1] < 1.0
        assert fired(emu) == [1, 1]


def test_connection_refused_after_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        async with AsyncClient(url, password(), api_version="3.23") as tab:
            with pytest.raises(TransportError) as caught:
                await tab.get("projects")
            assert caught.value.sent is False
            assert tab.stats.retries == 2  # a sign-in gets 3 attempts (it runs under the lock)

    with instant_waits():
        run(scenario)


# -- JWT providers ---------------------------------------------------------------------------------


def test_async_jwt_provider_mints_a_token_per_sign_in() -> None:
    minter = connected_app()
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return minter.mint()

    with emulator(connected_apps=(APP,)) as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, JWT(provider, identity_hint="admin")) as tab:
                await tab.get("projects")
                emu.expire_sessions()
                await tab.get("projects")

        run(scenario)
        stats = emu.stats()
        assert (stats["signins"], stats["jwt_replays_refused"], calls) == (2, 0, 2)
        assert stats["signins_by_kind"] == {"jwt": 2}


def test_connected_app_with_the_async_client() -> None:
    with emulator(connected_apps=(APP,)) as emu:

        async def scenario() -> None:
            async with AsyncClient(emu.url, connected_app()) as tab:
                await tab.get("projects")

        run(scenario)
        assert emu.stats()["signins_by_kind"] == {"jwt": 1}


def test_the_blocking_client_refuses_an_async_provider() -> None:
    async def provider() -> str:
        return "never used"

    with emulator(connected_apps=(APP,)) as emu, Client(emu.url, JWT(provider)) as tab:
        with pytest.raises(ConfigurationError, match="AsyncClient"):
            tab.get("projects")
        assert emu.stats()["signins"] == 0


# -- sharing a session with a blocking client ------------------------------------------------------


def test_a_sync_store_shares_one_session_between_a_client_and_an_async_client() -> None:
    store = MemoryStore()
    events = Events()
    with emulator() as emu, Client(emu.url, pat(), store=store) as blocking:
        blocking.get("projects")

        async def scenario() -> dict[str, Any]:
            async with AsyncClient(emu.url, pat(), store=store, on_event=events) as tab:
                answer: dict[str, Any] = await tab.get("projects")
                return answer

        assert run(scenario)["projects"]
        assert emu.stats()["signins"] == 1
        assert events.named("signin") == []
        assert emu.stats()["signouts"] == 0  # a shared session is never ended on close
