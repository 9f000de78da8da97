"""`dvc plots show` works without network: the repo's template inlines vega, vega-lite and vega-embed.

Runs the real `dvc plots show` on the committed metrics/plots files (output in a temporary
folder), then opens the page in headless Chromium with the network off.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.browser import Watch

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / ".dvc" / "plots" / "offline.html"  # plots.html_template in .dvc/config, relative to .dvc/


class Links(HTMLParser):
    """Every src/href attribute of the page's elements (script bodies are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]


@pytest.fixture(scope="module")
def plots_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html of a plain `dvc plots show` in this repo (the configured template, no options)."""
    out = tmp_path_factory.mktemp("plots")
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"dvc plots show failed:\n{done.stdout}\n{done.stderr}"
    return out / "index.html"


def test_template_pins_dvc_render_versions() -> None:
    """The template inlines exactly the versions dvc_render would load from the CDN."""
    from dvc_render.vega import VegaRenderer

    wanted = re.findall(r"npm/([a-z-]+@[0-9][^\"/]*)", VegaRenderer.SCRIPTS)
    assert wanted == ["vega@5.20.2", "vega-lite@5.2.0", "vega-embed@6.18.2"]
    text = TEMPLATE.read_text(encoding="utf-8")
    inlined = re.findall(r"^/\*! ([a-z-]+@\S+) build/", text, flags=re.MULTILINE)
    assert inlined == wanted, "rebuild the template: make plots-template"
    assert text.count("{plot_divs}") == 1 and "{scripts}" not in text


def test_plots_page_loads_nothing_from_network(plots_page: Path) -> None:
    html = plots_page.read_text(encoding="utf-8")
    links = Links()
    links.feed(html)
    assert [u for u in links.urls if re.match(r"\s*(https?:)?//", u, flags=re.IGNORECASE)] == []
    assert "cdn." not in html.lower()
    assert "vegaEmbed(" in html and "vega.min.js" in html


@pytest.mark.slow
def test_plots_render_offline(browser, plots_page: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # the fixture skipped if missing

    html = plots_page.read_text(encoding="utf-8")
    declared = len(re.findall(r"vegaEmbed\('#", html))  # one div per plot DVC found in dvc.yaml
    assert declared > 0
    context = browser.new_context(offline=True)  # network off, and any request that still tries is refused
    context.route(
        re.compile(r"^(?!file:|data:|blob:)"),
        lambda route: route.abort("internetdisconnected"),
    )
    page = context.new_page()
    watch = Watch(page)
    errors: list[str] = []  # vega-lite's WARN lines about DVC's specs are console warnings: not counted
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(plots_page.as_uri())
    script = (
        "Array.from(document.querySelectorAll('body > div[id]'))"
        ".filter(d => Array.from(d.querySelectorAll('canvas.marks, svg.marks'))"
        ".some(m => m.getBoundingClientRect().width > 0)).length"
    )
    try:
        page.wait_for_function(f"{script} >= {declared}", timeout=30_000)
    except PlaywrightTimeout:
        pass  # the assertion below says how many were drawn and why not
    rendered = page.evaluate(script)
    context.close()
    assert rendered >= declared, f"{rendered} of {declared} plots drawn; page errors: {errors}"
    assert errors == []
    assert watch.outside() == []  # nothing requested beyond the page's own file
