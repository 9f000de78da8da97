"""Headless Chromium for the browser tests (Debian's `chromium` package, driven by Playwright).

CI needs: `apt-get install -y chromium` and `pip install playwright` (no `playwright install`:
the system browser is used). Without them the `browser` fixture (tests/conftest.py) skips,
saying which is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium() -> Iterator[object]:
    """Yield a Playwright Browser on the system Chromium, or skip the test saying what is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Watch:
    """Console errors, uncaught exceptions and any request leaving the file."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def outside(self) -> list[str]:
        """Requested URLs that are not the page's own file (or blob:/data:)."""
        return [u for u in self.requests if not u.startswith(("file://", "blob:", "data:"))]

    def check(self) -> None:
        assert self.errors == [], f"console errors or warnings: {self.errors}"
        assert self.outside() == [], f"requests leaving the file: {self.outside()}"
