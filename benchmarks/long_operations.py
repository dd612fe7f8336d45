"""Publish and download throughput of tabsession's long operations, side by side with TSC's
publish and a raw httpx stream of the same file.

Issue 11 goals: a 200 MB publish and download with flat memory (peak Python heap at most
three blocks for a publish, a few MiB for a download, whatever the file's size), publish
throughput at least TSC's (the same emulator, the same file), download throughput within 10 %
of a raw httpx stream into a new file (the disk writes dominate on a loaded machine).

The emulator runs as the real command in its own process (`--max-stored-mb 2048`). Rounds
alternate the compared variants; each value is the median MB/s over the rounds (MB = 10^6
bytes). One more run of each variant under `tracemalloc` gives its peak Python heap, so the
timed rounds are not slowed by tracing. Published workbooks are deleted after each round.

    python -m benchmarks.long_operations [--quick]
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._emulator import API_VERSION, running_emulator
from benchmarks._report import main, median, progress

__all__ = ["run"]

USER, PASSWORD = "bench", "benchpw"
Row = dict[str, object]


def _settings(quick: bool) -> tuple[int, int]:
    """(file size in MiB, rounds per variant)."""
    return (80, 1) if quick else (200, 5)


def _make_file(folder: str, size_mib: int) -> Path:
    path = Path(folder) / "Bench.twbx"
    with path.open("wb") as file:
        for _ in range(size_mib):
            file.write(os.urandom(1024 * 1024))
    return path


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _peak(action: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _row(name: str, size: int, seconds: list[float], peak: int, notes: str) -> Row:
    rate = size / median(seconds) / 1e6
    return {
        "name": name,
        "value": round(rate, 1),
        "unit": "MB/s",
        "notes": f"{notes}; median of {len(seconds)}; peak Python heap {peak / 2**20:.1f} MiB",
    }


def _verdict(ok: bool) -> str:
    return "goal met" if ok else "GOAL MISSED"


def _ratio(name: str, value: float, goal: float, notes: str) -> Row:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": "ratio",
        "goal": f">= {goal}",
        "notes": f"{_verdict(value >= goal)}; {notes}",
    }


def _heap(name: str, peak: int, limit: int, notes: str) -> Row:
    return {
        "name": name,
        "value": round(peak / 2**20, 1),
        "unit": "MiB",
        "goal": f"<= {limit / 2**20:g}",
        "notes": f"{_verdict(peak <= limit)}; {notes}",
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    import httpx
    import tableauserverclient as TSC

    import tabsession

    size_mib, rounds = _settings(quick)
    args = ("--user", f"{USER}:{PASSWORD}", "--max-stored-mb", "2048")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, running_emulator(*args, exit_after=600) as url:
        source = _make_file(folder, size_mib)
        size = source.stat().st_size
        tab = tabsession.Client(url, tabsession.Password(USER, PASSWORD), timeout=300)
        tsc = TSC.Server(url)  # type: ignore[no-untyped-call]
        tsc.version = API_VERSION
        tsc.auth.sign_in(TSC.TableauAuth(USER, PASSWORD, site_id=""))
        project = tab.get("projects", params={"filter": "name:eq:Default"})["projects"]
        project_id = project["project"][0]["id"]
        ids: list[str] = []

        def ours() -> None:
            ids.append(tab.publish_workbook(source, project_id=project_id, mode="Overwrite")["id"])

        def theirs() -> None:
            item = TSC.WorkbookItem(project_id=project_id, name="Bench")
            published = tsc.workbooks.publish(
                item, str(source), TSC.Server.PublishMode.Overwrite, None, False, False
            )
            ids.append(str(published.id))

        def clean() -> None:
            while ids:
                tab.delete(f"workbooks/{ids.pop()}")

        ours_s: list[float] = []
        theirs_s: list[float] = []
        for number in range(rounds):
            ours_s.append(_timed(ours))
            clean()
            theirs_s.append(_timed(theirs))
            clean()
            progress(
                f"long_operations: publish round {number + 1}: {ours_s[-1]:.2f}s / "
                f"TSC {theirs_s[-1]:.2f}s"
            )
        ours_peak = _peak(ours)
        clean()
        theirs_peak = _peak(theirs)
        clean()
        rows.append(
            _row(
                f"publish_workbook {size_mib} MiB",
                size,
                ours_s,
                ours_peak,
                "tabsession, 8 MiB blocks",
            )
        )
        rows.append(
            _row(
                f"TSC workbooks.publish {size_mib} MiB",
                size,
                theirs_s,
                theirs_peak,
                "tableauserverclient, its own chunking",
            )
        )
        rows.append(
            _ratio(
                "publish: tabsession / TSC throughput",
                median(theirs_s) / median(ours_s),
                1.0,
                "higher is faster",
            )
        )
        rows.append(
            _heap(
                f"publish {size_mib} MiB: peak Python heap",
                ours_peak,
                3 * 8 * 2**20,
                "at most three 8 MiB blocks, whatever the file's size",
            )
        )

        ours()
        workbook_id = ids[-1]
        dest = Path(folder) / "copy.twbx"
        content = (
            f"{url}/api/{API_VERSION}/sites/{tab.session.site_id}/workbooks/{workbook_id}/content"  # type: ignore[union-attr]
        )

        def download() -> None:
            tab.download_workbook(workbook_id, dest)

        raw_client = httpx.Client(timeout=300)

        def raw() -> None:
            headers = {"X-Tableau-Auth": tab.token()}
            dest.unlink(missing_ok=True)  # a new file, as tabsession writes one
            with (
                raw_client.stream("GET", content, headers=headers) as answer,
                dest.open("wb") as out,
            ):
                answer.raise_for_status()
                for chunk in answer.iter_raw():
                    out.write(chunk)

        down_s: list[float] = []
        raw_s: list[float] = []
        for number in range(rounds):
            down_s.append(_timed(download))
            raw_s.append(_timed(raw))
            progress(
                f"long_operations: download round {number + 1}: {down_s[-1]:.2f}s / "
                f"raw {raw_s[-1]:.2f}s"
            )
        down_peak = _peak(download)
        rows.append(
            _row(
                f"download_workbook {size_mib} MiB",
                size,
                down_s,
                down_peak,
                "tabsession, temp file + rename",
            )
        )
        rows.append(
            _row(
                f"raw httpx stream {size_mib} MiB",
                size,
                raw_s,
                _peak(raw),
                "httpx.Client.stream, iter_raw to a new file",
            )
        )
        rows.append(
            _ratio(
                "download: tabsession / raw httpx throughput",
                median(raw_s) / median(down_s),
                0.9,
                "higher is faster; both write a new file",
            )
        )
        rows.append(
            _heap(
                f"download {size_mib} MiB: peak Python heap",
                down_peak,
                4 * 2**20,
                "flat: the body goes to disk as it arrives",
            )
        )
        raw_client.close()
        clean()
        tab.close()
        tsc.auth.sign_out()
    return rows


if __name__ == "__main__":
    main(run)
