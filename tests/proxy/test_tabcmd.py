"""Tableau's own CLI, tabcmd, unmodified, through the proxy: 20 invocations against an emulator
whose sessions end every 10 seconds, plus one forced expiry, all succeed on a handful of
upstream sign-ins. Straight to the emulator, the same invocations sign in on every command.

tabcmd keeps its session in ~/tableau_auth.json: each test gives it a HOME of its own.
"""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import pytest
from conftest import PAT_NAME, PAT_SECRET

from tabsession.emulator.server import Emulator

from ._support import running_proxy, tapped_emulator
from ._tools import tabcmd

LIFETIME = 10.0
INVOCATION_TIMEOUT = 60


def _commands(url: str) -> list[list[str]]:
    login = ["login", "-s", url, "--token-name", PAT_NAME, "--token-value", PAT_SECRET]
    steps: list[list[str]] = [login, ["listsites"]]
    for n in range(8):
        steps.append(["createproject", "-n", f"through-proxy-{n}"])
        steps.append(["deleteproject", f"through-proxy-{n}"])
    return [*steps, ["listsites"], ["logout"]]


def _run(binary: str, home: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return subprocess.run(
        [binary, *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=INVOCATION_TIMEOUT,
        check=False,
    )


def _invoke_all(binary: str, home: Path, url: str, emu: Emulator) -> list[str]:
    failures = []
    commands = _commands(url)
    assert len(commands) == 20
    for number, args in enumerate(commands):
        if number == len(commands) // 2:
            emu.expire_sessions()  # the forced expiry, mid-run
        done = _run(binary, home, args)
        if done.returncode != 0:
            failures.append(f"tabcmd {args[0]} -> {done.returncode}: {done.stdout[-400:]}")
    return failures


def test_twenty_tabcmd_invocations_through_the_proxy_cost_one_sign_in_per_lifetime(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    binary = tabcmd()
    with (
        tapped_emulator(session_lifetime=LIFETIME, lifetime_kind="absolute") as emu,
        running_proxy(emu) as proxy,
    ):
        started = emu.state.clock.time()
        failures = _invoke_all(binary, tmp_path, proxy.url, emu)
        lifetimes = math.ceil((emu.state.clock.time() - started) / LIFETIME)
        stats = emu.stats()
    record_property("upstream_signins", stats["signins"])
    record_property("lifetimes", lifetimes)
    assert failures == []
    # one per lifetime, plus the first, plus the forced expiry
    assert stats["signins"] <= lifetimes + 2, (stats["signins"], lifetimes)
    assert proxy.stats()["local_signins"] >= 19  # tabcmd signs in again on every command


def test_baseline_the_same_invocations_straight_to_tableau_sign_in_every_time(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    binary = tabcmd()
    with tapped_emulator(session_lifetime=LIFETIME, lifetime_kind="absolute") as emu:
        failures = _invoke_all(binary, tmp_path, emu.url, emu)
        signins = emu.stats()["signins"]
    assert failures == []
    record_property("baseline_signins", signins)
    assert signins >= 19, signins  # every command but logout signs in on its own
