"""The ```python blocks of the README's "Long operations" section run as a user would paste
them, each on its own, against the embedded emulator. The Metadata API block needs the
emulator's Metadata API endpoint and is skipped where the emulator has none."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Long operations\n")
    end = text.index("\n## ", start + 1)
    return _BLOCK.findall(text[start:end])


BLOCKS = section_blocks()


def test_the_section_has_its_examples() -> None:
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_block_runs(number: int, capsys: pytest.CaptureFixture[str]) -> None:
    block = BLOCKS[number]
    if "graphql" in block and importlib.util.find_spec("tabsession.emulator.state.graphql") is None:
        pytest.skip("emulator without Metadata API")
    exec(compile(block, f"README.md (Long operations, block {number + 1})", "exec"), {})
    assert capsys.readouterr().err == ""
