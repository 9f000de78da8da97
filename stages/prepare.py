"""Stage `prepare`: validate the dataset against its spec, drop excluded columns, split it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.prepare import PrepareParams, run

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.prepare")


@app.command()
def main(
    params: ParamsOption = PARAMS_FILE,
    raw_dir: Annotated[
        Path, typer.Option(help="Folder of private raw tables, a dep of this stage: DVC sees changes to files in it.")
    ] = layout.RAW,
    out_dir: Annotated[Path, typer.Option(help="Folder for train/val/test Parquet files.")] = layout.PREPARED,
    metrics: Annotated[
        Path, typer.Option(help="JSON file for rows, class counts and missingness.")
    ] = layout.PREPARE_METRICS,
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Read `base.dataset`, check it against `datasets/<dataset>.yaml`, and write the splits."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="prepare", params_type=PrepareParams
    ) as stage:
        result = run(
            spec=stage.written_spec,
            params=stage.params,
            seed=stage.base.seed,
            dataset_path=stage.base.dataset_path,
            raw_dir=raw_dir,
            out_dir=out_dir,
            metrics_path=metrics,
        )
    log.info("prepared %s: %s rows per split", stage.spec.name, result["rows"])


if __name__ == "__main__":
    app()
