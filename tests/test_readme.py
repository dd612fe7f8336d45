"""Every ```python block of README.md runs (a pasted example once failed with a NameError).

Blocks run in order, each in a fresh namespace, against an embedded emulator standing in for the
example server: `https://tableau.example.com` in a block is the emulator's URL, which knows the
README's example credentials. A block that starts its own emulator runs as written. Blocks that
are not Python to run (shell, output, fragments) use ```console, ```sh or ```text fences.
"""

from __future__ import annotations

import gc
import re
import warnings
from pathlib import Path

import pytest

from tabsession.emulator import Account, Emulator, PatSpec

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE_SERVER = "https://tableau.example.com"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = python_blocks()


def test_the_readme_has_runnable_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.fixture(scope="module")
def example_server() -> Emulator:
    with Emulator(
        pats=(PatSpec("ci-token", "…secret…"), PatSpec("ci", "s3cret")),
        admin=Account("admin", "admin", "ServerAdministrator"),
        sites=("marketing", "sales"),
        seed_items=20,
    ) as emu:
        yield emu


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_block_runs(
    line: int, code: str, example_server: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    source = code.replace(EXAMPLE_SERVER, example_server.url)
    namespace: dict[str, object] = {"__name__": f"readme_line_{line}"}
    with warnings.catch_warnings():
        # third-party clients shown in examples (TSC's requests sessions) may leave a pooled
        # socket for the garbage collector: not the example's fault
        warnings.simplefilter("ignore", ResourceWarning)
        exec(compile(source, f"README.md:{line}", "exec"), namespace)
        namespace.clear()
        gc.collect()
