"""`python -m benchmarks [--quick] [--only NAME ...] [--record]`: run the benchmarks.

Each benchmark's rows are printed as a markdown table (name | value | unit | goal | notes) on
stdout; progress goes to stderr. `--record` appends a dated section to BENCHMARKS.md: the exact
command, the machine, and the tables. Run from the repository root.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks._report import progress, table

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "BENCHMARKS.md"
PACKAGES = ("tabsession", "httpx", "tableauserverclient", "uvicorn")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs (about a minute)")
    parser.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=f"some of {BENCHMARKS}"
    )
    parser.add_argument("--record", action="store_true", help=f"append the tables to {RECORD}")
    return parser.parse_args(argv)


def _command(argv: list[str]) -> str:
    python = sys.executable
    try:
        relative = os.path.relpath(python, Path.cwd())
        if not relative.startswith(".."):
            python = relative
    except ValueError:  # another drive (Windows)
        pass
    return shlex.join([python, "-m", "benchmarks", *argv])


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head  # fmt: skip


def _machine() -> list[str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return [
        f"- Machine: {os.cpu_count()} cores (os.cpu_count()), {platform.platform()}; "
        f"load average at start {load}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {versions}",
        f"- Commit: {_git()}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    given = sys.argv[1:] if argv is None else argv
    names = [n for n in BENCHMARKS if args.only is None or n in args.only]
    started = datetime.now(timezone.utc)
    header = _machine()
    sections: list[str] = []
    failures = 0
    for name in names:
        progress(f"{name}: starting{' (quick)' if args.quick else ''}")
        began = time.monotonic()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows = module.run(quick=args.quick)
        except Exception as exc:  # recorded as a failed benchmark; the others still run
            failures += 1
            traceback.print_exc()
            body = f"**FAILED**: `{type(exc).__name__}: {exc}`"
        else:
            body = table(rows)
        seconds = time.monotonic() - began
        progress(f"{name}: done in {seconds:.0f} s")
        section = f"#### {name} ({seconds:.0f} s)\n\n{body}\n"
        print(section, flush=True)
        sections.append(section)
    if args.record:
        when = started.strftime("%Y-%m-%d %H:%M UTC")
        kind = "quick run" if args.quick else "full run"
        text = "\n".join(
            [
                f"### {when}: {kind}",
                "",
                f"Command (from the repository root): `{_command(given)}`",
                "",
                *header,
                "",
                *sections,
            ]
        )
        if not RECORD.exists():
            RECORD.write_text("# Benchmarks\n")
        with RECORD.open("a", encoding="utf-8") as out:
            out.write("\n" + text)
        progress(f"recorded in {RECORD}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
