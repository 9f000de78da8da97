"""The review page in a real headless Chromium (the `browser` fixture, tests/browser.py).

CI needs: `apt-get install -y chromium` and `pip install playwright` (no `playwright install`:
the system browser is used). Without them these tests skip, saying which is missing.

What the page shows after an action (a click, a key, a reload) is read with Playwright's
``expect``, which waits for it: a plain ``inner_text()`` right after a click may see the page
before it redrew.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.browser import Watch
from tests.review.conftest import MODELS, write_inputs
from traumasynth.review.ingest import read_key, read_ratings
from traumasynth.review.page import run
from traumasynth.review.params import ReviewParams
from traumasynth.spec import DatasetSpec

pytestmark = pytest.mark.slow

expect = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
).expect


@pytest.fixture(scope="module")
def review_page(tmp_path_factory: pytest.TempPathFactory, public_spec: DatasetSpec) -> Path:
    root = write_inputs(tmp_path_factory.mktemp("review"), public_spec, n_rows=20)
    run(
        spec=public_spec,
        params=ReviewParams(n_items_per_source=3, seed=5),
        models=MODELS,
        synthetic_dir=root / "data" / "synthetic",
        narratives_dir=root / "data" / "narratives",
        real_path=root / "data" / "prepared" / "test.parquet",
        page_path=root / "review" / "page.html",
        key_path=root / "review" / "key.json",
    )
    return root / "review"


def test_rate_reload_and_export(browser, review_page: Path, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = Watch(page)
    url = (review_page / "page.html").as_uri()
    page.goto(url)
    key = read_key(review_page / "key.json")
    expect(page.locator("#record-heading")).to_have_text("Record 1 of 9")
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^Rated 0 of 9"))

    # Every form control has a label; radio groups sit in fieldsets with a legend.
    unlabelled = page.evaluate(
        "Array.from(document.querySelectorAll('input, textarea, select'))"
        ".filter(el => el.labels.length === 0).map(el => el.id)"
    )
    assert unlabelled == []
    assert page.evaluate(
        "Array.from(document.querySelectorAll('input[type=radio]'))"
        ".every(el => { const f = el.closest('fieldset'); return f && f.querySelector('legend'); })"
    )

    # Record 1: export first refuses without a reviewer id.
    first_id = page.locator("#item-id").inner_text()
    page.get_by_label("4", exact=True).first.check()  # realism 4
    page.get_by_label("5 – fully consistent").check()
    page.get_by_label("Implausible vital signs").check()
    page.get_by_label("Other remarks on this record (optional)").fill('=HYPERLINK("x") odd "pulse", check')
    page.get_by_label("Synthetic record").check()
    page.get_by_role("button", name="Export ratings (CSV)").click()
    expect(page.locator("#status")).to_contain_text("Enter your reviewer ID")
    expect(page.locator("#reviewer-id")).to_be_focused()
    page.get_by_label("Your reviewer ID (initials or study code)").fill("dr_x")

    # Next record by button, then by keyboard (j), then back (k).
    page.get_by_role("button", name="Next record →").first.click()
    expect(page.locator("#record-heading")).to_have_text("Record 2 of 9")
    expect(page.locator("#record-heading")).to_be_focused()
    expect(page.locator("#item-id")).not_to_have_text(first_id)
    second_id = page.locator("#item-id").inner_text()  # drawn in the same redraw as the heading waited for
    page.get_by_label("1 – clearly unrealistic").check()
    page.get_by_label("Real patient record").check()
    page.keyboard.press("j")
    expect(page.locator("#record-heading")).to_have_text("Record 3 of 9")
    expect(page.get_by_label("1 – clearly unrealistic")).not_to_be_checked()
    page.keyboard.press("k")
    expect(page.locator("#record-heading")).to_have_text("Record 2 of 9")
    expect(page.get_by_label("1 – clearly unrealistic")).to_be_checked()
    expect(page.locator("#progress-text")).to_have_text("Rated 2 of 9 records (1 fully answered).")

    # Closing the tab loses nothing: a new tab restores answers, reviewer and position.
    page.close()
    page = context.new_page()
    watch2 = Watch(page)
    page.goto(url)
    expect(page.locator("#record-heading")).to_have_text("Record 2 of 9")
    expect(page.get_by_label("Your reviewer ID (initials or study code)")).to_have_value("dr_x")
    page.get_by_role("button", name="← Previous record").first.click()
    expect(page.locator("#record-heading")).to_have_text("Record 1 of 9")
    expect(page.locator("#item-id")).to_have_text(first_id)
    expect(page.get_by_label("Implausible vital signs")).to_be_checked()
    expect(page.get_by_label("Other remarks on this record (optional)")).to_have_value(
        '=HYPERLINK("x") odd "pulse", check'
    )

    with page.expect_download() as info:
        page.get_by_role("button", name="Export ratings (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("ratings_dr_x_")
    csv_path = tmp_path / download.suggested_filename
    download.save_as(csv_path)
    assert csv_path.read_bytes().startswith(
        b"\xef\xbb\xbfreviewer_id,item_id,realism,coherence,flags,free_text,guess,timestamp\r\n"
    )
    assert b'"\'=HYPERLINK(""x"")' in csv_path.read_bytes()  # a spreadsheet shows it as text, never runs it
    ratings = read_ratings(paths=[csv_path], key=key).set_index("item_id")
    assert list(ratings.index) == [first_id, second_id]
    assert ratings.loc[first_id, ["reviewer_id", "realism", "coherence", "guess", "free_text"]].tolist() == [
        "dr_x",
        4,
        5,
        "synthetic",
        '=HYPERLINK("x") odd "pulse", check',  # ingest removes the guard again
    ]
    assert ratings.loc[first_id, "flags"] == ("implausible_vitals",)
    assert ratings.loc[second_id, "realism"] == 1 and ratings.loc[second_id, "guess"] == "real"
    assert pd.isna(ratings.loc[second_id, "coherence"])
    watch.check()
    watch2.check()
    context.close()


def test_readable_at_200_percent_zoom(browser, review_page: Path, tmp_path: Path) -> None:
    # 200 % zoom of a 1280-px window = a 640-CSS-px viewport at device scale 2.
    context = browser.new_context(viewport={"width": 640, "height": 900}, device_scale_factor=2)
    page = context.new_page()
    watch = Watch(page)
    page.goto((review_page / "page.html").as_uri())
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0  # no horizontal scrolling (WCAG 1.4.10 reflow)
    smallest = page.evaluate(
        "Math.min(...Array.from(document.querySelectorAll('label, td, th, legend, blockquote, button'))"
        ".map(el => parseFloat(getComputedStyle(el).fontSize)))"
    )
    assert smallest >= 14
    page.screenshot(path=str(tmp_path / "review_200pct.png"), full_page=True)
    assert (tmp_path / "review_200pct.png").stat().st_size > 10_000
    watch.check()
    context.close()
