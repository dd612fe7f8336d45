"""A local Tableau Server / Tableau Cloud for tests, demos and benchmarks (`tabsession[emulator]`).

    from tabsession.emulator import Emulator
    with Emulator(seed_items=100) as emu:
        ...  # point any Tableau REST client (tabsession, TSC, curl) at emu.url

It reproduces sign-in (password, PAT, connected-app JWT), session expiry (idle or absolute, on a
clock you can move), the one-session-per-PAT rule, site scoping, Tableau's error bodies, paged
content with filters, publishing (single and chunked), downloads, refresh jobs on the emulated
clock, view exports, and injected faults. Its XML answers follow Tableau's published schema.
See `EmulatorConfig` for every knob and `tabsession.emulator.control` for the `/_emulator/`
control plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tabsession.emulator.config import Account, ConnectedApp, EmulatorConfig, PatSpec
from tabsession.emulator.faults import FaultRule

if TYPE_CHECKING:
    from tabsession.emulator.server import Emulator

__all__ = ["Account", "ConnectedApp", "Emulator", "EmulatorConfig", "FaultRule", "PatSpec"]


def __getattr__(name: str) -> Any:
    # The server pulls in uvicorn; load it only when asked for.
    if name == "Emulator":
        from tabsession.emulator.server import Emulator

        return Emulator
    raise AttributeError(name)
