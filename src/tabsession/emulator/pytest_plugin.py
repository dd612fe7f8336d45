"""pytest fixtures for the Tableau emulator (registered as the `tabsession` pytest plugin).

    def test_listing(tableau_emulator):
        # a fresh emulator per test, started on a free port of 127.0.0.1
        httpx.get(tableau_emulator.url + "/api/3.23/serverinfo")

    @pytest.mark.tableau_emulator(mode="cloud", session_lifetime=90, seed_items=50)
    def test_cloud(tableau_emulator): ...

    def test_two_servers(tableau_emulator_factory):
        a = tableau_emulator_factory(mode="server")
        b = tableau_emulator_factory(EmulatorConfig(mode="cloud"), clock=ManualClock())

The marker takes `EmulatorConfig` fields as keywords, plus `config=` (a whole `EmulatorConfig`),
`clock=` (e.g. a `tabsession.clock.ManualClock` shared with the client under test), `host=`,
`port=` and `log_level=`, exactly like `tabsession.emulator.Emulator`. Without a marker the
emulator has the defaults: Tableau Server mode, admin/admin, 10 seeded workbooks per site.
Every emulator a fixture starts is stopped when the test ends.

The emulator's server (uvicorn, starlette) is imported only when a fixture is used, so this
plugin costs nothing in projects that install tabsession without its `emulator` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tabsession.emulator.config import EmulatorConfig
    from tabsession.emulator.server import Emulator

__all__ = ["pytest_configure", "tableau_emulator", "tableau_emulator_factory"]

MARKER = "tableau_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**fields): configure the tableau_emulator fixture for this test "
        "(EmulatorConfig fields, or config=, clock=, host=, port=, log_level=)",
    )


def _start(config: EmulatorConfig | None, options: dict[str, Any]) -> Emulator:
    try:
        from tabsession.emulator.server import Emulator
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        pytest.fail(
            f"the tableau_emulator fixtures need tabsession[emulator] ({exc})", pytrace=False
        )
    try:
        emulator = Emulator(config, **options)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"bad emulator configuration: {exc}", pytrace=False)
    return emulator.start()


@pytest.fixture
def tableau_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A started `Emulator`, configured by the nearest `@pytest.mark.tableau_emulator(...)`."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = {}
    if marker is not None:
        if marker.args:
            pytest.fail(f"@pytest.mark.{MARKER} takes keywords only", pytrace=False)
        options = dict(marker.kwargs)
    config = options.pop("config", None)
    emulator = _start(config, options)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def tableau_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """A function that starts emulators: `factory(config=None, **fields) -> Emulator`.

    Takes the same arguments as `Emulator`; all emulators it started stop at teardown.
    """
    started: list[Emulator] = []

    def factory(config: EmulatorConfig | None = None, **options: Any) -> Emulator:
        emulator = _start(config, options)
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in reversed(started):
            emulator.stop()
