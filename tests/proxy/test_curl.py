"""Plain curl through the proxy: sign in with an XML body, call, download, across an expiry."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import PAT_NAME, PAT_SECRET

from tabsession._xml import xml_to_dict

from ._support import running_proxy, tapped_emulator
from ._tools import curl

V = "3.23"


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [curl(), "--silent", "--show-error", *args], capture_output=True, timeout=60, check=True
    )


def test_curl_signs_in_lists_and_downloads_across_an_expiry(tmp_path: Path) -> None:
    body = (
        f'<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" '
        f'personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl=""/></credentials></tsRequest>'
    )
    with tapped_emulator() as emu, running_proxy(emu) as proxy:
        signed_in = _curl(
            "-X", "POST", f"{proxy.url}/api/{V}/auth/signin",
            "-H", "Content-Type: application/xml", "--data-binary", body,
        )  # fmt: skip
        credentials = xml_to_dict(signed_in.stdout)["credentials"]
        token, site = credentials["token"], credentials["site"]["id"]
        listing = _curl(
            f"{proxy.url}/api/{V}/sites/{site}/workbooks?pageSize=3",
            "-H", f"X-Tableau-Auth: {token}", "-H", "Accept: application/json",
            "--write-out", "\n%{http_code}",
        )  # fmt: skip
        assert listing.stdout.rsplit(b"\n", 1)[1] == b"200"
        emu.expire_sessions()
        target = tmp_path / "download.bin"
        downloaded = _curl(
            f"{proxy.url}/api/{V}/sites/{site}/tap/download?size=3000000",
            "-H", f"X-Tableau-Auth: {token}", "-o", str(target), "--write-out", "%{http_code}",
        )  # fmt: skip
        assert downloaded.stdout == b"200"
        assert target.stat().st_size == 3_000_000
        refused = _curl(
            f"{proxy.url}/api/{V}/sites/{site}/workbooks",
            "-H", "X-Tableau-Auth: guessed", "--write-out", "%{http_code}", "-o", "/dev/null",
        )  # fmt: skip
        assert refused.stdout == b"401"
        assert emu.stats()["signins"] == 2
