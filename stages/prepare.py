"""Stage `prepare`: validate the dataset against its spec, drop excluded columns, split it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.prepare import PrepareParams, prepare_dataset, warn_if_unseen_by_dvc, write_prepared
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.prepare")


@app.command()
def main(
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `prepare` from.")] = Path("params.yaml"),
    raw_dir: Annotated[
        Path, typer.Option(help="Folder of private raw tables, a dep of this stage: DVC sees changes to files in it.")
    ] = layout.RAW,
    out_dir: Annotated[Path, typer.Option(help="Folder for train/val/test Parquet files.")] = layout.PREPARED,
    metrics: Annotated[
        Path, typer.Option(help="JSON file for rows, class counts and missingness.")
    ] = layout.PREPARE_METRICS,
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Read `base.dataset`, check it against `datasets/<dataset>.yaml`, and write the splits."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        prep = load_section(params, "prepare", PrepareParams)
        spec = load_spec(base.spec_path(datasets_dir))
        if spec.reader != "ed_trauma_sim":
            warn_if_unseen_by_dvc(dataset_path=base.dataset_path, raw_dir=raw_dir)
        data = prepare_dataset(spec=spec, params=prep, dataset_path=base.dataset_path or None, seed=base.seed)
        result = write_prepared(data, spec=spec, out_dir=out_dir, metrics_path=metrics)
    log.info("prepared %s: %s rows per split", spec.name, result["rows"])


if __name__ == "__main__":
    app()
