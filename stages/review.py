"""Clinician review: build the blinded page, then ingest the exported ratings.

    python stages/review.py build                      # review/page.html + review/key.json
    python stages/review.py ingest ratings_*.csv       # metrics/review.json

Not a dvc stage: reviewing is a human step, run on demand.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.io import write_json_atomic
from traumasynth.params import BaseParams, load_section
from traumasynth.review.ingest import read_key, read_ratings
from traumasynth.review.page import build_review_page
from traumasynth.review.params import ReviewParams
from traumasynth.review.summary import summarise_ratings
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
log = logging.getLogger("stages.review")

KeyOpt = Annotated[Path, typer.Option(help="Key file (item id -> source): keep it from reviewers.", dir_okay=False)]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v")]


@app.command()
def build(
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `review` from.")] = Path("params.yaml"),
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    synthetic_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet synthetic tables.")] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet narratives.")] = layout.NARRATIVES,
    real: Annotated[
        Path, typer.Option(help="Real split whose rows may be shown (public datasets only).")
    ] = layout.TEST_SPLIT,
    page: Annotated[Path, typer.Option(help="Output HTML page.", dir_okay=False)] = layout.REVIEW_PAGE,
    key: KeyOpt = layout.REVIEW_KEY,
    verbose: VerboseOpt = False,
) -> None:
    """Write the self-contained review page and its key file."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        review = load_section(params, "review", ReviewParams)
        spec = load_spec(base.spec_path(datasets_dir))
        result = build_review_page(
            spec=spec,
            params=review,
            models=base.models,
            synthetic_dir=synthetic_dir,
            narratives_dir=narratives_dir,
            real_path=real,
            page_path=page,
            key_path=key,
        )
    typer.echo(f"Wrote {page} ({result.n_items} records: {result.n_by_source}) and {key}.")
    if result.real_included:
        typer.echo("The page contains real rows: share it only where those rows may go.")


@app.command()
def ingest(
    ratings: Annotated[list[Path], typer.Argument(help="CSV files exported by the review page.", dir_okay=False)],
    key: KeyOpt = layout.REVIEW_KEY,
    metrics: Annotated[Path, typer.Option(help="Output metrics JSON.", dir_okay=False)] = layout.REVIEW_METRICS,
    verbose: VerboseOpt = False,
) -> None:
    """Check exported ratings against the key and write the review metrics."""
    setup_logging(verbose)
    with stage_errors():
        review_key = read_key(key)
        table = read_ratings(paths=ratings, key=review_key)
        summary = summarise_ratings(ratings=table, key=review_key)
        write_json_atomic(summary, metrics)
    log.info("wrote %s: %d ratings from %d reviewer(s)", metrics, summary["n_ratings"], summary["n_reviewers"])


if __name__ == "__main__":
    app()
