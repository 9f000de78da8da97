"""Clinician review, a human step run on demand (not a dvc stage): `build` writes the blinded review/page.html and
review/key.json; `ingest ratings_*.csv` checks the exported ratings and writes metrics/review.json.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.review.page import run as build_page
from traumasynth.review.params import ReviewParams
from traumasynth.review.summary import run as ingest_ratings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
log = logging.getLogger("stages.review")
KeyOption = Annotated[Path, typer.Option(help="Key file (item id -> source): keep it from reviewers.", dir_okay=False)]


@app.command()
def build(
    params: ParamsOption = PARAMS_FILE,
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    synthetic_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet synthetic tables.")] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet narratives.")] = layout.NARRATIVES,
    real: Annotated[Path, typer.Option(help="Real rows that may be shown (public data only).")] = layout.TEST_SPLIT,
    page: Annotated[Path, typer.Option(help="Output HTML page.", dir_okay=False)] = layout.REVIEW_PAGE,
    key: KeyOption = layout.REVIEW_KEY,
    verbose: VerboseOption = False,
) -> None:
    """Write the self-contained review page and its key file."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="review", params_type=ReviewParams
    ) as stage:
        result = build_page(spec=stage.spec, params=stage.params, models=stage.base.models, synthetic_dir=synthetic_dir,
                            narratives_dir=narratives_dir, real_path=real, page_path=page, key_path=key)  # fmt: skip
    real_note = "\nThe page contains real rows: share it only where those rows may go." if result.real_included else ""
    typer.echo(f"Wrote {page} ({result.n_items} records: {result.n_by_source}) and {key}.{real_note}")


@app.command()
def ingest(
    ratings: Annotated[list[Path], typer.Argument(help="CSV files exported by the review page.", dir_okay=False)],
    key: KeyOption = layout.REVIEW_KEY,
    metrics: Annotated[Path, typer.Option(help="Output metrics JSON.", dir_okay=False)] = layout.REVIEW_METRICS,
    verbose: VerboseOption = False,
) -> None:
    """Check exported ratings against the key and write the review metrics."""
    with open_stage(verbose=verbose):
        summary = ingest_ratings(ratings=ratings, key_path=key, metrics_path=metrics)
    log.info("wrote %s: %d ratings from %d reviewer(s)", metrics, summary["n_ratings"], summary["n_reviewers"])


if __name__ == "__main__":
    app()
