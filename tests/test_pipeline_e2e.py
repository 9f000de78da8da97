"""The real pipeline, end to end, on a small simulated table: what the stages write is what the tools read.

One session-scoped run of `dvc repro` in a copy of this repository (tracked and untracked, not
ignored files, as a fresh clone has them), with small settings (tests/pipeline_run.py), shared
with tests/test_docs_commands.py. The tests then use that run's own outputs: `dvc metrics`, the
review page (in headless Chromium) and experiments over other sets of models with
`dvc exp run -S base.models=[...]`, with no edit of `dvc.yaml`.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline_run import DVC, ITEMS_PER_SOURCE, run
from traumasynth.release import CARD_FIELDS, NARRATIVE_COLUMNS, release_files
from traumasynth.spec import load_spec

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture()
def pipeline(pipeline_run: Path) -> Path:
    """The session's small run (tests/conftest.py), committed; the experiments below change its workspace."""
    return pipeline_run


def test_repro_writes_every_declared_output_and_is_up_to_date(pipeline: Path) -> None:
    for model in ("vae", "ddpm"):
        for name in (
            f"metrics/train_{model}.json", f"metrics/sample_{model}.json", f"metrics/narrate_{model}.json",
            f"metrics/evaluate_{model}.json", f"data/evaluation/{model}.json", f"metrics/plots/recall_{model}.csv",
        ):  # fmt: skip
            assert (pipeline / name).is_file(), name
    report = (pipeline / "metrics/report.md").read_text()
    assert "| vae |" in report and "| ddpm |" in report
    status = run(pipeline, DVC, "status")
    assert "up to date" in status.stdout


def test_release_holds_only_dp_outputs_and_the_public_spec(pipeline: Path) -> None:
    """Every file and field of release/ has a provenance (traumasynth.release); nothing exact leaves."""
    out = pipeline / "release"
    models = ("vae", "ddpm")
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == set(release_files(models))
    card = json.loads((out / "privacy.json").read_text())
    assert set(card) == set(CARD_FIELDS)
    assert card["differentially_private"] and card["epsilon"] <= 2 * 3.0
    spec = load_spec(pipeline / "release/dataset_spec.yaml")
    allowed = {c.name for c in spec.modelled_columns} | ({spec.id_column.name} if spec.id_column else set())
    for model in models:
        assert set(pd.read_parquet(out / f"synthetic/{model}.parquet").columns) <= allowed
        assert list(pd.read_parquet(out / f"narratives/{model}.parquet").columns) == list(NARRATIVE_COLUMNS)
    text = "\n".join(p.read_text() for p in out.rglob("*") if p.suffix in (".json", ".md", ".yaml"))
    n_train = json.loads((pipeline / "metrics/train_vae.json").read_text())["n_rows"]
    assert not re.search(rf"(?<![\d.]){n_train}(?![\d.])", text)
    assert "final_loss" not in text and "loss_" not in text


def test_dvc_metrics_show_and_diff_print_no_warning(pipeline: Path) -> None:
    shown = run(pipeline, DVC, "metrics", "show", "--json")
    assert "failed to load" not in shown.stdout + shown.stderr
    metrics = json.loads(shown.stdout)
    files = next(iter(metrics.values()))["data"]
    assert "metrics/evaluate_vae.json" in files and "metrics/evaluate_ddpm.json" in files
    diff = run(pipeline, DVC, "metrics", "diff")
    assert "failed to load" not in diff.stdout + diff.stderr


def test_review_page_from_the_pipeline_outputs(pipeline: Path) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
    )
    built = run(pipeline, sys.executable, "stages/review.py", "build")
    n_items = 2 * ITEMS_PER_SOURCE  # the simulator is not public: synthetic records only
    assert f"({n_items} records" in built.stdout
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto((pipeline / "review/page.html").as_uri())
        seen = set()
        for i in range(n_items):
            # wait for the page to show record i + 1 before reading it (a read right after a key press races)
            sync_api.expect(page.locator("#record-heading")).to_have_text(f"Record {i + 1} of {n_items}")
            seen.add(page.locator("#item-id").inner_text())
            assert len(page.locator("#narrative").inner_text().split()) >= 3  # a note from narrate
            assert page.locator("#record-fields").inner_text().count("\n") >= 5  # the row's fields
            page.keyboard.press("j")
        browser.close()
    assert len(seen) == n_items


@pytest.mark.parametrize("models", [["ddpm"], ["vae", "ddpm", "marginals"]])
def test_any_set_of_models_runs_with_set_params_alone(pipeline: Path, models: list[str]) -> None:
    """`dvc exp run -S base.models=[...]` leaves the experiment's results in the workspace."""
    run(pipeline, DVC, "exp", "run", "-S", f"base.models=[{','.join(models)}]", timeout=1800)
    report = (pipeline / "metrics/report.md").read_text()
    listed = {line.split("|")[1].strip() for line in report.splitlines() if line.startswith("| ") and "---" not in line}
    assert listed - {"model"} == set(models)
    for model in models:
        assert (pipeline / f"metrics/evaluate_{model}.json").is_file(), model
    shown = run(pipeline, DVC, "metrics", "show")
    assert "failed to load" not in shown.stdout + shown.stderr
    assert "up to date" in run(pipeline, DVC, "status").stdout
