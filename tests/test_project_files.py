"""The files a project ships beside its code: a LICENSE that matches pyproject, the docs the code
cites (the rules R1-R11 and the architecture), and the `py.typed` marker."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_license_file_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_rules_cited_by_the_code_are_written_down() -> None:
    rules = (ROOT / "docs" / "rules.md").read_text()
    cited: set[str] = set()
    for path in (ROOT / "src" / "tabsession").rglob("*.py"):
        cited.update(re.findall(r"\bR(1[01]b?|[1-9])\b", path.read_text()))
    assert cited, "the code cites no rule: the pattern is wrong"
    missing = sorted(r for r in cited if not re.search(rf"^#+ .*\bR{r}\b", rules, re.MULTILINE))
    assert not missing, f"rules cited in src/ without a heading in docs/rules.md: {missing}"
    assert (ROOT / "docs" / "architecture.md").stat().st_size > 1000


def test_package_is_marked_typed() -> None:
    assert (ROOT / "src" / "tabsession" / "py.typed").exists()
